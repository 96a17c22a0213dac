// RPO of continuous WAL: a steady writer commits numbered rows (synchronous
// commit, so an acknowledged row is durable on the primary) while
// `cutover backup wal` ships to a directory; then the primary is killed with
// SIGKILL and the storage restored with --latest. The rows acknowledged but
// missing from the restore are what the WAL mechanism lost, in rows and in
// seconds of commits. Two cases:
//  survivor: the WAL process outlives the primary (its own pod): it ships
//            what it had received when the stream broke;
//  together: the WAL process is killed with the primary (same node lost):
//            only the last --interval ship counts, the bound the interval sets.
//
//   tsx bench/backup-rpo.ts [--interval 5s] [--seconds 20] [--rate 50] [--runs 3] [--modes survivor,together]
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { readWal } from '../operator/backup/chain.js';
import { storageFor } from '../operator/backup/storage.js';
import { runBackupCommand, runRestoreCommand, type CommandIO } from '../operator/backup/command.js';
import { parseDuration } from '../operator/runtime/duration.js';
import { startPostgres, startRestoredPostgres, type PostgresInstance } from '../test/harness/postgres.js';
import { waitFor } from '../test/harness/wait.js';

const { values } = parseArgs({
  options: {
    interval: { type: 'string', default: '5s' },
    seconds: { type: 'string', default: '20' },
    rate: { type: 'string', default: '50' },
    runs: { type: 'string', default: '3' },
    modes: { type: 'string', default: 'survivor,together' },
  },
});
const root = resolve(import.meta.dirname, '..');
const modes = values.modes
  .split(',')
  .filter((m): m is Outcome['mode'] => m === 'survivor' || m === 'together');
const quiet: CommandIO = { env: {}, stdout: () => undefined, stderr: (l) => console.error(l) };

interface Outcome {
  mode: 'survivor' | 'together';
  acked: number;
  restored: number;
  lostRows: number;
  lostSeconds: number;
}

async function once(mode: Outcome['mode']): Promise<Outcome> {
  const db = await startPostgres({ settings: { synchronous_commit: true } });
  const work = await mkdtemp(join(tmpdir(), 'cutover-rpo-'));
  const uri = pathToFileURL(join(work, 'store')).toString();
  const wal = spawn(
    process.execPath,
    [
      join(root, 'node_modules/tsx/dist/cli.mjs'),
      join(root, 'operator/cli.ts'),
      'backup',
      'wal',
      '--to',
      uri,
      '--interval',
      values.interval,
    ],
    { env: { PATH: process.env.PATH, DATABASE_URL: db.url }, detached: true, stdio: 'ignore' },
  );
  const walExited = new Promise<void>((done) => wal.once('exit', () => done()));
  try {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query('CREATE TABLE ticks (id int primary key)');
    // The slot must exist before the full, or the WAL right after the full is never streamed.
    await waitFor(async () => (await readWal(storageFor(uri))).wal.length > 0, {
      timeoutMs: 60_000,
      description: 'the WAL process to store something',
    });
    if ((await runBackupCommand(['full', '--to', uri], { ...quiet, env: { DATABASE_URL: db.url } })) !== 0)
      throw new Error('full backup failed');
    // Acknowledgement time of each row, by id.
    const ackedAt: number[] = [];
    // A random phase against the shipping cadence: the loss depends on where in the interval the kill falls.
    const end = Date.now() + Number(values.seconds) * 1000 + Math.random() * parseDuration(values.interval);
    const pause = 1000 / Number(values.rate);
    for (let id = 1; Date.now() < end; id += 1) {
      await client.query(`INSERT INTO ticks VALUES (${id})`);
      ackedAt[id] = Date.now();
      await new Promise((r) => setTimeout(r, pause));
    }
    await client.end();
    const acked = ackedAt.length - 1;
    // Together: the WAL process first, so that it cannot ship what it saw of the end.
    if (mode === 'together') process.kill(-(wal.pid ?? 0), 'SIGKILL');
    await killPrimary(db);
    // The survivor notices the broken stream, ships what it has and exits 1.
    await walExited;
    const pgdata = join(await mkdtemp(join(tmpdir(), 'cutover-rpo-restore-')), 'data');
    if ((await runRestoreCommand(['--from', uri, '--pgdata', pgdata, '--latest'], quiet)) !== 0)
      throw new Error('restore failed');
    const restoredDb = await startRestoredPostgres(db, pgdata);
    try {
      await waitFor(
        async () =>
          (await query<{ r: boolean }>(restoredDb, 'SELECT pg_is_in_recovery() AS r'))[0]?.r === false,
        { timeoutMs: 120_000, description: 'the restore to promote' },
      );
      const [row] = await query<{ max: number | null }>(restoredDb, 'SELECT max(id) AS max FROM ticks');
      const restored = row?.max ?? 0;
      if (restored === 0) throw new Error('the restore holds none of the rows: no WAL was replayed');
      const lostSeconds = restored >= acked ? 0 : ((ackedAt[acked] ?? 0) - (ackedAt[restored] ?? 0)) / 1000;
      return { mode, acked, restored, lostRows: acked - restored, lostSeconds };
    } finally {
      await restoredDb.stop();
    }
  } finally {
    if (wal.exitCode === null && wal.signalCode === null) process.kill(-(wal.pid ?? 0), 'SIGKILL');
    await db.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

async function query<T>(db: PostgresInstance, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

/** SIGKILL to the postmaster: no shutdown checkpoint, no goodbye to the WAL stream. */
async function killPrimary(db: PostgresInstance): Promise<void> {
  const pid = Number((await readFile(join(db.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  process.kill(pid, 'SIGKILL');
}

const results: Outcome[] = [];
for (let i = 0; i < Number(values.runs); i += 1) {
  for (const mode of modes) {
    const r = await once(mode);
    results.push(r);
    console.log(
      `${mode}: ${r.acked} rows acknowledged, ${r.restored} restored, ${r.lostRows} lost = ${r.lostSeconds.toFixed(2)} s of commits (interval ${values.interval})`,
    );
  }
}
for (const mode of modes) {
  const lost = results.filter((r) => r.mode === mode).map((r) => r.lostSeconds);
  console.log(
    `${mode}: seconds of commits lost, max ${Math.max(...lost).toFixed(2)}, mean ${(lost.reduce((a, b) => a + b, 0) / lost.length).toFixed(2)}`,
  );
}
