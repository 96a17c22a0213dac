// `cutover backup dump` and `cutover restore --target-url` against a real
// PostgreSQL 15: a dump restores into another database with its rows; its
// own source is refused unless --in-place, which puts the source back as
// dumped; a corrupted dump is refused naming the object; no password leaks.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runBackupCommand, runRestoreCommand, type CommandIO } from '../../operator/backup/command.js';
import { startPostgres, type PostgresInstance } from '../harness/postgres.js';
import { query } from '../release/database.js';

let db: PostgresInstance;
let work: string;
let stored: string;
let store: string;
let id: string;

function io(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const value: CommandIO = { env, stdout: (l) => out.push(l), stderr: (l) => err.push(l) };
  return { io: value, out, err };
}

async function newDatabase(name: string): Promise<string> {
  await query(db.url, `CREATE DATABASE ${name}`);
  const url = new URL(db.url);
  url.pathname = `/${name}`;
  return url.toString();
}

const ids = async (url: string) =>
  (await query<{ id: number }>(url, 'SELECT id FROM orders ORDER BY id')).map((r) => r.id);

beforeAll(async () => {
  db = await startPostgres();
  work = await mkdtemp(join(tmpdir(), 'cutover-dump-test-'));
  stored = join(work, 'store');
  store = pathToFileURL(stored).toString();
  await query(db.url, 'CREATE TABLE orders (id int primary key, note text)');
  await query(db.url, "INSERT INTO orders VALUES (1, 'a'), (2, 'b'), (3, 'c')");
  const run = io({ DATABASE_URL: db.url });
  expect(await runBackupCommand(['dump', '--to', store], run.io)).toBe(0);
  expect(run.err).toEqual([]);
  expect(run.out.at(-1)).toMatch(/^dump \d{8}T\d{6}\.\d{3}Z-[0-9a-f]{4} complete in file:\/\//);
  [id = ''] = await readdir(join(stored, 'dump'));
  expect([...run.out, ...run.err].join('\n')).not.toContain(db.password);
  // After the dump: must not come back from it.
  await query(db.url, "INSERT INTO orders VALUES (4, 'd')");
});

afterAll(async () => {
  await db.stop();
  await rm(work, { recursive: true, force: true });
});

test('the manifest names the source without credentials and checksums the dump', async () => {
  const text = await readFile(join(stored, 'dump', id, 'manifest.json'), 'utf8');
  expect(JSON.parse(text)).toMatchObject({
    version: 1,
    kind: 'dump',
    id,
    database: 'cutover',
    host: '127.0.0.1',
    port: db.port,
    files: [{ name: 'db.dump', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown }],
  });
  expect(text).not.toContain(db.password);
});

test('restores into a new database with the rows of the dump', async () => {
  const target = await newDatabase('copy');
  const run = io();
  expect(await runRestoreCommand(['--from', store, '--target-url', target], run.io)).toBe(0);
  expect(run.out.at(-1)).toBe(`restored dump ${id}`);
  expect(await ids(target)).toEqual([1, 2, 3]);
  expect([...run.out, ...run.err].join('\n')).not.toContain(db.password);
});

test('--target-url-env reads the URL from the environment: the password is never in argv', async () => {
  const target = await newDatabase('copy_env');
  const args = ['--from', store, '--target-url-env', 'TARGET_URL'];
  const run = io({ TARGET_URL: target });
  expect(await runRestoreCommand(args, run.io)).toBe(0);
  expect(run.out.at(-1)).toBe(`restored dump ${id}`);
  expect(await ids(target)).toEqual([1, 2, 3]);
  expect([...args, ...run.out, ...run.err].join('\n')).not.toContain(db.password);
});

test('its own source database is refused without --in-place and left alone', async () => {
  const run = io();
  expect(await runRestoreCommand(['--from', store, '--target-url', db.url], run.io)).toBe(2);
  expect(run.err).toEqual([
    `cutover restore: dump ${id} was taken from 127.0.0.1:${db.port}/cutover, the target: pass --in-place to replace its contents`,
  ]);
  // Another spelling of the same server is the same database.
  const localhost = new URL(db.url);
  localhost.hostname = 'localhost';
  expect(await runRestoreCommand(['--from', store, '--target-url', localhost.toString()], io().io)).toBe(2);
  expect(await ids(db.url)).toEqual([1, 2, 3, 4]);
});

test('--in-place puts the source back as it was dumped', async () => {
  const run = io();
  expect(await runRestoreCommand(['--from', store, '--target-url', db.url, '--in-place'], run.io)).toBe(0);
  expect(await ids(db.url)).toEqual([1, 2, 3]);
  await query(db.url, "INSERT INTO orders VALUES (4, 'd')");
});

test('a database that already has the tables: one line, and nothing half restored', async () => {
  const target = await newDatabase('busy');
  await query(target, 'CREATE TABLE audit (id int)');
  await query(target, 'CREATE TABLE orders (id int)');
  const run = io();
  expect(await runRestoreCommand(['--from', store, '--target-url', target], run.io)).toBe(1);
  expect(run.err).toHaveLength(1);
  expect(run.err[0]).toMatch(/^cutover restore: .*relation "orders" already exists/);
  expect(await ids(target)).toEqual([]);
});

test('a corrupted dump is refused naming the object, and the target is untouched', async () => {
  const object = join(stored, 'dump', id, 'db.dump');
  const good = await readFile(object);
  const bad = Buffer.from(good);
  bad[bad.length >> 1] = (bad[bad.length >> 1] ?? 0) ^ 0xff;
  await writeFile(object, bad);
  try {
    const target = await newDatabase('victim');
    const run = io();
    expect(await runRestoreCommand(['--from', store, '--target-url', target], run.io)).toBe(1);
    expect(run.err).toEqual([
      `cutover restore: dump ${id}: db.dump is corrupted (its SHA-256 differs from the manifest); nothing was restored`,
    ]);
    const tables = await query(target, "SELECT 1 FROM pg_tables WHERE schemaname = 'public'");
    expect(tables).toEqual([]);
  } finally {
    await writeFile(object, good);
  }
});

describe('bad input gets one line', () => {
  test('a wrong password: exit 1, no password, no dump left looking complete', async () => {
    const url = new URL(db.url);
    url.password = 'not-the-password';
    const empty = join(work, 'wrong');
    const run = io({ DATABASE_URL: url.toString() });
    expect(await runBackupCommand(['dump', '--to', pathToFileURL(empty).toString()], run.io)).toBe(1);
    expect(run.err).toHaveLength(1);
    expect(run.err[0]).toMatch(/^cutover backup dump: .*password authentication failed/);
    expect(run.err.join('\n')).not.toContain('not-the-password');
    expect(await readdir(join(empty, 'dump')).catch(() => [])).toEqual([]);
  });

  test('a store without a dump, and a named dump that is not there', async () => {
    const empty = pathToFileURL(await mkdtemp(join(work, 'empty-'))).toString();
    const run = io();
    expect(await runRestoreCommand(['--from', empty, '--target-url', db.url], run.io)).toBe(1);
    expect(run.err).toEqual([`cutover restore: no complete dump in ${empty}`]);
    const named = io();
    expect(
      await runRestoreCommand(
        ['--from', store, '--target-url', db.url, '--backup', '20200101T000000Z'],
        named.io,
      ),
    ).toBe(1);
    expect(named.err).toEqual([`cutover restore: no complete dump 20200101T000000Z in ${store}`]);
  });

  test('--target-url without --from is a usage error', async () => {
    const run = io();
    expect(await runRestoreCommand(['--target-url', db.url], run.io)).toBe(2);
    expect(run.err[0]).toBe('cutover restore: --from and --target-url (or --target-url-env) are required');
  });

  test('--target-url-env: with --target-url a usage error; an empty variable one line', async () => {
    const both = io({ TARGET_URL: db.url });
    const args = ['--from', store, '--target-url', db.url, '--target-url-env', 'TARGET_URL'];
    expect(await runRestoreCommand(args, both.io)).toBe(2);
    expect(both.err[0]).toBe('cutover restore: --target-url and --target-url-env are mutually exclusive');
    for (const env of [{}, { TARGET_URL: '' }]) {
      const empty = io(env);
      expect(await runRestoreCommand(['--from', store, '--target-url-env', 'TARGET_URL'], empty.io)).toBe(2);
      expect(empty.err).toEqual([
        'cutover restore: --target-url-env TARGET_URL: the variable is empty or not set',
      ]);
    }
  });

  test('an argument parse error that quotes a URL does not quote its password', async () => {
    const run = io();
    // A stray positional: parseArgs names it in its error.
    expect(await runRestoreCommand(['--from', store, '--target-url-env', 'X', db.url], run.io)).toBe(2);
    expect(run.err[0]).toMatch(/^cutover restore: .*Unexpected argument 'postgres:\/\/\*\*\*@/);
    const dump = io();
    expect(await runBackupCommand(['dump', '--to', store, db.url], dump.io)).toBe(2);
    const full = io();
    expect(await runBackupCommand(['full', db.url, '--to', store], full.io)).toBe(2);
    expect(full.err[0]).toMatch(/^cutover backup: unknown kind/);
    expect([...run.err, ...dump.err, ...full.err].join('\n')).not.toContain(db.password);
  });
});
