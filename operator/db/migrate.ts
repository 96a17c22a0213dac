// The native migration runner behind `cutover migrate`. Every check that can
// refuse a run (changed checksums, the lint, missing down files) happens
// before the first statement executes, so a refused run leaves the database
// exactly as it found it.
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Migration } from './files.js';
import { hasNoTransactionDirective, lintMigration, type Finding, type Phase } from './lint.js';
import { lineIndex, offsetOfPosition, splitStatements } from './sql.js';

export const HISTORY_TABLE = 'cutover_schema_migrations';

/**
 * Session advisory lock key: the first 8 bytes of sha256('cutover_schema_migrations')
 * as a signed 64-bit integer. Fixed, so every runner of every version agrees on it.
 */
export const MIGRATION_LOCK_KEY: bigint = BigInt.asIntN(
  64,
  BigInt(`0x${createHash('sha256').update(HISTORY_TABLE).digest('hex').slice(0, 16)}`),
);

export type { Phase };

export interface MigrateOptions {
  phase: Phase;
  /** Run everything in one transaction and roll it back at the end. */
  dryRun?: boolean;
  /** Run the down files of the last N applied versions instead of applying. */
  down?: number;
  /** One human-readable progress line at a time. */
  log: (line: string) => void;
}

export interface MigrationRun {
  version: number;
  name: string;
  /** The file that ran: the up file, or the down file for a roll-back. */
  file: string;
  durationMs: number;
}

export interface MigrateSummary {
  /** Up files applied in this run (with dryRun: the ones that would apply). */
  applied: MigrationRun[];
  /** Migrations of the set that were already applied. */
  skipped: number;
  /** Down files run in this run, newest first; only with `down`. */
  rolledBack?: MigrationRun[];
  dryRun: boolean;
}

/** Exit code 3: refused before anything ran; 1: failed while running. */
export class MigrateError extends Error {
  override name = 'MigrateError';
  constructor(
    message: string,
    readonly exitCode: 1 | 3,
    readonly findings: readonly Finding[] = [],
  ) {
    super(message);
  }
}

export type Connection = string | pg.ClientConfig;

interface HistoryRow {
  version: number;
  name: string;
  checksum: string;
}

export async function migrate(
  connection: Connection,
  migrations: readonly Migration[],
  options: MigrateOptions,
): Promise<MigrateSummary> {
  const scrub = scrubberFor(connection);
  if (options.down !== undefined && !(Number.isSafeInteger(options.down) && options.down > 0)) {
    throw new MigrateError(`down must be a positive integer, got ${String(options.down)}`, 3);
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

async function applyPending(
  session: Session,
  migrations: readonly Migration[],
  options: MigrateOptions,
): Promise<MigrateSummary> {
  const { log, phase } = options;
  const dryRun = options.dryRun ?? false;
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
    for (const m of pending) {
      const record = {
        sql: `INSERT INTO ${session.table} (version, name, checksum, phase, duration_ms) VALUES ($1, $2, $3, $4, $5)`,
        values: (ms: number) => [String(m.version), m.name, m.checksum, phase, ms],
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

async function runDown(
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
      throw new MigrateError(
        `cannot roll back ${m.up.name}: there is no ${m.up.name.replace(/\.up\.sql$/, '.down.sql')}`,
        3,
      );
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

const createHistory = (table: string): string => `CREATE TABLE IF NOT EXISTS ${table} (
  version bigint PRIMARY KEY,
  name text NOT NULL,
  checksum text NOT NULL,
  phase text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  duration_ms integer
)`;

interface HistoryChange {
  sql: string;
  values: (durationMs: number) => unknown[];
}

/**
 * Runs one file and its history change. Normally both share a transaction of
 * their own; in a dry run they run inside the surrounding one. A file marked
 * no-transaction runs statement by statement and cannot be rolled back, so a
 * dry run leaves it out.
 */
async function runFile(
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

function refuseChangedChecksums(migrations: readonly Migration[], applied: Map<number, HistoryRow>): void {
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

function lintRefusal(phase: Phase, findings: Finding[]): MigrateError {
  const [first] = findings;
  const more = findings.length > 1 ? ` (and ${findings.length - 1} more)` : '';
  const where = first ? `${first.file}:${first.line} ${first.rule}: ${first.message}` : '';
  return new MigrateError(`refused by the ${phase} lint: ${where}${more}`, 3, findings);
}

/** ` line N` for a PostgreSQL error that carries a position, else ''. */
function errorLine(fileSql: string, err: unknown, offset: number, sent: string): string {
  const position = err instanceof pg.DatabaseError ? Number(err.position) : NaN;
  if (!(position > 0)) return '';
  return ` line ${lineIndex(fileSql)(offset + offsetOfPosition(sent, position))}`;
}

function describeError(err: unknown): string {
  if (err instanceof pg.DatabaseError) {
    const parts = [err.message];
    if (err.code) parts.push(`(SQLSTATE ${err.code})`);
    if (err.detail) parts.push(`detail: ${err.detail}`);
    if (err.hint) parts.push(`hint: ${err.hint}`);
    // Errors inside a DO block or function say where in their own body.
    if (err.where) parts.push(`context: ${err.where.split('\n')[0] ?? ''}`);
    return parts.join(' ').replace(/\s*\n\s*/g, ' ');
  }
  if (err instanceof AggregateError && err.errors.length > 0) {
    return err.errors.map((e: unknown) => describeError(e)).join('; ');
  }
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
}

/**
 * Two connections: one only holds the advisory lock for the whole run, so no
 * migration file can release it (pg_advisory_unlock_all, DISCARD ALL); the
 * other runs the files.
 */
class Session {
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
    const exists = await this.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [this.table]);
    if (!exists.rows[0]?.t) return [];
    const rows = await this.query<{ version: string; name: string; checksum: string }>(
      `SELECT version::text AS version, name, checksum FROM ${this.table} ORDER BY applied_at, version`,
    );
    return rows.rows.map((r) => ({ version: Number(r.version), name: r.name, checksum: r.checksum }));
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

/**
 * Removes credentials from text that may reach a log, an exception or the
 * Kubernetes termination message: the user-info of any URL, and the
 * password itself wherever it appears.
 */
export function scrubberFor(connection: Connection): (text: string) => string {
  const secrets = new Set<string>();
  const password =
    typeof connection === 'string'
      ? /^[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:([^@\s]*)@/i.exec(connection)?.[1]
      : typeof connection.password === 'string'
        ? connection.password
        : undefined;
  if (typeof connection !== 'string' && typeof connection.connectionString === 'string') {
    const inner = /^[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:([^@\s]*)@/i.exec(connection.connectionString)?.[1];
    if (inner) secrets.add(inner);
  }
  if (password) secrets.add(password);
  for (const secret of [...secrets]) {
    try {
      secrets.add(decodeURIComponent(secret));
    } catch {
      // Not percent-encoded; the raw form is already listed.
    }
  }
  // Short strings would blank out ordinary words; a password that short is no secret anyway.
  const literal = [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, '$1***@');
    for (const secret of literal) out = out.split(secret).join('***');
    return out;
  };
}
