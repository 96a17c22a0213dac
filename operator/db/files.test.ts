import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checksumOf,
  downFileFor,
  loadMigrationDir,
  loadMigrationSet,
  MigrationSetError,
  missingDownFiles,
  parseMigrationSet,
} from './files.js';

const file = (name: string, sql = 'SELECT 1'): { name: string; sql: string } => ({ name, sql });

describe('parseMigrationSet', () => {
  it('pairs up and down files and sorts by numeric version', () => {
    const set = parseMigrationSet([
      file('010_ten.up.sql'),
      file('002_two.down.sql', 'DROP TABLE two'),
      file('002_two.up.sql', 'CREATE TABLE two ()'),
      file('1_one.up.sql'),
    ]);
    expect(set.map((m) => [m.version, m.name, m.up.name, m.down?.name])).toEqual([
      [1, 'one', '1_one.up.sql', undefined],
      [2, 'two', '002_two.up.sql', '002_two.down.sql'],
      [10, 'ten', '010_ten.up.sql', undefined],
    ]);
    expect(set[1]?.down?.sql).toBe('DROP TABLE two');
  });

  it('accepts an empty set', () => {
    expect(parseMigrationSet([])).toEqual([]);
  });

  it('checksums the up file as sha256 of its UTF-8 bytes', () => {
    const sql = "INSERT INTO t VALUES ('é')\n";
    const [m] = parseMigrationSet([file('001_a.up.sql', sql), file('001_a.down.sql', 'other')]);
    expect(m?.checksum).toBe(createHash('sha256').update(Buffer.from(sql, 'utf8')).digest('hex'));
    expect(m?.checksum).toBe(checksumOf(sql));
    expect(checksumOf(`${sql} `)).not.toBe(checksumOf(sql));
  });

  it.each([
    ['001_add-users.sql', 'not a migration file name'],
    ['add_users.up.sql', 'not a migration file name'],
    ['001add_users.up.sql', 'not a migration file name'],
    ['001_.up.sql', 'not a migration file name'],
    ['001_a b.up.sql', 'not a migration file name'],
    ['001_a.UP.sql', 'not a migration file name'],
    ['001_a.up.sql.bak', 'not a migration file name'],
    ['README.md', 'not a migration file name'],
    ['99999999999999999999_big.up.sql', 'too large'],
  ])('refuses %s, naming it', (name, reason) => {
    expect(() => parseMigrationSet([file(name)])).toThrow(MigrationSetError);
    expect(() => parseMigrationSet([file(name)])).toThrow(`${name}: `);
    expect(() => parseMigrationSet([file(name)])).toThrow(reason);
  });

  it('refuses a down file without an up file, naming the down file', () => {
    expect(() => parseMigrationSet([file('001_a.up.sql'), file('002_b.down.sql')])).toThrow(
      '002_b.down.sql: is a down file without an up file for version 2',
    );
  });

  it('refuses a duplicate version even when the digits differ', () => {
    expect(() => parseMigrationSet([file('001_a.up.sql'), file('1_b.up.sql')])).toThrow(
      '1_b.up.sql: has the same version 1 as 001_a.up.sql',
    );
    expect(() =>
      parseMigrationSet([file('2_a.down.sql'), file('002_a.down.sql'), file('2_a.up.sql')]),
    ).toThrow('002_a.down.sql: has the same version 2 as 2_a.down.sql');
  });

  it('refuses a down file whose name does not match its up file', () => {
    expect(() => parseMigrationSet([file('001_a.up.sql'), file('001_b.down.sql')])).toThrow(
      '001_b.down.sql: does not match the up file of version 1, 001_a.up.sql',
    );
  });

  it('refuses the same file name twice', () => {
    expect(() => parseMigrationSet([file('001_a.up.sql'), file('001_a.up.sql')])).toThrow(
      '001_a.up.sql: appears twice',
    );
  });
});

describe('downFileFor', () => {
  it('keeps the version digits and the name as written', () => {
    expect(downFileFor('001_users.up.sql')).toBe('001_users.down.sql');
    expect(downFileFor('7_up-and-away.up.sql')).toBe('7_up-and-away.down.sql');
  });
});

describe('missingDownFiles', () => {
  it('names the up files without a down file, in version order', () => {
    const set = parseMigrationSet([
      file('010_ten.up.sql'),
      file('002_two.up.sql'),
      file('002_two.down.sql'),
      file('1_one.up.sql'),
    ]);
    // Given out of order, still reported by version.
    expect(missingDownFiles([...set].reverse())).toEqual(['1_one.up.sql', '010_ten.up.sql']);
  });

  it('is empty when every up file has its down file, and for an empty set', () => {
    const set = parseMigrationSet([file('001_a.up.sql'), file('001_a.down.sql')]);
    expect(missingDownFiles(set)).toEqual([]);
    expect(missingDownFiles([])).toEqual([]);
  });
});

describe('loadMigrationDir', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cutover-files-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a ConfigMap volume: keys are symlinks into ..data, dot entries are skipped', async () => {
    // The layout the kubelet writes for a ConfigMap volume.
    const revision = join(dir, '..2024_05_01_10_00_00.123456789');
    await mkdir(revision);
    await writeFile(join(revision, '001_users.up.sql'), 'CREATE TABLE users (id int);\n');
    await writeFile(join(revision, '001_users.down.sql'), 'DROP TABLE users;\n');
    await symlink('..2024_05_01_10_00_00.123456789', join(dir, '..data'));
    await symlink('..data/001_users.up.sql', join(dir, '001_users.up.sql'));
    await symlink('..data/001_users.down.sql', join(dir, '001_users.down.sql'));
    await writeFile(join(dir, '.hidden'), 'not a migration');

    expect(await loadMigrationDir(dir)).toEqual([
      { name: '001_users.down.sql', sql: 'DROP TABLE users;\n' },
      { name: '001_users.up.sql', sql: 'CREATE TABLE users (id int);\n' },
    ]);
    const [m] = await loadMigrationSet(dir);
    expect(m?.checksum).toBe(checksumOf('CREATE TABLE users (id int);\n'));
  });

  it('keeps a byte order mark, so the checksum covers the bytes on disk', async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('SELECT 1')]);
    await writeFile(join(dir, '001_a.up.sql'), bytes);
    const [m] = await loadMigrationSet(dir);
    expect(m?.checksum).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('refuses a file that is not UTF-8, naming it', async () => {
    await writeFile(join(dir, '001_a.up.sql'), Buffer.from([0x53, 0xff, 0xfe]));
    await expect(loadMigrationDir(dir)).rejects.toThrow('001_a.up.sql: is not valid UTF-8');
  });

  it('refuses a subdirectory, naming it', async () => {
    await mkdir(join(dir, 'nested'));
    await expect(loadMigrationDir(dir)).rejects.toThrow('nested: is not a regular file');
  });

  it('refuses a malformed name found on disk', async () => {
    await writeFile(join(dir, '001_a.sql'), 'SELECT 1');
    await expect(loadMigrationSet(dir)).rejects.toThrow('001_a.sql: is not a migration file name');
  });
});
