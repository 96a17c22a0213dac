// `cutover backup replicate` between two real S3 servers (two "regions"): a
// real full backup, a real dump and real WAL segments in region A are copied to
// region B, which then restores on its own; a second pass copies nothing; a
// corrupted unit at the source is refused by name while the rest goes on;
// region B unreachable fails in one line and the next pass catches up.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runBackupCommand, runRestoreCommand, type CommandIO } from '../../operator/backup/command.js';
import { parseReport } from '../../operator/backup/report.js';
import { replicationLag, runReplicateCommand } from '../../operator/backup/replicate.js';
import { storageFor, type Storage } from '../../operator/backup/storage.js';
import { freePort } from '../harness/free-port.js';
import { startPostgres, startRestoredPostgres, type PostgresInstance } from '../harness/postgres.js';
import { startS3, type S3Server } from '../harness/s3.js';
import { waitFor } from '../harness/wait.js';
import { query } from '../release/database.js';

const PRIMARY = 's3://backups/shop';
const REPLICA = 's3://backups-dr/shop';

let db: PostgresInstance;
let regionA: S3Server;
let regionB: S3Server;
let work: string;
let primary: Storage;
let replica: Storage;
let backupId: string;

function io(env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  const value: CommandIO = { env, stdout: (l) => out.push(l), stderr: (l) => err.push(l) };
  return { io: value, out, err };
}

/** Region A through AWS_*, region B (or an endpoint standing in for it) through replica 1's own set. */
function replicateEnv(endpointB = regionB.config.endpoint): NodeJS.ProcessEnv {
  const b = regionB.config;
  return {
    ...regionA.env,
    CUTOVER_REPLICA_1_AWS_ENDPOINT_URL: endpointB,
    CUTOVER_REPLICA_1_AWS_REGION: b.region,
    CUTOVER_REPLICA_1_AWS_ACCESS_KEY_ID: b.accessKey,
    CUTOVER_REPLICA_1_AWS_SECRET_ACCESS_KEY: b.secretKey,
    CUTOVER_REPORT: join(work, 'report.json'),
  };
}

async function replicate(env = replicateEnv()) {
  const run = io(env);
  const code = await runReplicateCommand(['--from', PRIMARY, '--to', REPLICA], run.io);
  const secrets = [regionA.config.secretKey, regionB.config.secretKey, db.password];
  const said = [...run.out, ...run.err, await readFile(join(work, 'report.json'), 'utf8')].join('\n');
  for (const s of secrets) expect(said).not.toContain(s);
  return { code, ...run };
}

/** A WAL file as the WAL shipper stores it: the gzip object, then its sidecar. */
async function ship(name: string, content: Buffer, corrupt = false): Promise<string> {
  const gz = gzipSync(content);
  const path = join(work, `${name}.gz`);
  await writeFile(path, gz);
  const sha256 = createHash('sha256').update(gz).digest('hex');
  if (corrupt) gz[gz.length >> 1] = (gz[gz.length >> 1] ?? 0) ^ 0xff;
  await writeFile(path, gz);
  await primary.putFile(`wal/${name}.gz`, path);
  const partial = name.endsWith('.partial');
  const sidecar = JSON.stringify({
    version: 1,
    kind: 'wal',
    segment: name.slice(0, 24),
    timeline: parseInt(name.slice(0, 8), 16),
    size: gz.length,
    sha256,
    shippedAt: new Date().toISOString(),
    ...(partial ? { partial: true } : {}),
  });
  await primary.putText(`wal/${name}.json`, sidecar);
  return sidecar;
}

async function currentSegment(): Promise<string> {
  // The insert position: with synchronous_commit off the write position lags behind it.
  const [row] = await query<{ name: string }>(
    db.url,
    'SELECT pg_walfile_name(pg_current_wal_insert_lsn()) AS name',
  );
  return row?.name ?? '';
}

/** A real WAL segment of the test server, complete after a write and a switch. */
async function completedSegment(): Promise<{ name: string; content: Buffer }> {
  await query(db.url, 'INSERT INTO orders SELECT max(id) + 1 FROM orders');
  const name = await currentSegment();
  await query(db.url, 'SELECT pg_switch_wal()');
  return { name, content: await readFile(join(db.dataDir, 'pg_wal', name)) };
}

/**
 * The open segment after `completed`, shipped as the partial: its file may
 * not exist yet, so the bytes are the first `bytes` of the completed one.
 */
