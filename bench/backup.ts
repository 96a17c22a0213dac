// Benchmark for backups (issue 9), no cluster needed: a pgbench database of
// about 1 GB on a throwaway PostgreSQL 15, then, in the same run and on the
// same data,
//  - full backup: bare `pg_basebackup -Ft -z -X fetch -c fast` into a
//    directory against `cutover backup full` into file:// and into S3
//    (versitygw): MB/s of database and the ratio (target ≥ 0.9× bare);
//  - restore: bare `tar -xzf` of that backup into a data directory against
//    `cutover restore` from file:// and from S3 (target ≥ 0.9× bare);
//  - RTO: from the start of `cutover restore` (S3) to a promoted server
//    answering a query on the restored directory.
// Each measurement runs --rounds times, bare and cutover taking turns to go
// first; the ratios compare the best round of each (the machine is shared;
// the best is the least disturbed), and the table adds the median and the
// CPU time of the best.
//
//   tsx bench/backup.ts [--scale 70] [--rounds 3]
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify, parseArgs } from 'node:util';
import { fullBackup } from '../operator/backup/full.js';
import { restoreFull } from '../operator/backup/restore.js';
import { storageFor, type Storage } from '../operator/backup/storage.js';
import { startPostgres, startRestoredPostgres, type PostgresInstance } from '../test/harness/postgres.js';
import { startS3, type S3Server } from '../test/harness/s3.js';
import { query } from '../test/release/database.js';
import { quantile, round } from './lib/stats.js';

const run = promisify(execFile);
const { values } = parseArgs({
  options: { scale: { type: 'string', default: '70' }, rounds: { type: 'string', default: '3' } },
});
const SCALE = Number(values.scale);
const ROUNDS = Number(values.rounds);
if (!(SCALE >= 1) || !(ROUNDS >= 1)) throw new Error('--scale and --rounds are positive integers');

const MB = 1024 * 1024;

interface Timed {
  seconds: number;
  mbPerSecond: number;
  /**
   * CPU of this process and the tools it ran (pg_basebackup, tar), which a
   * shared machine disturbs less than wall time; the servers' own is not in it.
   */
  cpuSeconds: number;
}

async function timed(dbBytes: number, fn: () => Promise<unknown>): Promise<Timed> {
  const cpu = ownAndChildrenCpu();
  const t = performance.now();
  await fn();
  const seconds = (performance.now() - t) / 1000;
  return {
    seconds: round(seconds, 2),
    mbPerSecond: round(dbBytes / MB / seconds, 1),
    cpuSeconds: round(ownAndChildrenCpu() - cpu, 2),
  };
}

/** utime + stime + cutime + cstime of /proc/self/stat: children count once waited for. */
function ownAndChildrenCpu(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [11, 12, 13, 14].reduce((n, i) => n + Number(f[i]), 0) / CLK_TCK;
}
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const best = (xs: readonly Timed[]): Timed =>
  [...xs].sort((a, b) => a.seconds - b.seconds)[0] ?? { seconds: NaN, mbPerSecond: NaN, cpuSeconds: NaN };
const median = (xs: readonly Timed[]): number =>
  quantile(
    xs.map((x) => x.seconds),
    0.5,
  );

async function pgbenchInit(db: PostgresInstance): Promise<number> {
  await run(
    join(db.binDir, 'pgbench'),
    ['-i', '-q', '-s', String(SCALE), '-h', db.host, '-p', String(db.port), '-U', db.user, db.database],
    { env: { ...process.env, PGPASSWORD: db.password }, maxBuffer: 16 * MB },
  );
  await query(db.url, 'CHECKPOINT');
  const [row] = await query<{ bytes: string }>(
    db.url,
    'SELECT pg_database_size(current_database()) AS bytes',
  );
  return Number(row?.bytes);
}

async function bareBackup(db: PostgresInstance, into: string): Promise<void> {
  const url = new URL(db.url);
  url.password = '';
  await run(
    join(db.binDir, 'pg_basebackup'),
    ['-d', url.toString(), '-D', into, '-Ft', '-z', '-X', 'fetch', '-c', 'fast'],
    { env: { ...process.env, PGPASSWORD: db.password }, maxBuffer: 16 * MB },
  );
}

async function bareRestore(backup: string, pgdata: string): Promise<void> {
  await mkdir(pgdata, { recursive: true, mode: 0o700 });
  await run('tar', ['-xzf', join(backup, 'base.tar.gz'), '-C', pgdata]);
  // -X fetch puts the WAL inside base.tar.gz; -X stream would write pg_wal.tar.gz.
  if ((await readdir(backup)).includes('pg_wal.tar.gz'))
    await run('tar', ['-xzf', join(backup, 'pg_wal.tar.gz'), '-C', join(pgdata, 'pg_wal')]);
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const name of await readdir(dir)) n += (await stat(join(dir, name))).size;
  return n;
}

const inTurn = <T>(round: number, steps: T[]): T[] => (round % 2 ? [...steps].reverse() : steps);

/** A fresh directory for one round, removed by the caller: 1 GB rounds add up. */
async function scratch(work: string, name: string): Promise<string> {
  return mkdtemp(join(work, `${name}-`));
}

