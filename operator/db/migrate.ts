// The native migration runner behind `cutover migrate`. Every check that can
// refuse a run (changed checksums, the lint, missing down files) happens
// before the first statement executes, so a refused run leaves the database
// exactly as it found it.
import type { Migration } from './files.js';
import { runDown } from './migrate/down.js';
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
  if (options.down !== undefined && !(Number.isSafeInteger(options.down) && options.down > 0)) {
    throw new MigrateError(`down must be a positive integer, got ${String(options.down)}`, 3);
  }
  if (options.revision !== undefined && !REVISION.test(options.revision)) {
    throw new MigrateError(`revision must match ${String(REVISION)}, got '${options.revision}'`, 3);
  }
  let session: Session | undefined;
  try {
    // Inside the try: pg parses the connection string in the constructor, and
    // its errors must be scrubbed like any other.
    session = new Session(connection);
    await session.open(options.log);
    return options.down === undefined
      ? await applyPending(session, migrations, options)
      : await runDown(session, migrations, options.down, options);
  } catch (err) {
    if (err instanceof MigrateError) throw new MigrateError(scrub(err.message), err.exitCode, err.findings);
    throw new MigrateError(scrub(describeError(err)), 1);
  } finally {
    await session?.close();
  }
}
