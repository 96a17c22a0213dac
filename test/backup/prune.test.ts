// `cutover backup prune` on a file:// store holding a real full backup of a
// real PostgreSQL 15 beside dated fulls, a failed one and WAL written as the
// layout has them: a dry run deletes nothing; --apply deletes exactly the
// planned units; the kept newest still restores.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runBackupCommand, runRestoreCommand, type CommandIO } from '../../operator/backup/command.js';
import { backupId, type BackupManifest } from '../../operator/backup/manifest.js';
import { segnoOf } from '../../operator/backup/retention.js';
import { storageFor } from '../../operator/backup/storage.js';
import { startPostgres, startRestoredPostgres, type PostgresInstance } from '../harness/postgres.js';
import { startS3 } from '../harness/s3.js';
import { query } from '../release/database.js';

const DAY = 86_400_000;

let db: PostgresInstance;
let work: string;
let stored: string;
let store: string;
let real: BackupManifest;

function io(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const value: CommandIO = { env, stdout: (l) => out.push(l), stderr: (l) => err.push(l) };
  return { io: value, out, err };
}

/** Every file in the store, relative to it. */
async function contents(): Promise<string[]> {
  const entries = await readdir(stored, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(stored.length + 1))
    .sort();
}

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
const segment = (segno: number) => `${hex8(1)}${hex8(Math.floor(segno / 256))}${hex8(segno % 256)}`;
const lsnIn = (segno: number) => `${hex8(Math.floor(segno / 256))}/${hex8((segno % 256) * 2 ** 24 + 0x28)}`;

async function put(key: string, text: string): Promise<void> {
  await mkdir(join(stored, key, '..'), { recursive: true });
  await writeFile(join(stored, key), text);
}

/** A full of `daysAgo` days whose WAL starts in segment `segno`; without a manifest when failed. */
async function datedFull(daysAgo: number, segno: number, failed = false): Promise<string> {
  const start = new Date(Date.now() - daysAgo * DAY);
  const id = backupId(start);
  await put(`full/${id}/base.tar.gz`, 'dated');
  if (failed) return id;
  const m: BackupManifest = {
    ...real,
    id,
    startedAt: start.toISOString(),
    finishedAt: new Date(start.getTime() + 60_000).toISOString(),
    startLsn: lsnIn(segno),
    endLsn: lsnIn(segno),
  };
  await put(`full/${id}/manifest.json`, JSON.stringify(m));
  return id;
}

/** A shipped segment as the layout has it: the object, then its sidecar. */
async function shipped(segno: number, partial = false): Promise<void> {
  const name = `${segment(segno)}${partial ? '.partial' : ''}`;
  await put(`wal/${name}.gz`, 'wal');
  const sidecar = {
    version: 1,
    kind: 'wal',
    segment: segment(segno),
    timeline: 1,
    size: 3,
    sha256: '0'.repeat(64),
  };
  await put(`wal/${name}.json`, JSON.stringify({ ...sidecar, shippedAt: new Date().toISOString(), partial }));
}

beforeAll(async () => {
  db = await startPostgres();
  work = await mkdtemp(join(tmpdir(), 'cutover-prune-test-'));
  stored = join(work, 'store');
  store = pathToFileURL(stored).toString();
  await query(db.url, 'CREATE TABLE orders (id int primary key)');
  // Segments before the real backup's, for the dated history to sit in.
  for (let i = 1; i <= 4; i += 1) {
    await query(db.url, `INSERT INTO orders VALUES (${i})`);
    await query(db.url, 'SELECT pg_switch_wal()');
  }
  const run = io({ DATABASE_URL: db.url });
  expect(await runBackupCommand(['full', '--to', store], run.io)).toBe(0);
  const [id] = await readdir(join(stored, 'full'));
  real = JSON.parse(
    await readFile(join(stored, 'full', id ?? '', 'manifest.json'), 'utf8'),
  ) as BackupManifest;
});

afterAll(async () => {
  await db.stop();
  await rm(work, { recursive: true, force: true });
});

