import { lagSeconds, replicationPlan, unitFromRecord, type Unit } from './replicate-plan.js';

const sha = (c: string) => c.repeat(64);
const now = new Date('2026-12-02T12:00:00.000Z');

function full(id: string, finishedAt: string, base = sha('a')): Unit {
  const record = JSON.stringify({
    version: 1,
    id,
    kind: 'full',
    startedAt: finishedAt,
    finishedAt,
    files: [
      { name: 'backup_manifest', size: 10, sha256: sha('b') },
      { name: 'base.tar.gz', size: 100, sha256: base },
    ],
  });
  return must(unitFromRecord(`full/${id}/manifest.json`, record));
}

function wal(name: string, shippedAt: string, digest = sha('c'), extra: Record<string, unknown> = {}): Unit {
  const kind = name.endsWith('.history') ? 'history' : 'wal';
  const record = JSON.stringify({ version: 1, kind, size: 5, sha256: digest, shippedAt, ...extra });
  return must(unitFromRecord(`wal/${name}.json`, record));
}

function must(u: Unit | undefined): Unit {
  if (!u) throw new Error('not a unit');
  return u;
}

describe('unitFromRecord', () => {
  test('a full: its objects under full/<id>/, sealed when it finished', () => {
    const u = full('20261202T100000Z', '2026-12-02T10:05:00.000Z');
    expect(u).toMatchObject({ kind: 'full', key: 'full/20261202T100000Z', partial: false });
    expect(u.sealedAt).toBe('2026-12-02T10:05:00.000Z');
    expect(u.objects.map((o) => o.key)).toEqual([
      'full/20261202T100000Z/backup_manifest',
      'full/20261202T100000Z/base.tar.gz',
    ]);
  });

  test('a WAL segment, the open partial and a timeline history', () => {
    expect(wal('000000010000000000000003', '2026-12-02T11:00:00Z').objects).toEqual([
      { key: 'wal/000000010000000000000003.gz', size: 5, sha256: sha('c') },
    ]);
    expect(
      wal('000000010000000000000004.partial', '2026-12-02T11:00:00Z', sha('d'), { partial: true }),
    ).toMatchObject({ kind: 'wal', key: 'wal/000000010000000000000004.partial', partial: true });
    expect(wal('00000002.history', '2026-12-02T11:00:00Z').kind).toBe('history');
  });

  test('a dump is a unit like a full', () => {
    const record = JSON.stringify({
      version: 1,
      kind: 'dump',
      id: 'd1',
      finishedAt: '2026-12-02T10:00:00Z',
      files: [{ name: 'db.dump', size: 3, sha256: sha('e') }],
    });
    expect(unitFromRecord('dump/d1/manifest.json', record)?.objects).toEqual([
      { key: 'dump/d1/db.dump', size: 3, sha256: sha('e') },
    ]);
  });

  test('anything else is not a unit: foreign files, a kind that does not match its place, bad checksums', () => {
    const sidecar = { version: 1, kind: 'wal', size: 1, sha256: sha('c'), shippedAt: '2026-12-02T10:00:00Z' };
    expect(unitFromRecord('wal/README.json', JSON.stringify(sidecar))).toBeUndefined();
    expect(unitFromRecord('wal/000000010000000000000003.json', 'not json')).toBeUndefined();
    expect(
      unitFromRecord('wal/000000010000000000000003.json', JSON.stringify({ ...sidecar, sha256: 'abc' })),
    ).toBeUndefined();
    expect(
      unitFromRecord('wal/00000002.history.json', JSON.stringify({ ...sidecar, kind: 'wal' })),
    ).toBeUndefined();
    const m = { version: 1, kind: 'full', id: 'x', finishedAt: '2026-12-02T10:00:00Z', files: [] };
    expect(unitFromRecord('dump/x/manifest.json', JSON.stringify(m))).toBeUndefined();
    expect(unitFromRecord('full/y/manifest.json', JSON.stringify(m))).toBeUndefined();
    const escaping = { ...m, files: [{ name: '../z', size: 1, sha256: sha('a') }] };
    expect(unitFromRecord('full/x/manifest.json', JSON.stringify(escaping))).toBeUndefined();
    expect(unitFromRecord('full/x/manifest.json', JSON.stringify(m))).toBeDefined();
  });
});

describe('replicationPlan', () => {
  const f1 = full('20261201T000000Z', '2026-12-01T00:10:00.000Z');
  const s3 = wal('000000010000000000000003', '2026-12-02T11:59:50.000Z');
  const s4 = wal('000000010000000000000004', '2026-12-02T11:59:55.000Z');

  test('an empty replica gets everything, oldest first; the lag is the age of the oldest', () => {
    const plan = replicationPlan([s4, s3, f1], [], now);
    expect(plan.copy.map((u) => u.key)).toEqual([f1.key, s3.key, s4.key]);
    expect(plan.lagSeconds).toBe(129_000);
  });

  test('a replica holding the same units is in sync: nothing to copy, lag 0', () => {
    expect(replicationPlan([f1, s3, s4], [s4, f1, s3], now)).toEqual({ copy: [], lagSeconds: 0 });
  });

  test('only what is missing is copied, and the lag counts only that', () => {
    const plan = replicationPlan([f1, s3, s4], [f1, s3], now);
    expect(plan.copy).toEqual([s4]);
    expect(plan.lagSeconds).toBe(5);
  });

  test('a partial re-shipped with new content is copied again', () => {
    const old = wal('000000010000000000000005.partial', '2026-12-02T11:59:40.000Z', sha('1'));
    const fresh = wal('000000010000000000000005.partial', '2026-12-02T11:59:58.000Z', sha('2'));
    const plan = replicationPlan([f1, fresh], [f1, old], now);
    expect(plan.copy).toEqual([fresh]);
    expect(plan.lagSeconds).toBe(2);
  });

  test('a full whose objects differ at the replica is copied again', () => {
    const other = full('20261201T000000Z', '2026-12-01T00:10:00.000Z', sha('9'));
    expect(replicationPlan([f1], [other], now).copy).toEqual([f1]);
  });

  test('what only the replica holds (pruned at the primary, a stale partial) is left alone', () => {
    const stale = wal('000000010000000000000003.partial', '2026-12-02T11:00:00.000Z');
    expect(replicationPlan([s3], [s3, f1, stale], now)).toEqual({ copy: [], lagSeconds: 0 });
  });
});

describe('lagSeconds', () => {
  test('never negative: a clock a little behind the writer reads 0', () => {
    expect(lagSeconds([wal('000000010000000000000003', '2026-12-02T12:00:03.000Z')], now)).toBe(0);
  });

  test('tenths of a second', () => {
    expect(lagSeconds([wal('000000010000000000000003', '2026-12-02T11:59:58.760Z')], now)).toBe(1.2);
  });
});
