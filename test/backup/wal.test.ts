// Continuous WAL and point-in-time restore against a real PostgreSQL 15 and a
// real S3 server: rows written a second apart come back exactly up to the
// target; the WAL process killed and restarted leaves no hole, a dropped slot
// leaves a reported one; a corrupted or unreachable point is refused in one
// line with nothing written.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readChain, readWal } from '../../operator/backup/chain.js';
import { runBackupCommand, runRestoreCommand, type CommandIO } from '../../operator/backup/command.js';
import { storageFor } from '../../operator/backup/storage.js';
import { startPostgres, startRestoredPostgres, type PostgresInstance } from '../harness/postgres.js';
import { startS3, type S3Server } from '../harness/s3.js';
import { waitFor } from '../harness/wait.js';
import { query } from '../release/database.js';

const root = resolve(import.meta.dirname, '../..');
let db: PostgresInstance;
let work: string;

function io(env: NodeJS.ProcessEnv = {}, signal?: AbortSignal) {
  const out: string[] = [];
  const err: string[] = [];
  const value: CommandIO = { env, stdout: (l) => out.push(l), stderr: (l) => err.push(l), signal };
  return { io: value, out, err };
}

/** Inserts row `id` and returns the database's own time of it. */
async function rowAt(table: string, id: number): Promise<string> {
  const [row] = await query<{ at: Date }>(
    db.url,
    `INSERT INTO ${table} VALUES (${id}) RETURNING now() AS at`,
  );
  return (row?.at ?? new Date(0)).toISOString();
}

/** Waits on the database's clock, so consecutive rows are a second apart. */
async function secondAfter(at: string): Promise<void> {
  await waitFor(
    async () => {
      const [r] = await query<{ now: Date }>(db.url, 'SELECT clock_timestamp() AS now');
      return (r?.now.getTime() ?? 0) >= Date.parse(at) + 1000;
    },
    { timeoutMs: 5_000, intervalMs: 50, description: `a second after ${at}` },
  );
}

/**
 * Waits until the WAL process has stored something: its slot exists, so a
 * full backup taken from now on is followed by WAL without a hole.
 */
