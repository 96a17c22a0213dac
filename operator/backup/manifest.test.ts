import {
  backupId,
  chooseBackup,
  compareIds,
  parseManifest,
  parseWalGap,
  parseWalSidecar,
  walKeys,
  walRangeOf,
  type BackupManifest,
} from './manifest.js';

const manifest = (id: string): BackupManifest => ({
  version: 1,
  id,
  kind: 'full',
  startedAt: '2026-12-02T15:00:00.000Z',
  finishedAt: '2026-12-02T15:00:03.000Z',
  timeline: 1,
  startLsn: '0/2000028',
  endLsn: '0/2000138',
  size: 3,
  files: [{ name: 'base.tar.gz', size: 3, sha256: 'a'.repeat(64) }],
});

describe('backup manifests', () => {
  test('ids are the start time to the millisecond and a random suffix', () => {
    expect(backupId(new Date('2026-12-02T15:26:30.123Z'), '3f9a')).toBe('20261202T152630.123Z-3f9a');
    expect(backupId(new Date('2026-12-02T15:26:30.123Z'))).toMatch(/^20261202T152630\.123Z-[0-9a-f]{4}$/);
  });

  test('ids of backups started in the same millisecond differ', () => {
    const at = new Date('2026-12-02T15:26:30.123Z');
    const ids = new Set(Array.from({ length: 20 }, () => backupId(at)));
    // 16 random bits: 20 draws collide with a chance of about 0.3 %, so allow one.
    expect(ids.size).toBeGreaterThanOrEqual(19);
  });

  test('ids sort by time, whichever format, to the millisecond', () => {
    const ids = [
      backupId(new Date('2026-12-02T10:00:00.001Z'), '0000'),
      '20261202T100000Z',
      backupId(new Date('2026-12-02T09:59:59.999Z'), 'ffff'),
      '20261201T100000Z',
      backupId(new Date('2026-12-02T10:00:00.000Z'), '0001'),
    ];
    expect([...ids].sort(compareIds)).toEqual([
      '20261201T100000Z',
      '20261202T095959.999Z-ffff',
      '20261202T100000.000Z-0001',
      '20261202T100000Z',
      '20261202T100000.001Z-0000',
    ]);
  });

  test("the WAL range comes from PostgreSQL's backup_manifest", () => {
    const pg = JSON.stringify({
      'PostgreSQL-Backup-Manifest-Version': 1,
      Files: [],
      'WAL-Ranges': [{ Timeline: 1, 'Start-LSN': '0/2000028', 'End-LSN': '0/2000138' }],
    });
    expect(walRangeOf(pg)).toEqual({ timeline: 1, startLsn: '0/2000028', endLsn: '0/2000138' });
    expect(() => walRangeOf('{}')).toThrow('backup_manifest has no WAL range');
  });

  test('only our own manifests parse', () => {
    expect(parseManifest(JSON.stringify(manifest('20261202T150000Z')))).toMatchObject({
      id: '20261202T150000Z',
    });
    expect(parseManifest('not json')).toBeUndefined();
    expect(parseManifest(JSON.stringify({ ...manifest('x'), version: 2 }))).toBeUndefined();
    expect(parseManifest(JSON.stringify({ ...manifest('x'), files: [{ name: 'a' }] }))).toBeUndefined();
  });

  test('the newest backup is chosen unless one is named', () => {
    const all = [manifest('20261201T020000Z'), manifest('20261202T020000Z'), manifest('20261130T020000Z')];
    expect(chooseBackup(all)?.id).toBe('20261202T020000Z');
    expect(chooseBackup(all, '20261130T020000Z')?.id).toBe('20261130T020000Z');
    expect(chooseBackup(all, 'nope')).toBeUndefined();
    expect(chooseBackup([])).toBeUndefined();
  });

  test('the newest is chosen by time when old and new ids mix', () => {
    const all = [
      manifest('20261202T020000Z'),
      manifest('20261202T020000.400Z-0a0a'),
      manifest('20261202T015959.900Z-ffff'),
    ];
    expect(chooseBackup(all)?.id).toBe('20261202T020000.400Z-0a0a');
  });
});

describe('WAL sidecars', () => {
  const sidecar = {
    version: 1,
    kind: 'wal',
    segment: '000000010000000000000003',
    timeline: 1,
    size: 1234,
    sha256: 'b'.repeat(64),
    shippedAt: '2026-12-02T15:00:05.000Z',
  };

  test('a complete segment, a partial and a history file parse', () => {
    expect(parseWalSidecar(JSON.stringify(sidecar))).toEqual(sidecar);
    const partial = { ...sidecar, partial: true, endLsn: '0/3000148' };
    expect(parseWalSidecar(JSON.stringify(partial))).toEqual(partial);
    const history = { ...sidecar, kind: 'history', segment: '00000002', timeline: 2 };
    expect(parseWalSidecar(JSON.stringify(history))).toEqual(history);
  });

  test('anything else does not', () => {
    expect(parseWalSidecar('{')).toBeUndefined();
    expect(parseWalSidecar(JSON.stringify({ ...sidecar, segment: '0003' }))).toBeUndefined();
    expect(parseWalSidecar(JSON.stringify({ ...sidecar, sha256: 'x' }))).toBeUndefined();
    expect(parseWalSidecar(JSON.stringify({ ...sidecar, shippedAt: 'yesterday' }))).toBeUndefined();
    expect(parseWalSidecar(JSON.stringify({ ...sidecar, version: 2 }))).toBeUndefined();
  });

  test('gap records and keys', () => {
    const gap = {
      version: 1,
      kind: 'gap',
      timeline: 1,
      from: '000000010000000000000004',
      to: '000000010000000000000006',
      detectedAt: '2026-12-02T15:00:05.000Z',
    };
    expect(parseWalGap(JSON.stringify(gap))).toEqual(gap);
    expect(parseWalGap(JSON.stringify({ ...gap, from: 'x' }))).toBeUndefined();
    expect(walKeys('000000010000000000000003')).toEqual({
      object: 'wal/000000010000000000000003.gz',
      sidecar: 'wal/000000010000000000000003.json',
    });
    expect(walKeys('000000010000000000000003', true).sidecar).toBe(
      'wal/000000010000000000000003.partial.json',
    );
  });
});
