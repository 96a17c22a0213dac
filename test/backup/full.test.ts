// `cutover backup full` and `cutover restore` against a real PostgreSQL 15:
// the restored directory starts as a real server with exactly the rows of
// the moment of the backup; bad input fails in one line and leaves nothing
// that looks complete.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runBackupCommand, runRestoreCommand, type CommandIO } from '../../operator/backup/command.js';
import { storageFor } from '../../operator/backup/storage.js';
import { freePort } from '../harness/free-port.js';
import { query } from '../release/database.js';
import { startPostgres, startRestoredPostgres, type PostgresInstance } from '../harness/postgres.js';
import { startS3, type S3Server } from '../harness/s3.js';

let db: PostgresInstance;
let work: string;

function io(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const value: CommandIO = { env, stdout: (l) => out.push(l), stderr: (l) => err.push(l) };
  return { io: value, out, err };
}

beforeAll(async () => {
  db = await startPostgres();
  work = await mkdtemp(join(tmpdir(), 'cutover-backup-test-'));
  await query(db.url, 'CREATE TABLE orders (id int primary key, note text)');
  await query(db.url, "INSERT INTO orders VALUES (1, 'a'), (2, 'b'), (3, 'c')");
});

afterAll(async () => {
  await db.stop();
  await rm(work, { recursive: true, force: true });
});