async function shipPartial(completed: { name: string; content: Buffer }, bytes: number) {
  const seg = parseInt(completed.name.slice(16), 16) + 1;
  const name = `${completed.name.slice(0, 16)}${seg.toString(16).toUpperCase().padStart(8, '0')}`;
  const sidecar = await ship(`${name}.partial`, completed.content.subarray(0, bytes));
  return { key: `wal/${name}.partial.json`, sidecar };
}
let firstSegment: { name: string; content: Buffer };

beforeAll(async () => {
  [db, regionA, regionB] = await Promise.all([startPostgres(), startS3(), startS3()]);
  await regionA.createBucket('backups');
  await regionB.createBucket('backups-dr');
  work = await mkdtemp(join(tmpdir(), 'cutover-replicate-test-'));
  primary = storageFor(PRIMARY, regionA.env);
  replica = storageFor(REPLICA, regionB.env);
  await query(db.url, 'CREATE TABLE orders (id int primary key)');
  await query(db.url, 'INSERT INTO orders VALUES (1), (2), (3)');
  const backup = io({ ...regionA.env, DATABASE_URL: db.url });
  expect(await runBackupCommand(['full', '--to', PRIMARY], backup.io)).toBe(0);
  expect(await runBackupCommand(['dump', '--to', PRIMARY], backup.io)).toBe(0);
  backupId = (await primary.list('full'))[0]?.slice('full/'.length) ?? '';
  await query(db.url, 'INSERT INTO orders VALUES (4)');
  firstSegment = await completedSegment();
  await ship(firstSegment.name, firstSegment.content);
  await shipPartial(firstSegment, 8192);
  // A full still being written: objects without a manifest.
  await primary.putText('full/29991231T000000Z/base.tar.gz', 'half');
});