async function rto(db: PostgresInstance, storage: Storage) {
  const pgdata = join(await mkdtemp(join(tmpdir(), 'cutover-bench-rto-')), 'data');
  const t = performance.now();
  const m = await restoreFull({ storage, pgdata });
  const restoredAt = performance.now();
  const restored = await startRestoredPostgres(db, pgdata, { startTimeoutMs: 600_000 });
  try {
    const [row] = await query<{ branches: string; recovering: boolean }>(
      restored.url,
      'SELECT count(*) AS branches, pg_is_in_recovery() AS recovering FROM pgbench_branches',
    );
    const end = performance.now();
    if (Number(row?.branches) !== SCALE || row?.recovering !== false)
      throw new Error(
        `restored server answered ${JSON.stringify(row)}, expected ${SCALE} branches, promoted`,
      );
    return {
      backup: m.id,
      seconds: round((end - t) / 1000, 2),
      restoreSeconds: round((restoredAt - t) / 1000, 2),
      startSeconds: round((end - restoredAt) / 1000, 2),
    };
  } finally {
    await restored.stop();
  }
}

function table(title: string, rows: Array<[string, string | number]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`\n${title}`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

const ratio = (bare: Timed, ours: Timed) => round(bare.seconds / ours.seconds, 2);
const line = (all: readonly Timed[], bareAll?: readonly Timed[]) => {
  const t = best(all);
  const vs = bareAll ? `, ${ratio(best(bareAll), t)}× bare (target ≥ 0.9×)` : '';
  return `${t.seconds} s, ${t.mbPerSecond} MB/s${vs}; median ${median(all)} s; CPU ${t.cpuSeconds} s`;
};

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'cutover-bench-backup-'));
  const db = await startPostgres({ settings: { max_wal_size: '4GB', shared_buffers: '128MB' } });
  let s3: S3Server | undefined;
  try {
    const t0 = performance.now();
    const dbBytes = await pgbenchInit(db);
    const initSeconds = round((performance.now() - t0) / 1000, 1);
    console.log(`pgbench -i -s ${SCALE}: ${round(dbBytes / MB)} MB in ${initSeconds} s`);
    s3 = await startS3();
    await s3.createBucket('bench');
    const s3Storage = storageFor('s3://bench/backup', s3.env);

    const backups: Record<'bare' | 'file' | 's3', Timed[]> = { bare: [], file: [], s3: [] };
    const restores: Record<'bare' | 'file' | 's3', Timed[]> = { bare: [], file: [], s3: [] };
    let storedBytes = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const bareDir = join(await scratch(work, 'bare'), 'out');
      const file = storageFor(pathToFileURL(await scratch(work, 'file')).toString());
      // Odd rounds run in the opposite order: neither side always goes first.
      for (const step of inTurn(i, [
        async () => backups.bare.push(await timed(dbBytes, () => bareBackup(db, bareDir))),
        async () =>
          backups.file.push(await timed(dbBytes, () => fullBackup({ databaseUrl: db.url, storage: file }))),
        async () =>
          backups.s3.push(
            await timed(dbBytes, () => fullBackup({ databaseUrl: db.url, storage: s3Storage })),
          ),
      ]))
        await step();
      storedBytes = await dirBytes(bareDir);
      console.log(`round ${i + 1}: backups done`);
      const into = async (name: string) => join(await scratch(work, name), 'data');
      const data = { bare: await into('bare'), file: await into('f'), s3: await into('s3') };
      for (const step of inTurn(i, [
        async () => restores.bare.push(await timed(dbBytes, () => bareRestore(bareDir, data.bare))),
        async () =>
          restores.file.push(await timed(dbBytes, () => restoreFull({ storage: file, pgdata: data.file }))),
        async () =>
          restores.s3.push(await timed(dbBytes, () => restoreFull({ storage: s3Storage, pgdata: data.s3 }))),
      ]))
        await step();
      // Keep the disk to one round's worth; the S3 backups stay for the RTO run.
      for (const name of await readdir(work)) await rm(join(work, name), { recursive: true, force: true });
      console.log(`round ${i + 1}: restores done`);
    }
    const recovery = await rto(db, s3Storage);

    const result = {
      scale: SCALE,
      rounds: ROUNDS,
      databaseMB: round(dbBytes / MB),
      storedMB: round(storedBytes / MB, 1),
      backup: { bare: best(backups.bare), file: best(backups.file), s3: best(backups.s3) },
      restore: { bare: best(restores.bare), file: best(restores.file), s3: best(restores.s3) },
      medianSeconds: {
        backup: { bare: median(backups.bare), file: median(backups.file), s3: median(backups.s3) },
        restore: { bare: median(restores.bare), file: median(restores.file), s3: median(restores.s3) },
      },
      ratios: {
        backupFile: ratio(best(backups.bare), best(backups.file)),
        backupS3: ratio(best(backups.bare), best(backups.s3)),
        restoreFile: ratio(best(restores.bare), best(restores.file)),
        restoreS3: ratio(best(restores.bare), best(restores.s3)),
      },
      rto: recovery,
      all: { backups, restores },
    };
    const [b, r] = [backups, restores];
    console.log(
      table(`Backups of a ${result.databaseMB} MB pgbench database (-s ${SCALE}), best of ${ROUNDS}`, [
        ['stored (gzip)', `${result.storedMB} MB`],
        ['pg_basebackup -Ft -z -X fetch', line(b.bare)],
        ['cutover backup full → file://', line(b.file, b.bare)],
        ['cutover backup full → s3:// (versitygw)', line(b.s3, b.bare)],
        ['tar -xzf (bare restore)', line(r.bare)],
        ['cutover restore ← file://', line(r.file, r.bare)],
        ['cutover restore ← s3://', line(r.s3, r.bare)],
        [
          'RTO (restore ← s3:// to a promoted, queried server)',
          `${recovery.seconds} s (restore ${recovery.restoreSeconds} s, start and recovery ${recovery.startSeconds} s)`,
        ],
      ]),
    );
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/backup.json', JSON.stringify(result, null, 2) + '\n');
  } finally {
    await s3?.stop();
    await db.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