describe('a full backup, restored', () => {
  let store: string;
  let stored: string;

  beforeAll(async () => {
    stored = join(work, 'store');
    store = pathToFileURL(stored).toString();
    const run = io({ DATABASE_URL: db.url });
    expect(await runBackupCommand(['full', '--to', store], run.io)).toBe(0);
    expect(run.err).toEqual([]);
    expect(run.out.at(-1)).toMatch(/^backup \d{8}T\d{6}\.\d{3}Z-[0-9a-f]{4} complete in file:\/\//);
    // Written after the backup: must not be in the restore.
    await query(db.url, "INSERT INTO orders VALUES (4, 'd')");
  });

  test('comes up as a real server with exactly the rows of the backup', async () => {
    // Directly under the temporary directory: the server's own user must reach it.
    const base = await mkdtemp(join(tmpdir(), 'cutover-restored-'));
    const pgdata = join(base, 'data');
    const run = io();
    expect(await runRestoreCommand(['--from', store, '--pgdata', pgdata], run.io)).toBe(0);
    const restored = await startRestoredPostgres(db, pgdata);
    try {
      const rows = await query<{ id: number }>(restored.url, 'SELECT id FROM orders ORDER BY id');
      expect(rows.map((r) => r.id)).toEqual([1, 2, 3]);
    } finally {
      await restored.stop();
    }
  });

  test('has a manifest with the WAL range and a checksum per object, and no password anywhere', async () => {
    const [id] = await readdir(join(stored, 'full'));
    const text = await readFile(join(stored, 'full', id ?? '', 'manifest.json'), 'utf8');
    const m = JSON.parse(text) as {
      id: string;
      timeline: number;
      startLsn: string;
      endLsn: string;
      files: Array<{ name: string; sha256: string }>;
    };
    expect(m).toMatchObject({ id, timeline: 1 });
    expect(m.startLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(m.files.map((f) => f.name)).toEqual(expect.arrayContaining(['backup_manifest', 'base.tar.gz']));
    expect(m.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
    expect(text).not.toContain(db.password);
  });

  test('a corrupted object is refused, naming it, and nothing is restored', async () => {
    const [id] = await readdir(join(stored, 'full'));
    const object = join(stored, 'full', id ?? '', 'base.tar.gz');
    const good = await readFile(object);
    const bad = Buffer.from(good);
    bad[bad.length >> 1] = (bad[bad.length >> 1] ?? 0) ^ 0xff;
    await writeFile(object, bad);
    try {
      const pgdata = join(await mkdtemp(join(work, 'restore-')), 'data');
      const run = io();
      expect(await runRestoreCommand(['--from', store, '--pgdata', pgdata], run.io)).toBe(1);
      expect(run.err).toEqual([expect.stringContaining(`backup ${id ?? ''}: base.tar.gz is corrupted`)]);
      await expect(readdir(pgdata)).rejects.toThrow();
    } finally {
      await writeFile(object, good);
    }
  });

  test('a data directory that is not empty is refused', async () => {
    const pgdata = await mkdtemp(join(work, 'busy-'));
    await writeFile(join(pgdata, 'PG_VERSION'), '15\n');
    const run = io();
    expect(await runRestoreCommand(['--from', store, '--pgdata', pgdata], run.io)).toBe(1);
    expect(run.err).toEqual([`cutover restore: ${pgdata} is not empty: restore into a new directory`]);
    expect(await readdir(pgdata)).toEqual(['PG_VERSION']);
  });
});

describe('in S3 (versitygw)', () => {
  let s3: S3Server;

  beforeAll(async () => {
    s3 = await startS3();
    await s3.createBucket('backups');
  });

  afterAll(async () => {
    await s3.stop();
  });

  test('a backup stored in a bucket restores to the rows of its moment', async () => {
    await query(db.url, 'CREATE TABLE s3_rows (id int)');
    await query(db.url, 'INSERT INTO s3_rows VALUES (1), (2)');
    const backup = io({ ...s3.env, DATABASE_URL: db.url });
    expect(await runBackupCommand(['full', '--to', 's3://backups/shop/prod'], backup.io)).toBe(0);
    await query(db.url, 'INSERT INTO s3_rows VALUES (3)');
    const pgdata = join(await mkdtemp(join(tmpdir(), 'cutover-restored-')), 'data');
    const restore = io(s3.env);
    expect(
      await runRestoreCommand(['--from', 's3://backups/shop/prod', '--pgdata', pgdata], restore.io),
    ).toBe(0);
    const restored = await startRestoredPostgres(db, pgdata);
    try {
      const rows = await query<{ id: number }>(restored.url, 'SELECT id FROM s3_rows ORDER BY id');
      expect(rows.map((r) => r.id)).toEqual([1, 2]);
    } finally {
      await restored.stop();
    }
    expect([...backup.out, ...backup.err, ...restore.out].join('\n')).not.toContain(s3.config.secretKey);
  });

  test("removing a failed backup's prefix deletes its objects and nothing else", async () => {
    const storage = storageFor('s3://backups/removal', s3.env);
    await storage.putText('full/a/base.tar.gz', 'partial');
    await storage.putText('full/a/backup_manifest', '{}');
    await storage.putText('full/b/manifest.json', '{}');
    await storage.remove('full/a');
    expect(await storage.list('full')).toEqual(['full/b']);
  });

  test('a bucket that does not exist: one line, exit 1', async () => {
    const run = io({ ...s3.env, DATABASE_URL: db.url });
    expect(await runBackupCommand(['full', '--to', 's3://no-such-bucket/x'], run.io)).toBe(1);
    expect(run.err).toEqual([
      `cutover backup: bucket no-such-bucket does not exist at ${s3.config.endpoint}`,
    ]);
  });
});

describe('bad input gets one line and leaves nothing that looks complete', () => {
  test('an unreachable database', async () => {
    const port = await freePort('127.0.0.1');
    const url = `postgres://cutover:s3cret-pass@127.0.0.1:${port}/cutover`;
    const stored = join(work, 'unreachable');
    const run = io({ DATABASE_URL: url });
    expect(await runBackupCommand(['full', '--to', pathToFileURL(stored).toString()], run.io)).toBe(1);
    expect(run.err).toHaveLength(1);
    expect(run.err[0]).toMatch(/^cutover backup: .*(connection refused|could not connect)/i);
    expect([...run.out, ...run.err].join('\n')).not.toContain('s3cret-pass');
    const left = await readdir(join(stored, 'full')).catch(() => []);
    expect(left).toEqual([]);
  });

  test('a wrong password', async () => {
    const url = new URL(db.url);
    url.password = 'not-the-password';
    const run = io({ DATABASE_URL: url.toString() });
    expect(
      await runBackupCommand(['full', '--to', pathToFileURL(join(work, 'wrong')).toString()], run.io),
    ).toBe(1);
    expect(run.err[0]).toMatch(/password authentication failed/);
    expect(run.err.join('\n')).not.toContain('not-the-password');
  });

  test('s3:// without an endpoint and credentials', async () => {
    const run = io({ DATABASE_URL: db.url });
    expect(await runBackupCommand(['full', '--to', 's3://bucket/prefix'], run.io)).toBe(1);
    expect(run.err).toEqual([
      'cutover backup: s3:// needs AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    ]);
  });

  test('a storage without any complete backup', async () => {
    const run = io();
    const empty = pathToFileURL(await mkdtemp(join(work, 'empty-'))).toString();
    expect(await runRestoreCommand(['--from', empty, '--pgdata', join(work, 'never')], run.io)).toBe(1);
    expect(run.err).toEqual([`cutover restore: no complete full backup in ${empty}`]);
  });
});