describe('a store with 40 days of history', () => {
  const flags = ['--full', '30d', '--wal', '7d', '--keep-at-least', '2'];
  let expired: string[];
  let before: string[];

  beforeAll(async () => {
    const first = segnoOf(real.startLsn);
    expect(first).toBeGreaterThanOrEqual(4);
    const old40 = await datedFull(40, 1);
    const old35 = await datedFull(35, 2);
    await datedFull(10, 3);
    const failed = await datedFull(2, 3, true);
    await datedFull(1 / 24, first, true); // may still be running
    for (let s = 1; s <= first + 1; s += 1) await shipped(s);
    await shipped(first + 2, true);
    // Past 30 days with two newer fulls kept; no manifest for two days; WAL
    // before the 10-day-old full (7 days back, restore starts from it).
    expired = [
      `full/${old40}`,
      `full/${old35}`,
      `full/${failed}`,
      `wal/${segment(1)}`,
      `wal/${segment(2)}`,
    ].sort();
    before = await contents();
  });

  test('a dry run prints the plan and deletes nothing', async () => {
    const run = io();
    expect(await runBackupCommand(['prune', '--from', store, ...flags], run.io)).toBe(0);
    expect(run.err).toEqual([]);
    const planned = run.out.filter((l) => l.startsWith('delete ')).map((l) => l.split(':')[0]?.slice(7));
    expect(planned.sort()).toEqual(expired);
    expect(run.out.at(-1)).toMatch(
      /^dry run: would delete 5 \(fulls 3, WAL 2, dumps 0\), keep \d+; pass --apply/,
    );
    expect(await contents()).toEqual(before);
  });

  test('--apply deletes exactly the planned units, reports them, and the newest still restores', async () => {
    const report = join(work, 'report.json');
    const run = io({ CUTOVER_REPORT: report });
    expect(await runBackupCommand(['prune', '--from', store, ...flags, '--apply'], run.io)).toBe(0);
    expect(run.err).toEqual([]);
    const gone = (key: string) => expired.some((u) => key.startsWith(`${u}/`) || key.startsWith(`${u}.`));
    expect(await contents()).toEqual(before.filter((k) => !gone(k)));
    const r = JSON.parse(await readFile(report, 'utf8')) as {
      kind: string;
      ok: boolean;
      detail: { deleted: string[] };
    };
    expect(r).toMatchObject({ kind: 'prune', ok: true });
    expect([...r.detail.deleted].sort()).toEqual(expired);

    const pgdata = join(await mkdtemp(join(tmpdir(), 'cutover-restored-')), 'data');
    expect(await runRestoreCommand(['--from', store, '--pgdata', pgdata], io().io)).toBe(0);
    const restored = await startRestoredPostgres(db, pgdata);
    try {
      const rows = await query<{ id: number }>(restored.url, 'SELECT id FROM orders ORDER BY id');
      expect(rows.map((x) => x.id)).toEqual([1, 2, 3, 4]);
    } finally {
      await restored.stop();
    }
  });

  test('a second run finds nothing more to delete', async () => {
    const run = io();
    expect(await runBackupCommand(['prune', '--from', store, ...flags, '--apply'], run.io)).toBe(0);
    expect(run.out.at(-1)).toMatch(/^deleted 0 /);
  });
});

test('in S3 (versitygw) it deletes the same units through the bucket', async () => {
  const s3 = await startS3();
  try {
    await s3.createBucket('backups');
    const storage = storageFor('s3://backups/shop', s3.env);
    const day = (d: number) => new Date(Date.now() - d * DAY);
    const fulls = [50, 45, 1].map((d, i) => ({
      ...real,
      id: backupId(day(d)),
      startedAt: day(d).toISOString(),
      finishedAt: day(d).toISOString(),
      startLsn: lsnIn(i + 1),
      endLsn: lsnIn(i + 1),
    }));
    for (const m of fulls) {
      await storage.putText(`full/${m.id}/base.tar.gz`, 'dated');
      await storage.putText(`full/${m.id}/manifest.json`, JSON.stringify(m));
    }
    for (const s of [1, 2, 3, 4]) {
      await storage.putText(`wal/${segment(s)}.gz`, 'wal');
      await storage.putText(`wal/${segment(s)}.json`, '{}');
    }
    const run = io(s3.env);
    expect(
      await runBackupCommand(
        ['prune', '--from', 's3://backups/shop', '--keep-at-least', '1', '--apply'],
        run.io,
      ),
    ).toBe(0);
    expect(run.out.at(-1)).toMatch(/^deleted 4 \(fulls 2, WAL 2, dumps 0\)/);
    expect(await storage.list('full')).toEqual([`full/${fulls[2]?.id ?? ''}`]);
    expect(await storage.list('wal')).toEqual(
      [3, 4].flatMap((s) => [`wal/${segment(s)}.gz`, `wal/${segment(s)}.json`]),
    );
    expect([...run.out, ...run.err].join('\n')).not.toContain(s3.config.secretKey);
  } finally {
    await s3.stop();
  }
});

describe('bad flags get one line and exit 2', () => {
  test.each([
    [['--full', 'forever'], '--full forever: not a duration such as 30d or 12h'],
    [['--wal', '0d'], '--wal must be longer than zero, e.g. 30d'],
    [['--keep-at-least', '0'], '--keep-at-least 0: must be a whole number of at least 1'],
  ])('%j', async (extra, message) => {
    const run = io();
    expect(await runBackupCommand(['prune', '--from', store, ...extra], run.io)).toBe(2);
    expect(run.err[0]).toBe(`cutover backup prune: ${message}`);
  });

  test('a store that cannot be read fails in one line', async () => {
    const run = io();
    expect(await runBackupCommand(['prune', '--from', 's3://bucket/x'], run.io)).toBe(1);
    expect(run.err).toEqual([
      'cutover backup prune: s3:// needs AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    ]);
  });
});
