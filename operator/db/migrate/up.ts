// Applying the pending up files.
import type { Migration } from '../files.js';
import { lintMigration } from '../lint.js';
import { lintRefusal } from './errors.js';
import { addRevisionColumn, createHistory, refuseChangedChecksums } from './history.js';
import { runFile } from './run-file.js';
import type { Session } from './session.js';
import type { MigrateOptions, MigrateSummary, MigrationRun } from './types.js';

export async function applyPending(
  session: Session,
  migrations: readonly Migration[],
  options: MigrateOptions,
): Promise<MigrateSummary> {
  const { log, phase } = options;
  const dryRun = options.dryRun ?? false;
  const revision = options.revision ?? null;
  const history = await session.history();
  const applied = new Map(history.map((row) => [row.version, row]));
  refuseChangedChecksums(migrations, applied);

  const pending = migrations.filter((m) => !applied.has(m.version));
  const skipped = migrations.length - pending.length;
  const findings = pending.flatMap((m) => lintMigration(m.up, phase));
  if (findings.length > 0) throw lintRefusal(phase, findings);

  if (pending.length === 0) {
    log(`nothing to apply: ${skipped} migration(s) already applied`);
    return { applied: [], skipped, dryRun };
  }
  log(
    `${dryRun ? 'dry run: ' : ''}${pending.length} pending migration(s), ${skipped} already applied (phase ${phase})`,
  );

  const runs: MigrationRun[] = [];
  if (dryRun) await session.query('BEGIN');
  try {
    await session.query(createHistory(session.table));
    await session.query(addRevisionColumn(session.table));
    for (const m of pending) {
      const record = {
        sql: `INSERT INTO ${session.table} (version, name, checksum, phase, duration_ms, revision) VALUES ($1, $2, $3, $4, $5, $6)`,
        values: (ms: number) => [String(m.version), m.name, m.checksum, phase, ms, revision],
      };
      const run = await runFile(session, m, m.up, dryRun, record, log);
      if (run) runs.push(run);
    }
  } finally {
    // Closing the connection would discard the transaction anyway.
    if (dryRun) await session.query('ROLLBACK').catch(() => undefined);
  }
  log(
    dryRun
      ? `dry run: rolled back; ${runs.length} migration(s) would apply`
      : `applied ${runs.length} migration(s)`,
  );
  return { applied: runs, skipped, dryRun };
}
