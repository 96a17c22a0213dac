// The migration runner against a real PostgreSQL 15: each test gets a
// database of its own on one throwaway server.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { parseMigrationSet, type Migration } from '../../operator/db/files.js';
import { MIGRATION_LOCK_KEY, migrate, MigrateError, type MigrateOptions } from '../../operator/db/migrate.js';
import { startPostgres, type PostgresInstance } from '../harness/postgres.js';
import { waitFor } from '../harness/wait.js';

// jest-circus takes testTimeout only from the global config; pass it explicitly.
const SLOW_MS = 120_000;
const REPO = join(import.meta.dirname, '..', '..');

let server: PostgresInstance | undefined;
let databases = 0;

beforeAll(async () => {
  server = await startPostgres();
}, SLOW_MS);

afterAll(async () => {
  await server?.stop();
}, SLOW_MS);

function running(): PostgresInstance {
  if (!server) throw new Error('PostgreSQL did not start');
  return server;
}

/** A new, empty database; returns its URL. */
async function freshDatabase(): Promise<string> {
  const db = running();
  databases += 1;
  const name = `m${databases}`;
  const admin = new URL(db.url);
  admin.pathname = '/postgres';
  await withClient(admin.toString(), (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(db.url);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function rows<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
  values: unknown[] = [],
): Promise<T[]> {
  return withClient(url, async (c) => (await c.query<T>(sql, values)).rows);
}

async function tableExists(url: string, table: string): Promise<boolean> {
  const [row] = await rows<{ t: string | null }>(url, 'SELECT to_regclass($1)::text AS t', [table]);
  return row?.t !== null && row?.t !== undefined;
}

interface HistoryRow {
  version: string;
  name: string;
  checksum: string;
  phase: string;
  applied_at: Date;
  duration_ms: number | null;
  revision?: string | null;
}

async function history(url: string): Promise<HistoryRow[]> {
  if (!(await tableExists(url, 'cutover_schema_migrations'))) return [];
  return rows<HistoryRow>(url, 'SELECT * FROM cutover_schema_migrations ORDER BY version');
}

function set(files: Record<string, string>): Migration[] {
  return parseMigrationSet(Object.entries(files).map(([name, sql]) => ({ name, sql })));
}

function options(overrides: Partial<MigrateOptions> = {}): MigrateOptions & { lines: string[] } {
  const lines: string[] = [];
  return { phase: 'expand', log: (line) => lines.push(line), ...overrides, lines };
}

/** The rejection of `promise`, which must reject with a MigrateError. */
async function refusal(promise: Promise<unknown>): Promise<MigrateError> {
  const outcome = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(outcome instanceof MigrateError)) throw new Error(`expected a MigrateError, got ${String(outcome)}`);
  return outcome;
}

const BASE = {
  '001_users.up.sql': 'CREATE TABLE users (id bigint PRIMARY KEY, email text);\n',
  '001_users.down.sql': 'DROP TABLE users;\n',
  '002_orders.up.sql':
    '-- orders belong to users\nCREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);\n',
  '002_orders.down.sql': 'DROP TABLE orders;\n',
};

describe('migrate', () => {
  it('applies a fresh set in order, one history row per file', async () => {
    const url = await freshDatabase();
    const opts = options();
    const summary = await migrate(url, set(BASE), opts);

    expect(summary.applied.map((r) => [r.version, r.name, r.file])).toEqual([
      [1, 'users', '001_users.up.sql'],
      [2, 'orders', '002_orders.up.sql'],
    ]);
    expect(summary.skipped).toBe(0);
    expect(summary.dryRun).toBe(false);
    expect(await tableExists(url, 'users')).toBe(true);
    expect(await tableExists(url, 'orders')).toBe(true);

    const h = await history(url);
    expect(h.map((r) => [r.version, r.name, r.checksum, r.phase])).toEqual([
      ['1', 'users', set(BASE)[0]?.checksum, 'expand'],
      ['2', 'orders', set(BASE)[1]?.checksum, 'expand'],
    ]);
    for (const row of h) expect(row.duration_ms).toEqual(expect.any(Number));
    expect(opts.lines).toEqual(
      expect.arrayContaining(['running 001_users.up.sql', 'running 002_orders.up.sql']),
    );
  });

  it('does nothing when run again', async () => {
    const url = await freshDatabase();
    await migrate(url, set(BASE), options());
    const before = await history(url);

    const opts = options({ phase: 'contract' });
    const summary = await migrate(url, set(BASE), opts);
    expect(summary).toEqual({ applied: [], skipped: 2, dryRun: false });
    expect(await history(url)).toEqual(before);
    expect(opts.lines).toContain('nothing to apply: 2 migration(s) already applied');
  });

  it('refuses an applied file whose checksum changed, before running anything', async () => {
    const url = await freshDatabase();
    await migrate(url, set({ '001_users.up.sql': BASE['001_users.up.sql'] }), options());
    const before = await history(url);

    const edited = set({
      '001_users.up.sql': 'CREATE TABLE users (id bigint PRIMARY KEY, email text, name text);\n',
      '002_orders.up.sql': BASE['002_orders.up.sql'],
    });
    const err = await refusal(migrate(url, edited, options()));
    expect(err.exitCode).toBe(3);
    expect(err.message).toContain('001_users.up.sql was changed after it was applied');
    expect(err.message).toContain(`applied ${before[0]?.checksum.slice(0, 12)}`);
    expect(err.message).toContain(`file now ${edited[0]?.checksum.slice(0, 12)}`);
    expect(await tableExists(url, 'orders')).toBe(false);
    expect(await history(url)).toEqual(before);
  });

  it('keeps earlier files when one fails, and leaves nothing of the failed file', async () => {
    const url = await freshDatabase();
    const files = set({
      '001_users.up.sql': BASE['001_users.up.sql'],
      '002_broken.up.sql':
        'CREATE TABLE broken (id int);\nINSERT INTO broken VALUES (1);\n\nINSERT INTO nope VALUES (1);\n',
      '003_later.up.sql': 'CREATE TABLE later (id int);\n',
    });
    const err = await refusal(migrate(url, files, options()));

    expect(err.exitCode).toBe(1);
    expect(err.message).toContain(
      '002_broken.up.sql line 4: relation "nope" does not exist (SQLSTATE 42P01)',
    );
    expect(err.message).toContain('rolled back');
    expect(await tableExists(url, 'users')).toBe(true);
    expect(await tableExists(url, 'broken')).toBe(false);
    expect(await tableExists(url, 'later')).toBe(false);
    expect((await history(url)).map((r) => r.version)).toEqual(['1']);
  });

  it('reports the line of an error deep in a multi-line file with multi-byte characters before it', async () => {
    const url = await freshDatabase();
    const files = set({
      '001_x.up.sql':
        "-- Grüße \u{1F600}\nCREATE TABLE x (note text DEFAULT '\u{1F600}');\nSELECT\n  1 +\n  'nope'::int;\n",
    });
    const err = await refusal(migrate(url, files, options()));
    expect(err.message).toContain('001_x.up.sql line 5: invalid input syntax for type integer: "nope"');
    expect(await tableExists(url, 'x')).toBe(false);
  });

  it('keeps the history in the schema it started in when a migration changes search_path', async () => {
    const url = await freshDatabase();
    const files = set({
      '001_schema.up.sql': 'CREATE SCHEMA app;\nSET search_path TO app;\n',
      '002_table.up.sql': 'CREATE TABLE things (id int);\n',
    });
    await migrate(url, files, options());
    expect(await tableExists(url, 'app.things')).toBe(true);
    expect(await tableExists(url, 'app.cutover_schema_migrations')).toBe(false);
    expect((await history(url)).map((r) => r.version)).toEqual(['1', '2']);
  });

  it('runs a dry run inside one transaction and leaves no trace', async () => {
    const url = await freshDatabase();
    const opts = options({ dryRun: true });
    const summary = await migrate(url, set(BASE), opts);

    expect(summary.dryRun).toBe(true);
    expect(summary.applied.map((r) => r.file)).toEqual(['001_users.up.sql', '002_orders.up.sql']);
    expect(await tableExists(url, 'users')).toBe(false);
    expect(await tableExists(url, 'orders')).toBe(false);
    // Not even the history table survives.
    expect(await tableExists(url, 'cutover_schema_migrations')).toBe(false);
    expect(opts.lines).toContain('dry run: rolled back; 2 migration(s) would apply');

    // With history present: the pending file is tried and rolled back, history untouched.
    await migrate(url, set({ '001_users.up.sql': BASE['001_users.up.sql'] }), options());
    const before = await history(url);
    const again = await migrate(url, set(BASE), options({ dryRun: true }));
    expect(again.applied.map((r) => r.file)).toEqual(['002_orders.up.sql']);
    expect(again.skipped).toBe(1);
    expect(await tableExists(url, 'orders')).toBe(false);
    expect(await history(url)).toEqual(before);
  });

  it('reports a dry run that would fail, and keeps nothing of it', async () => {
    const url = await freshDatabase();
    const files = set({
      ...BASE,
      '003_bad.up.sql': 'ALTER TABLE orders ADD COLUMN total numeric;\nSELECT missing FROM orders;\n',
    });
    const err = await refusal(migrate(url, files, options({ dryRun: true })));
    expect(err.exitCode).toBe(1);
    expect(err.message).toContain('003_bad.up.sql line 2: column "missing" does not exist');
    expect(err.message).toContain('the dry run was rolled back');
    expect(await tableExists(url, 'users')).toBe(false);
    expect(await tableExists(url, 'cutover_schema_migrations')).toBe(false);
  });

  describe('down', () => {
    const THREE = {
      ...BASE,
      '003_notes.up.sql': 'CREATE TABLE notes (id int);\n',
      '003_notes.down.sql': 'DROP TABLE notes;\n',
    };

    it('rolls back the last one, then the last two, newest first', async () => {
      const url = await freshDatabase();
      await migrate(url, set(THREE), options());

      const one = await migrate(url, set(THREE), options({ down: 1 }));
      expect(one.rolledBack?.map((r) => r.file)).toEqual(['003_notes.down.sql']);
      expect(one.applied).toEqual([]);
      expect(await tableExists(url, 'notes')).toBe(false);
      expect(await tableExists(url, 'orders')).toBe(true);
      expect((await history(url)).map((r) => r.version)).toEqual(['1', '2']);

      // orders references users: only newest-first order can drop both.
      const two = await migrate(url, set(THREE), options({ down: 2 }));
      expect(two.rolledBack?.map((r) => r.file)).toEqual(['002_orders.down.sql', '001_users.down.sql']);
      expect(await tableExists(url, 'orders')).toBe(false);
      expect(await tableExists(url, 'users')).toBe(false);
      expect(await history(url)).toEqual([]);

      // Rolled back means pending again.
      const reapplied = await migrate(url, set(THREE), options());
      expect(reapplied.applied.map((r) => r.version)).toEqual([1, 2, 3]);
    });

    it('refuses before anything runs when a down file is missing', async () => {
      const url = await freshDatabase();
      const noDownForUsers = set({
        '001_users.up.sql': BASE['001_users.up.sql'],
        '002_orders.up.sql': BASE['002_orders.up.sql'],
        '002_orders.down.sql': BASE['002_orders.down.sql'],
      });
      await migrate(url, noDownForUsers, options());
      const before = await history(url);

      const err = await refusal(migrate(url, noDownForUsers, options({ down: 2 })));
      expect(err.exitCode).toBe(3);
      expect(err.message).toContain('cannot roll back 001_users.up.sql: there is no 001_users.down.sql');
      // 002's down file exists and comes first, yet it did not run.
      expect(await tableExists(url, 'orders')).toBe(true);
      expect(await history(url)).toEqual(before);
    });

    it('refuses to roll back more than was applied', async () => {
      const url = await freshDatabase();
      await migrate(url, set(BASE), options());
      const err = await refusal(migrate(url, set(BASE), options({ down: 3 })));
      expect(err.exitCode).toBe(3);
      expect(err.message).toContain('cannot roll back 3 migration(s): only 2 applied');
      expect(await tableExists(url, 'orders')).toBe(true);
    });

    it('rolls back in a dry run without keeping anything', async () => {
      const url = await freshDatabase();
      await migrate(url, set(BASE), options());
      const before = await history(url);
      const summary = await migrate(url, set(BASE), options({ down: 2, dryRun: true }));
      expect(summary.rolledBack?.map((r) => r.file)).toEqual(['002_orders.down.sql', '001_users.down.sql']);
      expect(await tableExists(url, 'users')).toBe(true);
      expect(await history(url)).toEqual(before);
    });
  });

  it('serialises concurrent runners on the advisory lock: each file runs exactly once', async () => {
    const url = await freshDatabase();
    const GATE = 4242;
    await rows(url, 'CREATE TABLE counter (id serial PRIMARY KEY)');
    const files = set({
      // Waits on a lock the test holds, so the first runner is provably
      // mid-migration while the second one arrives.
      '001_count.up.sql': `SELECT pg_advisory_xact_lock(${GATE});\nINSERT INTO counter DEFAULT VALUES;\n`,
      '002_more.up.sql': 'CREATE TABLE more (id int);\n',
    });
    const gate = new pg.Client({ connectionString: url });
    await gate.connect();
    try {
      await gate.query('SELECT pg_advisory_lock($1)', [GATE]);
      const waitingOn = async (classid: bigint, objid: bigint): Promise<boolean> => {
        const [row] = await rows<{ n: string }>(
          url,
          `SELECT count(*) AS n FROM pg_locks
            WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
              AND classid::text = $1 AND objid::text = $2`,
          [String(classid), String(objid)],
        );
        return row?.n === '1';
      };
      const key = BigInt.asUintN(64, MIGRATION_LOCK_KEY);

      const first = options();
      const second = options();
      const a = migrate(url, files, first);
      await waitFor(() => waitingOn(0n, BigInt(GATE)), {
        timeoutMs: 20_000,
        intervalMs: 20,
        description: 'the first runner to block inside 001_count.up.sql',
      });
      const b = migrate(url, files, second);
      await waitFor(() => waitingOn(key >> 32n, key & 0xffffffffn), {
        timeoutMs: 20_000,
        intervalMs: 20,
        description: 'the second runner to wait for the migration lock',
      });
      expect(second.lines).toContain('another migration run holds the lock; waiting for it to finish');

      await gate.query('SELECT pg_advisory_unlock($1)', [GATE]);
      const [ra, rb] = await Promise.all([a, b]);
      expect(ra.applied.map((r) => r.version)).toEqual([1, 2]);
      expect(rb).toEqual({ applied: [], skipped: 2, dryRun: false });
    } finally {
      await gate.end();
    }
    const [count] = await rows<{ n: string }>(url, 'SELECT count(*) AS n FROM counter');
    expect(count?.n).toBe('1');
    expect((await history(url)).map((r) => r.version)).toEqual(['1', '2']);
    // Both runners let go of the lock.
    const [held] = await rows<{ n: string }>(
      url,
      "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1",
    );
    expect(held?.n).toBe('0');
  });

  describe('the expand lint', () => {
    const DESTRUCTIVE = {
      ...BASE,
      '003_tidy.up.sql': 'CREATE TABLE audit (id int);\n\nALTER TABLE users\n  DROP COLUMN email;\n',
    };

    it('refuses a DROP COLUMN before touching the database', async () => {
      const url = await freshDatabase();
      await migrate(url, set(BASE), options());
      const before = await history(url);

      const err = await refusal(migrate(url, set(DESTRUCTIVE), options()));
      expect(err.exitCode).toBe(3);
      expect(err.message).toContain('refused by the expand lint: 003_tidy.up.sql:3 drop-column');
      expect(err.findings.map((f) => [f.file, f.line, f.rule])).toEqual([
        ['003_tidy.up.sql', 3, 'drop-column'],
      ]);
      // The statement before the DROP did not run either.
      expect(await tableExists(url, 'audit')).toBe(false);
      const [column] = await rows<{ n: string }>(
        url,
        "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'email'",
      );
      expect(column?.n).toBe('1');
      expect(await history(url)).toEqual(before);
    });

    it('refuses on a fresh database without creating the history table', async () => {
      const url = await freshDatabase();
      const err = await refusal(migrate(url, set(DESTRUCTIVE), options()));
      expect(err.exitCode).toBe(3);
      expect(await tableExists(url, 'cutover_schema_migrations')).toBe(false);
      expect(await tableExists(url, 'users')).toBe(false);
    });

    it('lets the contract phase run it and records the phase', async () => {
      const url = await freshDatabase();
      await migrate(url, set(BASE), options());
      const summary = await migrate(url, set(DESTRUCTIVE), options({ phase: 'contract' }));
      expect(summary.applied.map((r) => r.file)).toEqual(['003_tidy.up.sql']);
      expect((await history(url)).map((r) => r.phase)).toEqual(['expand', 'expand', 'contract']);
    });

    it('does not lint files that are already applied', async () => {
      const url = await freshDatabase();
      await migrate(url, set(DESTRUCTIVE), options({ phase: 'contract' }));
      const summary = await migrate(url, set(DESTRUCTIVE), options({ phase: 'expand' }));
      expect(summary.skipped).toBe(3);
    });
  });

  describe('files that cannot run in a transaction', () => {
    it('runs a no-transaction file statement by statement (CREATE INDEX CONCURRENTLY)', async () => {
      const url = await freshDatabase();
      const files = set({
        ...BASE,
        '003_index.up.sql':
          '-- cutover:no-transaction\nCREATE INDEX CONCURRENTLY orders_user_id ON orders (user_id);\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n',
      });
      const summary = await migrate(url, files, options());
      expect(summary.applied.map((r) => r.version)).toEqual([1, 2, 3]);
      const indexes = await rows<{ indexname: string }>(
        url,
        "SELECT indexname FROM pg_indexes WHERE indexname IN ('orders_user_id', 'users_email') ORDER BY 1",
      );
      expect(indexes.map((r) => r.indexname)).toEqual(['orders_user_id', 'users_email']);
      expect((await history(url)).map((r) => r.version)).toEqual(['1', '2', '3']);
    });

    it('names the line of a failing statement and the statements that stay applied', async () => {
      const url = await freshDatabase();
      await migrate(url, set(BASE), options());
      const files = set({
        ...BASE,
        '003_index.up.sql':
          '-- cutover:no-transaction\nCREATE INDEX CONCURRENTLY a ON orders (user_id);\n\nSELECT nope\n  FROM orders;\n',
      });
      const err = await refusal(migrate(url, files, options()));
      expect(err.message).toContain('003_index.up.sql line 4: column "nope" does not exist');
      expect(err.message).toContain('its first 1 statement(s) stay applied');
      const [index] = await rows<{ n: string }>(
        url,
        "SELECT count(*) AS n FROM pg_indexes WHERE indexname = 'a'",
      );
      expect(index?.n).toBe('1');
      expect((await history(url)).map((r) => r.version)).toEqual(['1', '2']);
    });

    it('leaves a no-transaction file out of a dry run', async () => {
      const url = await freshDatabase();
      const files = set({
        ...BASE,
        '003_index.up.sql': '-- cutover:no-transaction\nCREATE INDEX CONCURRENTLY a ON orders (user_id);\n',
      });
      const opts = options({ dryRun: true });
      const summary = await migrate(url, files, opts);
      expect(summary.applied.map((r) => r.version)).toEqual([1, 2]);
      expect(opts.lines.some((l) => l.includes('not running 003_index.up.sql'))).toBe(true);
      expect(await tableExists(url, 'orders')).toBe(false);
    });

    it('refuses CREATE INDEX CONCURRENTLY without the directive, and BEGIN/COMMIT anywhere', async () => {
      const url = await freshDatabase();
      const concurrently = await refusal(
        migrate(
          url,
          set({ ...BASE, '003_i.up.sql': 'CREATE INDEX CONCURRENTLY a ON orders (user_id);' }),
          options(),
        ),
      );
      expect(concurrently.exitCode).toBe(3);
      expect(concurrently.message).toContain('003_i.up.sql:1 needs-no-transaction');
      const wrapped = await refusal(
        migrate(
          url,
          set({ '001_t.up.sql': 'BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n' }),
          options({ phase: 'contract' }),
        ),
      );
      expect(wrapped.message).toContain('refused by the contract lint: 001_t.up.sql:1 transaction-control');
      expect(await tableExists(url, 'users')).toBe(false);
      expect(await tableExists(url, 't')).toBe(false);
    });
  });

  it('never puts the password into an error, even when the server echoes it back', async () => {
    const url = await freshDatabase();
    const password = running().password;
    // PostgreSQL quotes bad input in its messages.
    const err = await refusal(
      migrate(url, set({ '001_echo.up.sql': `SELECT '${password}'::int;` }), options()),
    );
    expect(err.message).toContain('invalid input syntax for type integer: "***"');
    expect(err.message).not.toContain(password);

    const refused = new URL(url);
    refused.port = '1';
    const unreachable = await refusal(migrate(refused.toString(), set(BASE), options()));
    expect(unreachable.exitCode).toBe(1);
    expect(unreachable.message).toContain('could not connect to the database');
    expect(unreachable.message).not.toContain(password);
  });
});

/** The history table as Cutover created it before the revision column. */
const OLD_HISTORY_DDL = `CREATE TABLE cutover_schema_migrations (
  version bigint PRIMARY KEY,
  name text NOT NULL,
  checksum text NOT NULL,
  phase text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  duration_ms integer
)`;

async function hasRevisionColumn(url: string): Promise<boolean> {
  const [row] = await rows<{ n: string }>(
    url,
    "SELECT count(*) AS n FROM information_schema.columns WHERE table_name = 'cutover_schema_migrations' AND column_name = 'revision'",
  );
  return row?.n === '1';
}

describe('migrate with a Release revision', () => {
  const THIRD = {
    '003_items.up.sql': 'CREATE TABLE items (id int);\n',
    '003_items.down.sql': 'DROP TABLE items;\n',
  };

  it('records the revision that applied each version, and NULL without one', async () => {
    const url = await freshDatabase();
    await migrate(url, set(BASE), options({ revision: '5f3c2a1b9d' }));
    await migrate(url, set({ ...BASE, ...THIRD }), options());
    expect((await history(url)).map((r) => [r.version, r.revision])).toEqual([
      ['1', '5f3c2a1b9d'],
      ['2', '5f3c2a1b9d'],
      ['3', null],
    ]);
  });

  it('refuses a malformed revision before connecting', async () => {
    const url = await freshDatabase();
    for (const revision of ['', '-r1', 'R1', 'r_1', 'a'.repeat(65)]) {
      const err = await refusal(migrate(url, set(BASE), options({ revision })));
      expect([revision, err.exitCode]).toEqual([revision, 3]);
    }
    expect(await tableExists(url, 'cutover_schema_migrations')).toBe(false);
    // 64 characters is the longest allowed.
    await migrate(url, set(BASE), options({ revision: 'a'.repeat(64) }));
    expect((await history(url)).map((r) => r.revision)).toEqual(['a'.repeat(64), 'a'.repeat(64)]);
  });

  it('rolls back exactly the versions a revision applied, newest first, and again does nothing', async () => {
    const url = await freshDatabase();
    await migrate(url, set(BASE), options({ revision: 'r1' }));
    await migrate(url, set({ ...BASE, ...THIRD }), options({ revision: 'r2' }));
    const all = set({ ...BASE, ...THIRD });

    const dry = await migrate(url, all, options({ downRevision: 'r2', dryRun: true }));
    expect(dry.rolledBack?.map((r) => r.file)).toEqual(['003_items.down.sql']);
    expect(await tableExists(url, 'items')).toBe(true);
    expect((await history(url)).map((r) => r.version)).toEqual(['1', '2', '3']);

    const r2 = options({ downRevision: 'r2' });
    const summary = await migrate(url, all, r2);
    expect(summary.rolledBack?.map((r) => r.file)).toEqual(['003_items.down.sql']);
    expect(r2.lines).toContain('rolling back 1 migration(s) of revision r2, newest first');
    expect(await tableExists(url, 'items')).toBe(false);
    expect(await tableExists(url, 'orders')).toBe(true);
    expect((await history(url)).map((r) => [r.version, r.revision])).toEqual([
      ['1', 'r1'],
      ['2', 'r1'],
    ]);

    const again = options({ downRevision: 'r2' });
    expect(await migrate(url, all, again)).toEqual({
      applied: [],
      skipped: 0,
      rolledBack: [],
      dryRun: false,
    });
    expect(again.lines).toContain('nothing to roll back for revision r2');
    expect((await history(url)).map((r) => r.version)).toEqual(['1', '2']);

    const r1 = await migrate(url, all, options({ downRevision: 'r1' }));
    expect(r1.rolledBack?.map((r) => [r.version, r.file])).toEqual([
      [2, '002_orders.down.sql'],
      [1, '001_users.down.sql'],
    ]);
    expect(await tableExists(url, 'users')).toBe(false);
    expect(await history(url)).toEqual([]);
  });

  it('refuses before anything runs when a version of the revision cannot be rolled back', async () => {
    const url = await freshDatabase();
    await migrate(url, set(BASE), options({ revision: 'r1' }));
    const before = await history(url);

    // 002 would run first; it must not, since 001 cannot follow it.
    const { '001_users.down.sql': _dropped, ...noDown } = BASE;
    const missing = await refusal(migrate(url, set(noDown), options({ downRevision: 'r1' })));
    expect(missing.exitCode).toBe(3);
    expect(missing.message).toBe('cannot roll back 001_users.up.sql: there is no 001_users.down.sql');

    const { '001_users.up.sql': _up, '001_users.down.sql': _down, ...notInSet } = BASE;
    const absent = await refusal(migrate(url, set(notInSet), options({ downRevision: 'r1' })));
    expect(absent.exitCode).toBe(3);
    expect(absent.message).toContain('cannot roll back version 1 (users): it is not in this migration set');

    const changed = await refusal(
      migrate(
        url,
        set({ ...BASE, '001_users.up.sql': 'CREATE TABLE users (id bigint PRIMARY KEY);\n' }),
        options({ downRevision: 'r1' }),
      ),
    );
    expect(changed.exitCode).toBe(3);
    expect(changed.message).toContain('001_users.up.sql was changed after it was applied');

    const linted = await refusal(
      migrate(
        url,
        set({ ...BASE, '002_orders.down.sql': 'BEGIN;\nDROP TABLE orders;\nCOMMIT;\n' }),
        options({ downRevision: 'r1' }),
      ),
    );
    expect(linted.message).toContain(
      'refused by the contract lint: 002_orders.down.sql:1 transaction-control',
    );

    expect(await tableExists(url, 'orders')).toBe(true);
    expect(await tableExists(url, 'users')).toBe(true);
    expect(await history(url)).toEqual(before);
  });

  it('refuses a malformed downRevision, and downRevision with down', async () => {
    const url = await freshDatabase();
    await migrate(url, set(BASE), options({ revision: 'r1' }));
    const malformed = await refusal(migrate(url, set(BASE), options({ downRevision: 'R1' })));
    expect(malformed.exitCode).toBe(3);
    const both = await refusal(migrate(url, set(BASE), options({ downRevision: 'r1', down: 1 })));
    expect(both.exitCode).toBe(3);
    expect(both.message).toContain('cannot be combined');
    expect((await history(url)).map((r) => r.version)).toEqual(['1', '2']);
  });

  it('adds the column to a history table created before it, and keeps its rows', async () => {
    const url = await freshDatabase();
    await withClient(url, async (c) => {
      await c.query(OLD_HISTORY_DDL);
      await c.query(BASE['001_users.up.sql']);
      await c.query(
        "INSERT INTO cutover_schema_migrations (version, name, checksum, phase) VALUES (1, 'users', $1, 'expand')",
        [set(BASE)[0]?.checksum],
      );
    });

    // A dry run and a roll-back read the table as it is and leave it so.
    await migrate(url, set(BASE), options({ dryRun: true, revision: 'r2' }));
    const none = options({ downRevision: 'r2' });
    expect((await migrate(url, set(BASE), none)).rolledBack).toEqual([]);
    expect(none.lines).toContain('nothing to roll back for revision r2');
    expect(await hasRevisionColumn(url)).toBe(false);

    const summary = await migrate(url, set(BASE), options({ revision: 'r2' }));
    expect(summary.applied.map((r) => r.version)).toEqual([2]);
    expect(summary.skipped).toBe(1);
    expect(await hasRevisionColumn(url)).toBe(true);
    expect((await history(url)).map((r) => [r.version, r.revision])).toEqual([
      ['1', null],
      ['2', 'r2'],
    ]);

    const down = await migrate(url, set(BASE), options({ downRevision: 'r2' }));
    expect(down.rolledBack?.map((r) => r.version)).toEqual([2]);
    expect((await history(url)).map((r) => r.version)).toEqual(['1']);
  });
});

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(REPO, 'node_modules', '.bin', 'tsx'), ['operator/cli.ts', 'migrate', ...args], {
      cwd: REPO,
      // The test's own Node (24) first, so tsx runs on it.
      env: {
        PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
        HOME: process.env.HOME ?? '/',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('cutover migrate (CLI)', () => {
  let dir: string;
  let url: string;
  let terminationLog: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cutover-migrate-cli-'));
    terminationLog = join(dir, 'termination-log');
    url = await freshDatabase();
  }, SLOW_MS);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function files(name: string, contents: Record<string, string>): Promise<string> {
    const target = join(dir, name);
    await rm(target, { recursive: true, force: true });
    await mkdir(target);
    for (const [file, sql] of Object.entries(contents)) await writeFile(join(target, file), sql);
    return target;
  }

  const expectNoSecret = (result: CliResult): void => {
    const { password } = running();
    expect(result.stdout).not.toContain(password);
    expect(result.stderr).not.toContain(password);
    expect(result.stdout + result.stderr).not.toContain(encodeURIComponent(password));
  };

  it(
    'applies, then does nothing, printing progress on stdout and exiting 0',
    async () => {
      const migrations = await files('ok', BASE);
      const first = await cli(['--dir', migrations], { DATABASE_URL: url });
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout).toContain('running 001_users.up.sql');
      expect(first.stdout).toContain('done: 2 applied, 0 already applied');
      expectNoSecret(first);

      const second = await cli(['--dir', migrations, '--phase', 'contract'], { DATABASE_URL: url });
      expect(second.code).toBe(0);
      expect(second.stdout).toContain('done: 0 applied, 2 already applied');
      expect((await history(url)).map((r) => r.version)).toEqual(['1', '2']);
    },
    SLOW_MS,
  );

  it(
    'exits 1 on a failing file with one stderr line, also written to the termination log',
    async () => {
      await writeFile(terminationLog, '');
      const { password } = running();
      const migrations = await files('fail', {
        ...BASE,
        '003_bad.up.sql': `CREATE TABLE bad (id int);\nSELECT '${password}'::int;\n`,
      });
      const result = await cli(['--dir', migrations], {
        DATABASE_URL: url,
        CUTOVER_TERMINATION_LOG: terminationLog,
      });
      expect(result.code).toBe(1);
      const lines = result.stderr.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(
        'cutover migrate: 003_bad.up.sql line 2: invalid input syntax for type integer',
      );
      expect(await readFile(terminationLog, 'utf8')).toBe(`${lines[0] ?? ''}\n`);
      expectNoSecret(result);
      expect(await tableExists(url, 'bad')).toBe(false);
    },
    SLOW_MS,
  );

  it(
    'exits 3 when the expand lint refuses, listing the finding',
    async () => {
      const migrations = await files('lint', {
        ...BASE,
        '003_drop.up.sql': 'SELECT 1;\nALTER TABLE users DROP COLUMN email;\n',
      });
      const result = await cli(['--dir', migrations], { DATABASE_URL: url });
      expect(result.code).toBe(3);
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringContaining('cutover migrate: refused by the expand lint: 003_drop.up.sql:2 drop-column'),
      ]);
      expect(result.stdout).toContain('003_drop.up.sql:2 drop-column');

      const lintOnly = await cli(['--dir', migrations, '--lint-only'], {});
      expect(lintOnly.code).toBe(3);
      const contract = await cli(['--dir', migrations, '--lint-only', '--phase', 'contract'], {});
      expect(contract.code).toBe(0);
      expect(contract.stdout).toContain(
        'note: destructive, and Cutover takes no backup first yet: 003_drop.up.sql:2 drop-column',
      );
    },
    SLOW_MS,
  );

  it(
    'exits 3 on a changed checksum and on an invalid migration set',
    async () => {
      const changed = await files('changed', {
        ...BASE,
        '001_users.up.sql': 'CREATE TABLE users (id bigint PRIMARY KEY);\n',
      });
      const result = await cli(['--dir', changed], { DATABASE_URL: url });
      expect(result.code).toBe(3);
      expect(result.stderr).toContain('001_users.up.sql was changed after it was applied');

      const invalid = await files('invalid', { '001_users.sql': 'SELECT 1' });
      const bad = await cli(['--dir', invalid], { DATABASE_URL: url });
      expect(bad.code).toBe(3);
      expect(bad.stderr).toContain('invalid migration set: 001_users.sql: is not a migration file name');
    },
    SLOW_MS,
  );

  it(
    'runs --down and --dry-run',
    async () => {
      const migrations = await files('down', BASE);
      const dry = await cli(['--dir', migrations, '--down', '1', '--dry-run'], { DATABASE_URL: url });
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain('dry run, nothing kept');
      expect(await tableExists(url, 'orders')).toBe(true);

      const down = await cli(['--dir', migrations, '--down', '1'], { DATABASE_URL: url });
      expect(down.code).toBe(0);
      expect(down.stdout).toContain('1 rolled back');
      expect(await tableExists(url, 'orders')).toBe(false);
    },
    SLOW_MS,
  );

  it(
    'records --revision, else CUTOVER_REVISION, with each version applied',
    async () => {
      const own = await freshDatabase();
      const first = await files('revision-1', { '001_users.up.sql': BASE['001_users.up.sql'] });
      const flagged = await cli(['--dir', first, '--revision', '5f3c2a1b9d'], {
        DATABASE_URL: own,
        CUTOVER_REVISION: 'ignored',
      });
      expect(flagged.code).toBe(0);

      const second = await files('revision-2', BASE);
      const badEnv = await cli(['--dir', second], { DATABASE_URL: own, CUTOVER_REVISION: 'Bad' });
      expect(badEnv.code).toBe(2);
      expect(badEnv.stderr).toContain('CUTOVER_REVISION must be');
      const fromEnv = await cli(['--dir', second], { DATABASE_URL: own, CUTOVER_REVISION: 'e7a9' });
      expect(fromEnv.code).toBe(0);

      expect((await history(own)).map((r) => [r.version, r.revision])).toEqual([
        ['1', '5f3c2a1b9d'],
        ['2', 'e7a9'],
      ]);
    },
    SLOW_MS,
  );

  it(
    'runs --down-revision, with --dry-run, and again as a success with nothing to do',
    async () => {
      const own = await freshDatabase();
      const migrations = await files('down-revision', BASE);
      expect((await cli(['--dir', migrations, '--revision', 'r1'], { DATABASE_URL: own })).code).toBe(0);

      const dry = await cli(['--dir', migrations, '--down-revision', 'r1', '--dry-run'], {
        DATABASE_URL: own,
      });
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain('dry run, nothing kept');
      expect(await tableExists(own, 'orders')).toBe(true);

      const down = await cli(['--dir', migrations, '--down-revision', 'r1'], { DATABASE_URL: own });
      expect(down.stderr).toBe('');
      expect(down.code).toBe(0);
      expect(down.stdout).toContain('2 rolled back');
      expect(down.stdout.indexOf('running 002_orders.down.sql')).toBeLessThan(
        down.stdout.indexOf('running 001_users.down.sql'),
      );
      expect(await tableExists(own, 'users')).toBe(false);

      const again = await cli(['--dir', migrations, '--down-revision', 'r1'], { DATABASE_URL: own });
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('nothing to roll back for revision r1');
    },
    SLOW_MS,
  );

  it(
    'exits 3 on --down-revision when a down file is missing, naming it',
    async () => {
      const own = await freshDatabase();
      const { '002_orders.down.sql': _dropped, ...noDown } = BASE;
      const migrations = await files('down-revision-missing', noDown);
      expect((await cli(['--dir', migrations, '--revision', 'r1'], { DATABASE_URL: own })).code).toBe(0);
      const result = await cli(['--dir', migrations, '--down-revision', 'r1'], { DATABASE_URL: own });
      expect(result.code).toBe(3);
      expect(result.stderr.trim()).toBe(
        'cutover migrate: cannot roll back 002_orders.up.sql: there is no 002_orders.down.sql',
      );
      expect(await tableExists(own, 'orders')).toBe(true);
    },
    SLOW_MS,
  );

  it(
    'exits 2 on usage errors and a missing DATABASE_URL',
    async () => {
      const migrations = await files('usage', BASE);
      const noUrl = await cli(['--dir', migrations], {});
      expect(noUrl.code).toBe(2);
      expect(noUrl.stderr).toContain('DATABASE_URL is not set');
      for (const args of [
        [],
        ['--dir', migrations, '--phase', 'sideways'],
        ['--dir', migrations, '--down', '0'],
        ['--dir', migrations, '--revision', 'Not_A_Hash'],
        ['--dir', migrations, '--revision', 'r1', '--down', '1'],
        ['--dir', migrations, '--down-revision', 'r1', '--down', '1'],
        ['--dir', migrations, '--down-revision', 'r1', '--lint-only'],
        ['--dir', migrations, '--down-revision', 'r1', '--revision', 'r1'],
        ['--dir', migrations, '--down-revision', '-r1'],
        ['--bogus'],
      ]) {
        const result = await cli(args, { DATABASE_URL: url });
        expect([args, result.code]).toEqual([args, 2]);
      }
    },
    SLOW_MS,
  );

  it(
    'exits 1 without the password when the database refuses the login or cannot be reached',
    async () => {
      const migrations = await files('auth', BASE);
      const wrong = new URL(url);
      wrong.password = 'Wr0ngPassw0rd-not-the-real-one';
      const denied = await cli(['--dir', migrations], { DATABASE_URL: wrong.toString() });
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain('password authentication failed');
      expect(denied.stdout + denied.stderr).not.toContain('Wr0ngPassw0rd');

      const unreachable = new URL(url);
      unreachable.port = '1';
      const down = await cli(['--dir', migrations], { DATABASE_URL: unreachable.toString() });
      expect(down.code).toBe(1);
      expect(down.stderr.trim().split('\n')).toHaveLength(1);
      expectNoSecret(down);

      const invalid = await cli(['--dir', migrations], {
        DATABASE_URL: `${url.replace(/:\d+\//, ':99999/')}`,
      });
      expect(invalid.code).toBe(1);
      expectNoSecret(invalid);
    },
    SLOW_MS,
  );
});
