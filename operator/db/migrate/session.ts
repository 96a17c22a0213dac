import pg from 'pg';
import { describeError, MigrateError } from './errors.js';
import { HISTORY_TABLE, MIGRATION_LOCK_KEY, type HistoryRow } from './history.js';
import type { Connection } from './types.js';

/**
 * Two connections: one only holds the advisory lock for the whole run, so no
 * migration file can release it (pg_advisory_unlock_all, DISCARD ALL); the
 * other runs the files.
 */
export class Session {
  #lock: pg.Client;
  #work: pg.Client;
  #locked = false;
  #lockLost: unknown;
  /** The history table, schema-qualified and quoted. */
  table: string = HISTORY_TABLE;

  constructor(connection: Connection) {
    const config: pg.ClientConfig =
      typeof connection === 'string' ? { connectionString: connection } : connection;
    const base = { connectionTimeoutMillis: 30_000, ...config };
    try {
      this.#lock = new pg.Client({ ...base, application_name: 'cutover-migrate-lock' });
      this.#work = new pg.Client({ ...base, application_name: 'cutover-migrate' });
    } catch (err) {
      throw new MigrateError(`invalid database connection settings: ${describeError(err)}`, 1);
    }
    // Without listeners a dropped connection would crash the process; the
    // awaited queries report their own errors.
    this.#lock.on('error', (err) => {
      this.#lockLost = err;
    });
    this.#work.on('error', () => undefined);
  }

  async open(log: (line: string) => void): Promise<void> {
    try {
      await this.#lock.connect();
      await this.#work.connect();
    } catch (err) {
      throw new MigrateError(`could not connect to the database: ${describeError(err)}`, 1);
    }
    const key = String(MIGRATION_LOCK_KEY);
    const tried = await this.#lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [
      key,
    ]);
    if (!tried.rows[0]?.ok) {
      log('another migration run holds the lock; waiting for it to finish');
      await this.#lock.query('SELECT pg_advisory_lock($1::bigint)', [key]);
    }
    this.#locked = true;
    log('migration lock acquired');
    // Pinned once: a migration that changes search_path must not make the
    // history rows of later files land in (or be looked up in) another schema.
    const schema = await this.query<{ s: string | null }>('SELECT current_schema() AS s');
    const name = schema.rows[0]?.s;
    if (!name)
      throw new MigrateError('no schema to keep the history in: search_path names no existing schema', 1);
    this.table = `${quoteIdent(name)}.${HISTORY_TABLE}`;
  }

  assertLockHeld(): void {
    if (this.#lockLost !== undefined) {
      throw new MigrateError(
        `lost the connection that holds the migration lock (${describeError(this.#lockLost)}); stopping`,
        1,
      );
    }
  }

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.#work.query<R>(sql, values);
  }

  /** Applied migrations, oldest first; empty when the history table does not exist yet. */
  async history(): Promise<HistoryRow[]> {
    const shape = await this.query<{ t: string | null; has_revision: boolean }>(
      `SELECT to_regclass($1)::text AS t, EXISTS (
         SELECT 1 FROM pg_attribute
         WHERE attrelid = to_regclass($1) AND attname = 'revision' AND NOT attisdropped
       ) AS has_revision`,
      [this.table],
    );
    const [found] = shape.rows;
    if (!found?.t) return [];
    // Reading leaves an older table as it is: only applying adds the column,
    // inside its transaction, so a dry run or a roll-back changes nothing here.
    const revision = found.has_revision ? 'revision' : 'NULL::text AS revision';
    const rows = await this.query<{
      version: string;
      name: string;
      checksum: string;
      revision: string | null;
    }>(
      `SELECT version::text AS version, name, checksum, ${revision} FROM ${this.table} ORDER BY applied_at, version`,
    );
    return rows.rows.map((r) => ({
      version: Number(r.version),
      name: r.name,
      checksum: r.checksum,
      revision: r.revision,
    }));
  }

  async close(): Promise<void> {
    if (this.#locked) {
      await this.#lock
        .query('SELECT pg_advisory_unlock($1::bigint)', [String(MIGRATION_LOCK_KEY)])
        .catch(() => undefined);
    }
    await Promise.all([this.#work.end().catch(() => undefined), this.#lock.end().catch(() => undefined)]);
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
