// Rolling back the last applied migrations with their down files.
import { downFileFor, type Migration } from '../files.js';
import { lintMigration } from '../lint.js';
import { lintRefusal, MigrateError } from './errors.js';
import { refuseChangedChecksums } from './history.js';
import { runFile } from './run-file.js';
import type { Session } from './session.js';
import type { MigrateOptions, MigrateSummary, MigrationRun } from './types.js';

export async function runDown(
  session: Session,
  migrations: readonly Migration[],
  count: number,
  options: MigrateOptions,
): Promise<MigrateSummary> {
  const { log } = options;
  const dryRun = options.dryRun ?? false;
  const history = await session.history();
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  refuseChangedChecksums(migrations, new Map(history.map((row) => [row.version, row])));

  if (count > history.length) {
    throw new MigrateError(`cannot roll back ${count} migration(s): only ${history.length} applied`, 3);
  }
  // history() is oldest first; roll back the most recently applied.
  const targets = history.slice(-count).reverse();
  const plan = targets.map((row) => {
    const m = byVersion.get(row.version);
    if (!m) {
      throw new MigrateError(
        `cannot roll back version ${row.version} (${row.name}): it is not in this migration set`,
        3,
      );
    }
    if (!m.down) {
      throw new MigrateError(`cannot roll back ${m.up.name}: there is no ${downFileFor(m.up.name)}`, 3);
    }
    return { m, down: m.down };
  });
  const findings = plan.flatMap(({ down }) => lintMigration(down, 'contract'));
  if (findings.length > 0) throw lintRefusal('contract', findings);

  log(`${dryRun ? 'dry run: ' : ''}rolling back ${plan.length} migration(s), newest first`);
  const runs: MigrationRun[] = [];
  if (dryRun) await session.query('BEGIN');
  try {
    for (const { m, down } of plan) {
      const record = {
        sql: `DELETE FROM ${session.table} WHERE version = $1`,
        values: () => [String(m.version)],
      };
      const run = await runFile(session, m, down, dryRun, record, log);
      if (run) runs.push(run);
    }
  } finally {
    // Closing the connection would discard the transaction anyway.
    if (dryRun) await session.query('ROLLBACK').catch(() => undefined);
  }
  log(
    dryRun
      ? `dry run: rolled back; ${runs.length} down migration(s) would run`
      : `rolled back ${runs.length} migration(s)`,
  );
  return { applied: [], skipped: 0, rolledBack: runs, dryRun };
}
