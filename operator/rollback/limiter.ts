// A counting semaphore. One is shared by every query the operator sends to
// Prometheus, so a thousand Releases evaluating at once queue here instead
// of opening a thousand sockets to one server.

export interface Limiter {
  /** Runs `task` once fewer than the limit are in flight; first come, first served. */
  run<T>(task: () => Promise<T>): Promise<T>;
  readonly inFlight: number;
  readonly queued: number;
}

export function createLimiter(max: number): Limiter {
  if (!(Number.isSafeInteger(max) && max >= 1)) {
    throw new RangeError(`concurrency limit must be a positive integer, got ${max}`);
  }
  let inFlight = 0;
  const queue: (() => void)[] = [];

  const acquire = (): Promise<void> => {
    if (inFlight < max) {
      inFlight += 1;
      return Promise.resolve();
    }
    // The slot is handed over by release(), so inFlight never dips and a
    // newcomer cannot overtake the queue.
    return new Promise((resolve) => queue.push(resolve));
  };
  const release = (): void => {
    const next = queue.shift();
    if (next) next();
    else inFlight -= 1;
  };

  return {
    async run(task) {
      await acquire();
      try {
        return await task();
      } finally {
        release();
      }
    },
    get inFlight() {
      return inFlight;
    },
    get queued() {
      return queue.length;
    },
  };
}
