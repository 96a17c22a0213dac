/** A flag or argument the operator refuses before it starts: one line on stderr and exit 2, not a crash. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
