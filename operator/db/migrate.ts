// The native migration runner behind `cutover migrate`. Every check that can
// refuse a run (changed checksums, the lint, missing down files) happens
// before the first statement executes, so a refused run leaves the database
// exactly as it found it.
import type { Migration } from './files.js';
import { runDown, type DownTarget } from './migrate/down.js';
import { describeError, MigrateError, scrubberFor } from './migrate/errors.js';
import { REVISION } from './migrate/history.js';
import { Session } from './migrate/session.js';
import type { Connection, MigrateOptions, MigrateSummary } from './migrate/types.js';
import { applyPending } from './migrate/up.js';

export { HISTORY_TABLE, MIGRATION_LOCK_KEY, REVISION } from './migrate/history.js';
export { MigrateError, scrubberFor } from './migrate/errors.js';
export type { Connection, MigrateOptions, MigrateSummary, MigrationRun } from './migrate/types.js';
export type { Phase } from './lint.js';

export async function migrate(
  connection: Connection,
  migrations: readonly Migration[],
  options: MigrateOptions,
): Promise<MigrateSummary> {
  const scrub = scrubberFor(connection);
  const down = downTarget(options);
  let session: Session | undefined;
  try {
    // Inside the try: pg parses the connection string in the constructor, and
    // its errors must be scrubbed like any other.
    session = new Session(connection);
    await session.open(options.log);
    return down === undefined
      ? await applyPending(session, migrations, options)
      : await runDown(session, migrations, down, options);
  } catch (err) {
    if (err instanceof MigrateError) throw new MigrateError(scrub(err.message), err.exitCode, err.findings);
    throw new MigrateError(scrub(describeError(err)), 1);
  } finally {
    await session?.close();
  }
}

/** Checks the options before connecting; a roll-back's target, if any. */
function downTarget(options: MigrateOptions): DownTarget | undefined {
  const { down, downRevision, revision } = options;
  if (down !== undefined && !(Number.isSafeInteger(down) && down > 0)) {
    throw new MigrateError(`down must be a positive integer, got ${String(down)}`, 3);
  }
  for (const [name, value] of [
    ['revision', revision],
    ['downRevision', downRevision],
  ] as const) {
    if (value !== undefined && !REVISION.test(value)) {
      throw new MigrateError(`${name} must match ${String(REVISION)}, got '${value}'`, 3);
    }
  }
  if (down !== undefined && downRevision !== undefined) {
    throw new MigrateError('down and downRevision cannot be combined', 3);
  }
  if (down !== undefined) return { count: down };
  return downRevision === undefined ? undefined : { revision: downRevision };
}
