// Rolling back applied migrations with their down files: the last N, or the
// ones a Release revision applied.
import { downFileFor, type Migration } from '../files.js';
import { lintMigration } from '../lint.js';
import { lintRefusal, MigrateError } from './errors.js';
import { refuseChangedChecksums, type HistoryRow } from './history.js';
import { runFile } from './run-file.js';
import type { Session } from './session.js';
import type { MigrateOptions, MigrateSummary, MigrationRun } from './types.js';

/** The last `count` applied versions, or every version `revision` applied. */
export type DownTarget = { count: number } | { revision: string };

export async function runDown(
  session: Session,
  migrations: readonly Migration[],
  target: DownTarget,
  options: MigrateOptions,
): Promise<MigrateSummary> {
  // Oldest first; the newest applied is rolled back first.
  const history = await session.history();
  if ('count' in target) {
    if (target.count > history.length) {
      throw new MigrateError(
        `cannot roll back ${target.count} migration(s): only ${history.length} applied`,
        3,
      );
    }
    return rollBack(session, migrations, history, history.slice(-target.count).reverse(), '', options);
  }
  const rows = history.filter((row) => row.revision === target.revision).reverse();
  if (rows.length === 0) {
    // Before any refusal: the operator retries a roll-back until it succeeds,
    // and one that already ran, or follows an expand that was refused before
    // applying anything, has nothing left to do.
    options.log(`nothing to roll back for revision ${target.revision}`);
    return { applied: [], skipped: 0, rolledBack: [], dryRun: options.dryRun ?? false };
  }
  return rollBack(session, migrations, history, rows, ` of revision ${target.revision}`, options);
}

/**
 * Runs the down files of `targets` in the order given, each in a transaction
 * of its own that also deletes its history row. Every check happens first.
 */
async function rollBack(
  session: Session,
  migrations: readonly Migration[],
  history: readonly HistoryRow[],
  targets: readonly HistoryRow[],
  scope: string,
  options: MigrateOptions,
): Promise<MigrateSummary> {
  const { log } = options;
  const dryRun = options.dryRun ?? false;
  refuseChangedChecksums(migrations, new Map(history.map((row) => [row.version, row])));
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
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

  log(`${dryRun ? 'dry run: ' : ''}rolling back ${plan.length} migration(s)${scope}, newest first`);
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
