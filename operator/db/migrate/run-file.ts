import type { Migration } from '../files.js';
import { hasNoTransactionDirective } from '../lint.js';
import { splitStatements } from '../sql.js';
import { describeError, errorLine, MigrateError } from './errors.js';
import { HISTORY_TABLE } from './history.js';
import type { Session } from './session.js';
import type { MigrationRun } from './types.js';

export interface HistoryChange {
  sql: string;
  values: (durationMs: number) => unknown[];
}

/**
 * Runs one file and its history change. Normally both share a transaction of
 * their own; in a dry run they run inside the surrounding one. A file marked
 * no-transaction runs statement by statement and cannot be rolled back, so a
 * dry run leaves it out.
 */
export async function runFile(
  session: Session,
  m: Migration,
  file: { name: string; sql: string },
  dryRun: boolean,
  history: HistoryChange,
  log: (line: string) => void,
): Promise<MigrationRun | undefined> {
  session.assertLockHeld();
  const noTransaction = hasNoTransactionDirective(file.sql);
  if (noTransaction && dryRun) {
    log(`dry run: not running ${file.name}: it runs outside a transaction, so it cannot be rolled back`);
    return undefined;
  }
  log(`${dryRun ? 'dry run: ' : ''}running ${file.name}`);
  const started = performance.now();

  if (noTransaction) {
    const statements = splitStatements(file.sql);
    for (const [k, statement] of statements.entries()) {
      try {
        await session.query(statement.text);
      } catch (err) {
        const line = errorLine(file.sql, err, statement.start, statement.text);
        const done =
          k === 0
            ? 'nothing of it ran'
            : `its first ${k} statement(s) stay applied (the file runs without a transaction)`;
        throw new MigrateError(`${file.name}${line}: ${describeError(err)}; ${done}`, 1);
      }
    }
    const durationMs = Math.round(performance.now() - started);
    await session.query(history.sql, history.values(durationMs));
    log(`ran ${file.name} (${durationMs} ms, no transaction)`);
    return { version: m.version, name: m.name, file: file.name, durationMs };
  }

  if (!dryRun) await session.query('BEGIN');
  try {
    await session.query(file.sql);
  } catch (err) {
    if (!dryRun) await session.query('ROLLBACK');
    const line = errorLine(file.sql, err, 0, file.sql);
    const outcome = dryRun
      ? 'the dry run was rolled back'
      : 'its transaction was rolled back, nothing of it remains';
    throw new MigrateError(`${file.name}${line}: ${describeError(err)}; ${outcome}`, 1);
  }
  const durationMs = Math.round(performance.now() - started);
  try {
    await session.query(history.sql, history.values(durationMs));
    if (!dryRun) await session.query('COMMIT');
  } catch (err) {
    if (!dryRun) await session.query('ROLLBACK').catch(() => undefined);
    throw new MigrateError(`${file.name}: recording it in ${HISTORY_TABLE} failed: ${describeError(err)}`, 1);
  }
  log(`${dryRun ? 'dry run: ran' : 'ran'} ${file.name} (${durationMs} ms)`);
  return { version: m.version, name: m.name, file: file.name, durationMs };
}
