// The audit table on a real PostgreSQL 15: prepared twice without harm,
// append-only (UPDATE, DELETE and TRUNCATE refused, partitions included), a
// batch written twice lands once, rows go to their month's partition, a
// partition dropped by the retention takes its rows with it and gives up
// when a reader holds the table, installations register their retention, and
// what PostgreSQL refuses is told apart from an outage. Needs no cluster.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { partition, partitionsAhead } from '../../operator/audit/partitions.js';
import {
  AuditStoreError,
  isMissingTable,
  isRefusedData,
  postgresStore,
  type AuditStore,
} from '../../operator/audit/postgres.js';
import { auditLine, auditRecordOf } from '../../operator/audit/record.js';
import { auditRecord } from '../../operator/audit/record.testkit.js';
import { DEFAULT_PG_BIN, startPostgres, type PostgresInstance } from '../harness/postgres.js';

let db: PostgresInstance;
let store: AuditStore;
let sql: pg.Client;

beforeAll(async () => {
  db = await startPostgres();
  store = postgresStore(db.url);
  sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
});

afterAll(async () => {
  await sql?.end();
  await store?.close();
  await db?.stop();
});

const record = (id: string, time: string, action: string) =>
  auditRecord({
    id,
    time,
    uid: 'uid-1',
    action,
    message: `${action}: it's "quoted"`,
    version: '2.0.0',
    revision: 'r1',
    details: { approver: 'alice@example.com', step: 2, final: false },
    operator: 'op-1',
  });

const ids = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'];

test('prepare is idempotent and creates the table, its partitions and its guards', async () => {
  const now = new Date('2026-12-03T10:00:00Z');
  await store.prepare(partitionsAhead(now));
  await store.prepare(partitionsAhead(now));
  expect((await store.partitions()).sort()).toEqual(['cutover_audit_y2026m12', 'cutover_audit_y2027m01']);
  const triggers = await sql.query<{ tgname: string }>(
    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'cutover_audit'::regclass AND NOT tgisinternal ORDER BY 1",
  );
  expect(triggers.rows.map((r) => r.tgname)).toEqual([
    'cutover_audit_append_only',
    'cutover_audit_no_truncate',
  ]);
  expect(await truncateGuarded()).toEqual([
    'cutover_audit',
    'cutover_audit_y2026m12',
    'cutover_audit_y2027m01',
  ]);
});