afterAll(async () => {
  await Promise.all([db?.stop(), regionA?.stop(), regionB?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('replicating to a second region', () => {
  test('copies the complete full backup, the dump and the WAL files, and reports lag 0', async () => {
    const run = await replicate();
    expect(run.err).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.out).toEqual([
      expect.stringMatching(/^replica s3:\/\/backups-dr\/shop: copied 4 units \(\d+ bytes\), lag 0 s$/),
    ]);
    expect(await replica.list('full')).toEqual([`full/${backupId}`]);
    const [dump] = await primary.list('dump');
    expect(await replica.list('dump')).toEqual([dump]);
    expect(await replica.getText(`${dump ?? ''}/manifest.json`)).toBe(
      await primary.getText(`${dump ?? ''}/manifest.json`),
    );
    const walAtA = (await primary.list('wal')).sort();
    expect((await replica.list('wal')).sort()).toEqual(walAtA);
    for (const key of walAtA.filter((k) => k.endsWith('.json')))
      expect(await replica.getText(key)).toBe(await primary.getText(key));
    const report = parseReport(await readFile(join(work, 'report.json'), 'utf8'));
    expect(report).toMatchObject({
      kind: 'replicate',
      ok: true,
      detail: { replicas: [{ uri: REPLICA, lagSeconds: 0, copied: 4 }] },
    });
  });

  test('region B restores on its own, with the rows of the backup', async () => {
    const pgdata = join(await mkdtemp(join(tmpdir(), 'cutover-restored-')), 'data');
    const run = io(regionB.env);
    expect(await runRestoreCommand(['--from', REPLICA, '--pgdata', pgdata], run.io)).toBe(0);
    const restored = await startRestoredPostgres(db, pgdata);
    try {
      const rows = await query<{ id: number }>(restored.url, 'SELECT id FROM orders ORDER BY id');
      expect(rows.map((r) => r.id)).toEqual([1, 2, 3]);
    } finally {
      await restored.stop();
    }
  });

  test('a second pass copies nothing', async () => {
    const run = await replicate();
    expect(run.code).toBe(0);
    expect(run.out).toEqual(['replica s3://backups-dr/shop: copied 0 units (0 bytes), lag 0 s']);
  });

  test('a unit corrupted at the source is refused by name; the others are copied', async () => {
    const good = await completedSegment();
    const bad = await completedSegment();
    await ship(bad.name, bad.content, true);
    await ship(good.name, good.content);
    const run = await replicate();
    expect(run.code).toBe(1);
    expect(run.err).toEqual([
      `cutover backup replicate: refused wal/${bad.name}: wal/${bad.name}.gz at ${PRIMARY} is corrupted (its SHA-256 differs from wal/${bad.name}.json)`,
    ]);
    expect(run.out).toEqual([expect.stringMatching(/copied 1 unit \(\d+ bytes\), lag \d+(\.\d)? s$/)]);
    // Read from the two buckets alone, the refused unit is what region B lacks.
    const [lag] = await replicationLag(primary, [replica]);
    expect(lag?.lagSeconds).toBeGreaterThan(0);
    expect(await replica.getText(`wal/${good.name}.json`)).toBeDefined();
    expect(await replica.getText(`wal/${bad.name}.json`)).toBeUndefined();
    expect(await replica.getText(`wal/${bad.name}.gz`)).toBeUndefined();
    // Out of the way of the tests that follow: prune's order, sidecar first.
    await primary.delete(`wal/${bad.name}.json`);
    await primary.delete(`wal/${bad.name}.gz`);
  });

  test('region B unreachable: one line and exit 1; the next pass catches up', async () => {
    const next = await completedSegment();
    await ship(next.name, next.content);
    const dead = `http://127.0.0.1:${await freePort('127.0.0.1')}`;
    const down = await replicate(replicateEnv(dead));
    expect(down.code).toBe(1);
    expect(down.err).toEqual([
      `cutover backup replicate: ${REPLICA}: cannot reach S3 at ${dead}: ECONNREFUSED`,
    ]);
    expect(down.out).toEqual(['replica s3://backups-dr/shop: copied 0 units (0 bytes), lag unknown']);
    expect(parseReport(await readFile(join(work, 'report.json'), 'utf8'))).toMatchObject({ ok: false });
    const unreachable = storageFor(REPLICA, { ...regionB.env, AWS_ENDPOINT_URL: dead });
    expect(await replicationLag(primary, [unreachable])).toEqual([
      { uri: REPLICA, error: `cannot reach S3 at ${dead}: ECONNREFUSED` },
    ]);
    const back = await replicate();
    expect(back.code).toBe(0);
    expect(await replicationLag(primary, [replica])).toEqual([{ uri: REPLICA, lagSeconds: 0 }]);
    expect(back.out).toEqual([expect.stringMatching(/copied 1 unit \(\d+ bytes\), lag 0 s$/)]);
    expect(await replica.getText(`wal/${next.name}.json`)).toBe(
      await primary.getText(`wal/${next.name}.json`),
    );
  });

  test('--follow keeps the re-shipped partial current until stopped', async () => {
    const stop = new AbortController();
    const run = io(replicateEnv());
    const running = runReplicateCommand(
      ['--from', PRIMARY, '--to', REPLICA, '--follow', '--interval', '200ms'],
      run.io,
      stop.signal,
    );
    try {
      await waitFor(() => run.out.length > 0, { timeoutMs: 30_000, description: 'a first pass' });
      const { key, sidecar } = await shipPartial(firstSegment, 16384);
      await waitFor(async () => (await replica.getText(key)) === sidecar, {
        timeoutMs: 30_000,
        description: 'the re-shipped partial at region B',
      });
    } finally {
      stop.abort();
    }
    expect(await running).toBe(0);
    expect(run.err).toEqual([]);
  });
});

describe('bad flags', () => {
  test.each([
    [['--to', REPLICA], '--from and at least one --to are required'],
    [['--from', PRIMARY, '--to', PRIMARY], `${PRIMARY} is both --from and --to`],
    [
      ['--from', PRIMARY, '--to', REPLICA, '--interval', 'soon'],
      '--interval soon: expected a duration of at least 100ms, e.g. 5s',
    ],
  ])('%j: one line, then the usage, exit 2', async (args, line) => {
    const run = io({});
    expect(await runReplicateCommand(args, run.io)).toBe(2);
    expect(run.err[0]).toBe(`cutover backup replicate: ${line}`);
    expect(run.err[1]).toMatch(/^usage: cutover backup replicate/);
  });

  test('a --from directory that does not exist: one line, exit 1', async () => {
    const run = io({});
    const missing = 'file:///nonexistent/cutover-backups';
    expect(await runReplicateCommand(['--from', missing, '--to', 'file:///tmp/unused'], run.io)).toBe(1);
    expect(run.err).toEqual([`cutover backup replicate: ${missing}: no such directory`]);
  });

  test("a replica's own credentials missing: one line, exit 1", async () => {
    const run = io({ ...regionA.env, CUTOVER_REPLICA_1_AWS_ENDPOINT_URL: 'http://127.0.0.1:1' });
    expect(await runReplicateCommand(['--from', PRIMARY, '--to', REPLICA], run.io)).toBe(1);
    expect(run.err).toEqual([
      'cutover backup replicate: s3:// needs CUTOVER_REPLICA_1_AWS_ENDPOINT_URL, CUTOVER_REPLICA_1_AWS_ACCESS_KEY_ID and CUTOVER_REPLICA_1_AWS_SECRET_ACCESS_KEY',
    ]);
  });
});