async function streaming(uri: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<void> {
  await waitFor(async () => (await readWal(storageFor(uri, env))).wal.length > 0, {
    timeoutMs: 30_000,
    intervalMs: 100,
    description: `WAL in ${uri}`,
    signal,
  });
}

/** Waits until the stored WAL holds a commit at or after `at`. */
async function storedUpTo(
  uri: string,
  env: NodeJS.ProcessEnv,
  at: string,
  signal?: AbortSignal,
): Promise<void> {
  await waitFor(
    async () => {
      const c = await readChain(storageFor(uri, env));
      return c.lastCommitAt !== undefined && Date.parse(c.lastCommitAt) >= Date.parse(at);
    },
    { timeoutMs: 30_000, intervalMs: 250, description: `stored WAL to reach ${at}`, signal },
  );
}

async function restoredIds(
  uri: string,
  env: NodeJS.ProcessEnv,
  table: string,
  target: string[],
): Promise<number[]> {
  const pgdata = join(await mkdtemp(join(tmpdir(), 'cutover-pitr-')), 'data');
  const run = io(env);
  expect(await runRestoreCommand(['--from', uri, '--pgdata', pgdata, ...target], run.io)).toBe(0);
  expect(run.err).toEqual([]);
  const restored = await startRestoredPostgres(db, pgdata);
  try {
    await waitFor(
      async () =>
        (await query<{ r: boolean }>(restored.url, 'SELECT pg_is_in_recovery() AS r'))[0]?.r === false,
      { timeoutMs: 60_000, intervalMs: 100, description: 'the restored server to promote' },
    );
    const rows = await query<{ id: number }>(restored.url, `SELECT id FROM ${table} ORDER BY id`);
    return rows.map((r) => r.id);
  } finally {
    await restored.stop();
  }
}

beforeAll(async () => {
  db = await startPostgres();
  work = await mkdtemp(join(tmpdir(), 'cutover-wal-test-'));
});

afterAll(async () => {
  await db.stop();
  await rm(work, { recursive: true, force: true });
});

describe('continuous WAL in S3, restored to a point in time', () => {
  let s3: S3Server;
  const uri = 's3://backups/shop';
  const stop = new AbortController();
  let wal: Promise<number>;
  let walRun: ReturnType<typeof io>;
  const at: string[] = [];
  /** Where the WAL stood right after the second row's commit. */
  let afterSecond = '';

  beforeAll(async () => {
    s3 = await startS3();
    await s3.createBucket('backups');
    walRun = io({ ...s3.env, DATABASE_URL: db.url }, stop.signal);
    wal = runBackupCommand(['wal', '--to', uri, '--interval', '1s', '--slot', 'pitr'], walRun.io);
    await query(db.url, 'CREATE TABLE orders (id int primary key)');
    await streaming(uri, s3.env);
    expect(await runBackupCommand(['full', '--to', uri], io({ ...s3.env, DATABASE_URL: db.url }).io)).toBe(0);
    at.push(await rowAt('orders', 1));
    await secondAfter(at[0] ?? '');
    at.push(await rowAt('orders', 2));
    const [lsn] = await query<{ lsn: string }>(db.url, 'SELECT pg_current_wal_insert_lsn()::text AS lsn');
    afterSecond = lsn?.lsn ?? '';
    await secondAfter(at[1] ?? '');
    at.push(await rowAt('orders', 3));
    await storedUpTo(uri, s3.env, at[2] ?? '');
  });

  afterAll(async () => {
    stop.abort();
    await wal;
    await s3.stop();
  });

  test('a time between T2 and T3 gives exactly the rows of T1 and T2', async () => {
    const between = new Date((Date.parse(at[1] ?? '') + Date.parse(at[2] ?? '')) / 2).toISOString();
    expect(await restoredIds(uri, s3.env, 'orders', ['--to-time', between])).toEqual([1, 2]);
  });

  test('an LSN right after the second commit gives the rows of T1 and T2', async () => {
    expect(await restoredIds(uri, s3.env, 'orders', ['--to-lsn', afterSecond])).toEqual([1, 2]);
  });

  test('--latest gives all three', async () => {
    expect(await restoredIds(uri, s3.env, 'orders', ['--latest'])).toEqual([1, 2, 3]);
  });

  test('the same from a copy in a second region: between T2 and T3, and --latest', async () => {
    const region = await startS3();
    try {
      await region.createBucket('backups-dr');
      const replicaEnv = Object.fromEntries(
        Object.entries(region.env).map(([k, v]) => [`CUTOVER_REPLICA_1_${k}`, v]),
      );
      const copy = io({ ...s3.env, ...replicaEnv });
      expect(
        await runBackupCommand(['replicate', '--from', uri, '--to', 's3://backups-dr/shop'], copy.io),
      ).toBe(0);
      expect(copy.err).toEqual([]);
      const between = new Date((Date.parse(at[1] ?? '') + Date.parse(at[2] ?? '')) / 2).toISOString();
      expect(await restoredIds('s3://backups-dr/shop', region.env, 'orders', ['--to-time', between])).toEqual(
        [1, 2],
      );
      expect(await restoredIds('s3://backups-dr/shop', region.env, 'orders', ['--latest'])).toEqual([
        1, 2, 3,
      ]);
    } finally {
      await region.stop();
    }
  });

  test('a time outside the stored range: one line with both bounds, nothing written', async () => {
    const pgdata = join(work, 'too-early');
    const run = io(s3.env);
    expect(
      await runRestoreCommand(
        ['--from', uri, '--pgdata', pgdata, '--to-time', '2020-01-01T00:00:00Z'],
        run.io,
      ),
    ).toBe(1);
    expect(run.err).toEqual([
      expect.stringMatching(
        /^cutover restore: --to-time 2020-01-01T00:00:00.000Z is outside what s3:\/\/backups\/shop can restore: from \S+Z to \S+Z$/,
      ),
    ]);
    await expect(readdir(pgdata)).rejects.toThrow();
  });

  test('the WAL process ships segments with sidecars and keeps secrets out of its output', () => {
    expect(walRun.err).toEqual([]);
    expect(walRun.out[0]).toBe(`streaming WAL through slot pitr into ${uri}`);
    expect(walRun.out.join('\n')).not.toContain(db.password);
    expect(walRun.out.join('\n')).not.toContain(s3.config.secretKey);
  });
});

describe('the WAL process killed, restarted, and a slot dropped', () => {
  let store: string;
  let uri: string;
  const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, DATABASE_URL: db.url });

  // Its own process group, as a container: SIGKILL takes pg_receivewal down with it.
  function startWal(report?: string): {
    child: ChildProcess;
    stderr: () => string;
    exited: Promise<number | null>;
    signal: AbortSignal;
  } {
    const child = spawn(
      process.execPath,
      [
        join(root, 'node_modules/tsx/dist/cli.mjs'),
        join(root, 'operator/cli.ts'),
        'backup',
        'wal',
        '--to',
        uri,
        '--interval',
        '1s',
        '--slot',
        'restarts',
      ],
      {
        env: { ...env(), ...(report ? { CUTOVER_REPORT: report } : {}) },
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const gone = new AbortController();
    const exited = new Promise<number | null>((done) =>
      child.once('exit', (code) => {
        gone.abort(new Error(`the WAL process exited with ${String(code)}: ${stderr}`));
        done(code);
      }),
    );
    return { child, stderr: () => stderr, exited, signal: gone.signal };
  }

  beforeAll(async () => {
    store = join(work, 'store');
    uri = pathToFileURL(store).toString();
    await query(db.url, 'CREATE TABLE events (id int primary key)');
  });

  test('SIGKILL and a restart leave no hole: --latest has every row', async () => {
    const first = startWal();
    await streaming(uri, {}, first.signal);
    expect(await runBackupCommand(['full', '--to', uri], io(env()).io)).toBe(0);
    await storedUpTo(uri, {}, await rowAt('events', 1), first.signal);
    process.kill(-(first.child.pid ?? 0), 'SIGKILL');
    await first.exited;
    // Written while nothing streams: the slot keeps it on the server.
    await rowAt('events', 2);
    await query(db.url, 'SELECT pg_switch_wal()');
    const second = startWal();
    try {
      await storedUpTo(uri, {}, await rowAt('events', 3), second.signal);
      const chain = await readChain(storageFor(uri));
      expect(chain.broken).toBeUndefined();
      expect(chain.gaps).toEqual([]);
      expect(await restoredIds(uri, {}, 'events', ['--latest'])).toEqual([1, 2, 3]);
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
    expect(second.stderr()).toBe('');
  });

  test('a corrupted WAL object is refused by name, with nothing restored', async () => {
    const object = (await readdir(join(store, 'wal')))
      .filter((f) => /^[0-9A-F]{24}\.gz$/.test(f))
      .sort()
      .at(-1);
    const path = join(store, 'wal', object ?? '');
    const good = await readFile(path);
    const bad = Buffer.from(good);
    bad[bad.length >> 1] = (bad[bad.length >> 1] ?? 0) ^ 0xff;
    await writeFile(path, bad);
    try {
      const pgdata = join(work, 'corrupt');
      const run = io();
      expect(await runRestoreCommand(['--from', uri, '--pgdata', pgdata, '--latest'], run.io)).toBe(1);
      expect(run.err).toEqual([
        `cutover restore: wal/${object ?? ''} is corrupted (its SHA-256 differs from its sidecar); nothing was restored`,
      ]);
      await expect(readdir(pgdata)).rejects.toThrow();
    } finally {
      await writeFile(path, good);
    }
  });

  test('a slot dropped while the process is down: the gap is reported and the chain marked broken', async () => {
    const report = join(work, 'report.json');
    await query(db.url, "SELECT pg_drop_replication_slot('restarts')");
    for (const id of [4, 5, 6]) {
      await rowAt('events', id);
      await query(db.url, 'SELECT pg_switch_wal()');
    }
    const wal = startWal(report);
    try {
      const chain = await waitFor(
        async () => {
          const c = await readChain(storageFor(uri));
          return c.broken ? c : undefined;
        },
        {
          timeoutMs: 30_000,
          intervalMs: 250,
          description: 'the chain to be marked broken',
          signal: wal.signal,
        },
      );
      expect(chain.gaps).toHaveLength(1);
      expect(chain.broken?.from).toBe(chain.gaps[0]?.from);
      expect(chain.broken?.reason).toMatch(/was never received .* take a new full backup$/);
      expect(wal.stderr()).toMatch(
        /^cutover backup wal: WAL gap: segments [0-9A-F]{24}\.\.[0-9A-F]{24} are gone/,
      );
    } finally {
      wal.child.kill('SIGTERM');
      expect(await wal.exited).toBe(0);
    }
    expect(JSON.parse(await readFile(report, 'utf8'))).toMatchObject({ kind: 'wal', ok: true });
  });
});

test('a wrong password: one line, exit 1, no password anywhere', async () => {
  const url = new URL(db.url);
  url.password = 'not-the-password';
  const report = join(work, 'failed-report.json');
  const run = io({ DATABASE_URL: url.toString(), CUTOVER_REPORT: report }, new AbortController().signal);
  const uri = pathToFileURL(join(work, 'never')).toString();
  expect(await runBackupCommand(['wal', '--to', uri, '--interval', '1s'], run.io)).toBe(1);
  expect(run.err).toEqual([expect.stringMatching(/^cutover backup wal: .*password authentication failed/)]);
  const written = await readFile(report, 'utf8');
  expect(JSON.parse(written)).toMatchObject({ kind: 'wal', ok: false });
  expect([...run.out, ...run.err, written].join('\n')).not.toContain('not-the-password');
  await expect(readdir(join(work, 'never'))).rejects.toThrow();
});
