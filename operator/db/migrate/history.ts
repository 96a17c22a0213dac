// The history table of applied migrations, the advisory lock named after it,
// and the check that applied files were not changed since.
import { createHash } from 'node:crypto';
import type { Migration } from '../files.js';
import { MigrateError } from './errors.js';

export const HISTORY_TABLE = 'cutover_schema_migrations';

/**
 * Session advisory lock key: the first 8 bytes of sha256('cutover_schema_migrations')
 * as a signed 64-bit integer. Fixed, so every runner of every version agrees on it.
 */
export const MIGRATION_LOCK_KEY: bigint = BigInt.asIntN(
  64,
  BigInt(`0x${createHash('sha256').update(HISTORY_TABLE).digest('hex').slice(0, 16)}`),
);

/**
 * A Release revision (a hash) as recorded in the history. Restricted so it is
 * safe to print and to match on.
 */
export const REVISION = /^[a-z0-9][a-z0-9-]{0,63}$/;

export interface HistoryRow {
  version: number;
  name: string;
  checksum: string;
  /** The Release revision that applied it; null when none was given or the table predates the column. */
  revision: string | null;
}

export const createHistory = (table: string): string => `CREATE TABLE IF NOT EXISTS ${table} (
  version bigint PRIMARY KEY,
  name text NOT NULL,
  checksum text NOT NULL,
  phase text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  duration_ms integer,
  revision text
)`;

/** History tables created before the revision column get it before their first new row. */
export const addRevisionColumn = (table: string): string =>
  `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS revision text`;

export function refuseChangedChecksums(
  migrations: readonly Migration[],
  applied: Map<number, HistoryRow>,
): void {
  for (const m of migrations) {
    const row = applied.get(m.version);
    if (row && row.checksum !== m.checksum) {
      throw new MigrateError(
        `${m.up.name} was changed after it was applied (applied ${row.checksum.slice(0, 12)}, ` +
          `file now ${m.checksum.slice(0, 12)}); add a new migration instead of editing an applied one`,
        3,
      );
    }
  }
}
