import { addressOf, parseDumpManifest, sameDatabase, type DumpManifest } from './dump-manifest.js';

const manifest: DumpManifest = {
  version: 1,
  kind: 'dump',
  id: '20261202T152630Z',
  startedAt: '2026-12-02T15:26:30.000Z',
  finishedAt: '2026-12-02T15:27:00.000Z',
  database: 'shop',
  host: 'db.prod',
  port: 5432,
  size: 10,
  files: [{ name: 'db.dump', size: 10, sha256: 'ab' }],
};

describe('addressOf', () => {
  test('host, port and database, never the credentials', () => {
    const a = addressOf('postgres://app:s3cret@db.prod:6432/shop?sslmode=require');
    expect(a).toEqual({ host: 'db.prod', port: 6432, database: 'shop' });
    expect(JSON.stringify(a)).not.toContain('s3cret');
  });

  test("libpq's defaults: port 5432, the database named after the user", () => {
    expect(addressOf('postgres://app:pw@db/')).toEqual({ host: 'db', port: 5432, database: 'app' });
  });
});

describe('sameDatabase', () => {
  const at = (host: string, port = 5432, database = 'shop') => ({ host, port, database });

  test('the loopback spellings are one host', () => {
    expect(sameDatabase(at('localhost'), at('127.0.0.1'))).toBe(true);
    expect(sameDatabase(at('[::1]'), at('LOCALHOST'))).toBe(true);
  });

  test('another port, database or host is another database', () => {
    expect(sameDatabase(at('db'), at('db', 5433))).toBe(false);
    expect(sameDatabase(at('db'), at('db', 5432, 'shop_copy'))).toBe(false);
    expect(sameDatabase(at('db'), at('db2'))).toBe(false);
  });
});

describe('parseDumpManifest', () => {
  test('reads what takeDump writes', () => {
    expect(parseDumpManifest(JSON.stringify(manifest))).toEqual(manifest);
  });

  test('refuses a full manifest, a newer version, a missing source and non-JSON', () => {
    expect(parseDumpManifest(JSON.stringify({ ...manifest, kind: 'full' }))).toBeUndefined();
    expect(parseDumpManifest(JSON.stringify({ ...manifest, version: 2 }))).toBeUndefined();
    const { host: _host, ...noHost } = manifest;
    expect(parseDumpManifest(JSON.stringify(noHost))).toBeUndefined();
    expect(parseDumpManifest('{')).toBeUndefined();
  });
});