/** The tables carrying the TRUNCATE guard. */
async function truncateGuarded(): Promise<string[]> {
  const { rows } = await sql.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      WHERE t.tgname = 'cutover_audit_no_truncate' ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

test('a partition made without the TRUNCATE guard (by hand, or by an older operator) gets it at the next prepare', async () => {
  await sql.query(
    "CREATE TABLE cutover_audit_y2026m11 PARTITION OF cutover_audit FOR VALUES FROM ('2026-11-01') TO ('2026-12-01')",
  );
  expect(await truncateGuarded()).not.toContain('cutover_audit_y2026m11');
  await store.prepare([]);
  expect(await truncateGuarded()).toContain('cutover_audit_y2026m11');
  await store.drop(partition({ year: 2026, month: 11 }));
});

test('rows land in their month; a batch written twice lands once; the shape survives the round trip', async () => {
  const batch = [
    record(ids[0] ?? '', '2026-12-31T23:59:59.999Z', 'RolloutStarted'),
    record(ids[1] ?? '', '2027-01-01T00:00:00.000Z', 'StepStarted'),
  ];
  await store.insert(batch);
  await store.insert(batch);
  const rows = await sql.query<{
    action: string;
    part: string;
    details: unknown;
    time: Date;
    message: string;
  }>(
    'SELECT action, tableoid::regclass::text AS part, details, time, message FROM cutover_audit ORDER BY time, seq',
  );
  expect(rows.rows.map((r) => [r.action, r.part])).toEqual([
    ['RolloutStarted', 'cutover_audit_y2026m12'],
    ['StepStarted', 'cutover_audit_y2027m01'],
  ]);
  expect(rows.rows[0]?.details).toEqual({ approver: 'alice@example.com', step: 2, final: false });
  expect(rows.rows[0]?.time.toISOString()).toBe('2026-12-31T23:59:59.999Z');
  expect(rows.rows[0]?.message).toBe(`RolloutStarted: it's "quoted"`);
});

test('a row for a month without a partition is refused, not put elsewhere, as a table that is missing', async () => {
  const err: unknown = await store
    .insert([record(ids[0] ?? '', '2030-01-01T00:00:00Z', 'Late')])
    .catch((e) => e);
  expect(err).toBeInstanceOf(AuditStoreError);
  expect((err as Error).message).toMatch(/no partition/);
  expect(isMissingTable(err)).toBe(true);
  expect(isRefusedData(err)).toBe(false);
});

test('UPDATE, DELETE and TRUNCATE are refused, through the table and through a partition', async () => {
  for (const statement of [
    "UPDATE cutover_audit SET message = 'rewritten'",
    'DELETE FROM cutover_audit',
    "DELETE FROM cutover_audit_y2026m12 WHERE action = 'RolloutStarted'",
    'TRUNCATE cutover_audit',
    'TRUNCATE cutover_audit_y2026m12',
    'TRUNCATE cutover_audit_y2027m01, cutover_audit_y2026m12',
  ]) {
    await expect(sql.query(statement)).rejects.toThrow(/append-only/);
  }
  const { rows } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM cutover_audit');
  expect(rows[0]?.n).toBe(2);
});

test('dropping a partition (the retention) removes its month and nothing else', async () => {
  await store.drop(partition({ year: 2026, month: 12 }));
  expect(await store.partitions()).toEqual(['cutover_audit_y2027m01']);
  const { rows } = await sql.query<{ action: string }>('SELECT action FROM cutover_audit');
  expect(rows.map((r) => r.action)).toEqual(['StepStarted']);
});

test("docs/audit.md's recovery from the log inserts what is missing, once, and keeps messages intact", async () => {
  const docs = await readFile(join(import.meta.dirname, '../../docs/audit.md'), 'utf8');
  const recovery = /`recover\.sql`:\n\n```sql\n([\s\S]*?)```/.exec(docs)?.[1];
  expect(recovery).toBeDefined();
  const missing = record('00000000-0000-4000-8000-000000000003', '2027-01-02T03:04:05.678Z', 'Aborted');
  missing.message = 'a "quoted" C:\\path\\n and a\nnewline, 100%';
  const lines = [
    '{"level":"info","component":"cutover","msg":"kubeconfig loaded"}\n',
    // Already in the table: skipped by its id.
    auditLine(record(ids[1] ?? '', '2027-01-01T00:00:00.000Z', 'StepStarted')),
    auditLine(missing),
  ];
  const dir = await mkdtemp(join(tmpdir(), 'cutover-recover-'));
  try {
    await writeFile(join(dir, 'audit.jsonl'), lines.filter((l) => l.includes('"audit":true')).join(''));
    await writeFile(join(dir, 'recover.sql'), recovery ?? '');
    const psql = join(process.env.PG_BIN ?? DEFAULT_PG_BIN, 'psql');
    await promisify(execFile)(psql, [db.url, '-v', 'ON_ERROR_STOP=1', '-q', '-f', 'recover.sql'], {
      cwd: dir,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const { rows } = await sql.query<{ action: string; message: string; details: unknown; time: Date }>(
    'SELECT action, message, details, time FROM cutover_audit ORDER BY time, seq',
  );
  expect(rows.map((r) => r.action)).toEqual(['StepStarted', 'Aborted']);
  expect(rows[1]?.message).toBe(missing.message);
  expect(rows[1]?.details).toEqual(missing.details);
  expect(rows[1]?.time.toISOString()).toBe('2027-01-02T03:04:05.678Z');
});

test('errors never carry the password', async () => {
  const url = new URL(db.url);
  url.pathname = '/no_such_database';
  const broken = postgresStore(url.toString(), { timeoutMs: 2_000 });
  try {
    const err = await broken.partitions().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/no_such_database/);
    expect(String((err as Error).message)).not.toContain(db.password);
  } finally {
    await broken.close();
  }
});

test('installations register their retention; those seen since a time are read back, each retention its own row', async () => {
  const at = new Date('2026-12-03T10:00:00Z');
  const daysBefore = (n: number) => new Date(at.getTime() - n * 86_400_000);
  await store.register('tenant-a/cutover-leader', 30, daysBefore(1));
  await store.register('tenant-a/cutover-leader', 30, at);
  await store.register('tenant-b/cutover-leader', 365, daysBefore(2));
  await store.register('tenant-b/cutover-leader', 730, daysBefore(40));
  expect((await store.retentions(daysBefore(30))).sort((a, b) => a - b)).toEqual([30, 365]);
  expect((await store.retentions(daysBefore(50))).sort((a, b) => a - b)).toEqual([30, 365, 730]);
  const { rows } = await sql.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM cutover_audit_installations',
  );
  expect(rows[0]?.n).toBe(3);
});

test('the retention gives up on a partition a reader holds within seconds, instead of queueing every insert behind it', async () => {
  const reader = new pg.Client({ connectionString: db.url });
  await reader.connect();
  try {
    await reader.query('BEGIN');
    await reader.query('SELECT count(*) FROM cutover_audit');
    const started = Date.now();
    const err: unknown = await store.drop(partition({ year: 2027, month: 1 })).catch((e) => e);
    expect(err).toBeInstanceOf(AuditStoreError);
    expect((err as AuditStoreError).code).toBe('55P03');
    expect(Date.now() - started).toBeLessThan(5_000);
  } finally {
    await reader.query('ROLLBACK');
    await reader.end();
  }
  expect(await store.partitions()).toContain('cutover_audit_y2027m01');
});

test('NUL in text or jsonb, and a lone surrogate in jsonb, are refused as data; the records the trail makes of them are stored', async () => {
  const at = '2027-01-05T00:00:00.000Z';
  const raw = [
    { ...record('00000000-0000-4000-8000-000000000010', at, 'NulText'), message: 'a\u0000b' },
    { ...record('00000000-0000-4000-8000-000000000011', at, 'NulJson'), details: { out: 'x\u0000' } },
    { ...record('00000000-0000-4000-8000-000000000012', at, 'Surrogate'), details: { out: 'x\ud800' } },
  ];
  for (const r of raw) {
    const err: unknown = await store.insert([r]).catch((e) => e);
    expect(err).toBeInstanceOf(AuditStoreError);
    expect(isRefusedData(err)).toBe(true);
  }
  const made = auditRecordOf(
    {
      id: 'nul',
      at,
      type: 'Warning',
      reason: 'ExpandFailed',
      message: 'psql said a\u0000b',
      object: { apiVersion: 'cutover.dev/v1alpha1', kind: 'Release', namespace: 'shop', name: 'web' },
      details: { out: 'x\u0000\ud800' },
    },
    'op-1',
    '00000000-0000-4000-8000-000000000013',
  );
  await store.insert([made]);
  const { rows } = await sql.query<{ message: string; details: unknown }>(
    "SELECT message, details FROM cutover_audit WHERE action = 'ExpandFailed'",
  );
  expect(rows).toEqual([{ message: 'psql said a\ufffdb', details: { out: 'x\ufffd\ufffd' } }]);
});
