// `cutover verify`, the restore drill, against a real PostgreSQL 15: a good
// chain (a full taken before the WAL process started) restores into a throwaway server that reaches the newest WAL and holds
// the backup's tables; a corrupted WAL object fails the drill, named; the
// scratch directory goes either way.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readChain } from '../../operator/backup/chain.js';
import { runBackupCommand, type CommandIO } from '../../operator/backup/command.js';
import { storageFor } from '../../operator/backup/storage.js';
import { runVerifyCommand } from '../../operator/backup/verify.js';
import { startPostgres, type PostgresInstance } from '../harness/postgres.js';
import { waitFor } from '../harness/wait.js';
import { query } from '../release/database.js';

let db: PostgresInstance;
let work: string;
let store: string;
let uri: string;
const stop = new AbortController();
let wal: Promise<number>;

function io(env: NodeJS.ProcessEnv = {}, signal?: AbortSignal) {
  const out: string[] = [];
  const err: string[] = [];
  const value: CommandIO = { env, stdout: (l) => out.push(l), stderr: (l) => err.push(l), signal };
  return { io: value, out, err };
}

async function scratchDirs(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((d) => d.startsWith('cutover-verify-'));
}

beforeAll(async () => {
  db = await startPostgres();
  work = await mkdtemp(join(tmpdir(), 'cutover-verify-test-'));
  store = join(work, 'store');
  uri = pathToFileURL(store).toString();
  await query(db.url, 'CREATE TABLE customers (id int primary key)');
  await query(db.url, 'INSERT INTO customers SELECT generate_series(1, 50)');
  // The manifest records the planner's estimate, which ANALYZE makes exact here.
  await query(db.url, 'ANALYZE customers');
  // The full before the WAL process: its slot, created just after, must still
  // leave no hole (the backup carries the segment holding its end whole).
  expect(await runBackupCommand(['full', '--to', uri], io({ DATABASE_URL: db.url }).io)).toBe(0);
  await query(db.url, 'INSERT INTO customers VALUES (51)');
  wal = runBackupCommand(
    ['wal', '--to', uri, '--interval', '1s'],
    io({ DATABASE_URL: db.url }, stop.signal).io,
  );
  await query(db.url, 'CREATE TABLE invoices (id int primary key)');
  const [row] = await query<{ at: Date }>(
    db.url,
    'INSERT INTO invoices VALUES (1), (2) RETURNING now() AS at',
  );
  const at = (row?.at ?? new Date()).getTime();
  await waitFor(
    async () => Date.parse((await readChain(storageFor(uri))).lastCommitAt ?? '1970-01-01T00:00:00Z') >= at,
    { timeoutMs: 30_000, intervalMs: 250, description: 'the invoices to be in the stored WAL' },
  );
});

afterAll(async () => {
  stop.abort();
  await wal;
  await db.stop();
  await rm(work, { recursive: true, force: true });
});

test('a good chain verifies: replayed to the newest WAL, the tables listed with their rows', async () => {
  const before = await scratchDirs();
  const report = join(work, 'verify-report.json');
  const run = io({ CUTOVER_REPORT: report });
  const code = await runVerifyCommand(['--from', uri], run.io);
  expect(run.err).toEqual([]);
  expect(code).toBe(0);
  expect(run.out).toEqual(
    expect.arrayContaining([
      '  public.customers: 51 rows restored, 50 at the backup (estimated)',
      '  public.invoices: 2 rows restored',
      expect.stringMatching(/^verified backup \d{8}T\d{6}\.\d{3}Z-[0-9a-f]{4} up to /),
    ]),
  );
  const written = JSON.parse(await readFile(report, 'utf8')) as {
    kind: string;
    ok: boolean;
    detail: unknown;
  };
  expect(written).toMatchObject({
    kind: 'verify',
    ok: true,
    detail: {
      tables: { 'public.customers': { restored: 51, atBackup: 50 }, 'public.invoices': { restored: 2 } },
    },
  });
  expect(await scratchDirs()).toEqual(before);
});

test('a corrupted WAL object fails the drill, named, and the scratch directory is gone', async () => {
  // The WAL process re-ships the open segment every second: stop it first.
  stop.abort();
  expect(await wal).toBe(0);
  const object = (await readdir(join(store, 'wal')))
    .filter((f) => /^[0-9A-F]{24}(\.partial)?\.gz$/.test(f))
    .sort()
    .at(-1);
  const path = join(store, 'wal', object ?? '');
  const shipped = await readFile(path);
  const bad = Buffer.from(shipped);
  bad[bad.length >> 1] = (bad[bad.length >> 1] ?? 0) ^ 0xff;
  await writeFile(path, bad);
  const before = await scratchDirs();
  try {
    const run = io();
    expect(await runVerifyCommand(['--from', uri], run.io)).toBe(1);
    expect(run.err).toEqual([
      `cutover verify: wal/${object ?? ''} is corrupted (its SHA-256 differs from its sidecar); nothing was restored`,
    ]);
    expect(await scratchDirs()).toEqual(before);
  } finally {
    await writeFile(path, shipped);
  }
});
