import {
  chainOf,
  formatLsn,
  nextSegment,
  parseLsn,
  parseSegment,
  segmentEndLsn,
  segmentOf,
  segmentStartLsn,
  walRun,
  indexWal,
} from './chain.js';
import type { BackupManifest, WalGap, WalSidecar } from './manifest.js';

const full = (id: string, finishedAt: string, endLsn: string): BackupManifest => ({
  version: 1,
  id,
  kind: 'full',
  startedAt: finishedAt,
  finishedAt,
  timeline: 1,
  startLsn: endLsn,
  endLsn,
  size: 1,
  files: [],
});

const seg = (n: number, shippedAt: string, extra: Partial<WalSidecar> = {}): WalSidecar => ({
  version: 1,
  kind: 'wal',
  segment: `0000000100000000${n.toString(16).toUpperCase().padStart(8, '0')}`,
  timeline: 1,
  size: 1,
  sha256: 'a'.repeat(64),
  shippedAt,
  ...extra,
});

const at = (s: number): string => new Date(Date.UTC(2026, 11, 2, 15, 0, s)).toISOString();

describe('segment arithmetic', () => {
  test('LSNs parse and print as PostgreSQL does', () => {
    expect(parseLsn('0/3000148')).toBe(0x3000148n);
    expect(formatLsn(parseLsn('1A/FF000028'))).toBe('1A/FF000028');
    expect(() => parseLsn('3000148')).toThrow('not an LSN');
  });

  test('an LSN lies in the segment named after its 16 MiB block', () => {
    expect(segmentOf(1, '0/3000148')).toBe('000000010000000000000003');
    expect(segmentOf(2, '1A/FF000028')).toBe('000000020000001A000000FF');
    expect(parseSegment('000000020000001A000000FF')).toEqual({ timeline: 2, segNo: 0x1an * 256n + 255n });
  });

  test('the segment after the last of a 4 GiB block starts the next block', () => {
    expect(nextSegment('0000000100000000000000FE')).toBe('0000000100000000000000FF');
    expect(nextSegment('0000000100000000000000FF')).toBe('000000010000000100000000');
    expect(segmentStartLsn('000000010000000100000000')).toBe('1/0');
    expect(segmentEndLsn('0000000100000000000000FF')).toBe('1/0');
    expect(() => parseSegment('00000001.history')).toThrow('not a WAL segment name');
  });
});

describe('the chain', () => {
  const now = new Date(at(30));
  const older = full('20261202T150000Z', at(1), '0/2000100');
  const newer = full('20261202T150010Z', at(11), '0/4000100');

  test('WAL contiguous from the newest full reaches its newest object', () => {
    const wal = [
      seg(2, at(5)),
      seg(3, at(9)),
      seg(4, at(15), { lastCommitAt: at(14) }),
      seg(5, at(20), { partial: true, endLsn: '0/5000200' }),
    ];
    const chain = chainOf([older, newer], wal, [], now);
    expect(chain.fulls.map((f) => f.id)).toEqual([newer.id, older.id]);
    expect(chain.firstRecoverabilityPoint).toBe(at(1));
    expect(chain.lastRecoverabilityPoint).toBe(at(20));
    expect(chain.lastCommitAt).toBe(at(14));
    expect(chain.walBehindSeconds).toBe(10);
    expect(chain.segments).toEqual({ first: seg(2, '').segment, last: seg(4, '').segment, count: 3 });
    expect(chain.broken).toBeUndefined();
  });

  test('a hole between two fulls moves the first recoverability point to the later full', () => {
    const chain = chainOf([older, newer], [seg(2, at(5)), seg(4, at(15))], [], now);
    expect(chain.firstRecoverabilityPoint).toBe(at(11));
    expect(chain.lastRecoverabilityPoint).toBe(at(15));
    expect(chain.broken).toBeUndefined();
  });

  test('WAL stored after a hole marks the chain broken from the hole, with the recorded reason', () => {
    const gap: WalGap = {
      version: 1,
      kind: 'gap',
      timeline: 1,
      from: seg(5, '').segment,
      to: seg(6, '').segment,
      detectedAt: at(25),
    };
    const chain = chainOf([newer], [seg(4, at(15)), seg(7, at(26))], [gap], now);
    expect(chain.lastRecoverabilityPoint).toBe(at(15));
    expect(chain.broken?.from).toBe(seg(5, '').segment);
    expect(chain.broken?.reason).toMatch(
      /000000010000000000000005\.\.000000010000000000000006 was never received/,
    );
    expect(chainOf([newer], [seg(4, at(15)), seg(7, at(26))], [], now).broken?.reason).toBe(
      'WAL segment 000000010000000000000005 is missing from the storage',
    );
  });

  test('a full without WAL is restorable to its own end only', () => {
    const chain = chainOf([newer], [], [], now);
    expect(chain.firstRecoverabilityPoint).toBe(at(11));
    expect(chain.lastRecoverabilityPoint).toBe(at(11));
    expect(chain.walBehindSeconds).toBeUndefined();
    expect(chainOf([], [seg(2, at(5))], [], now)).toEqual({ fulls: [], walBehindSeconds: 25 });
  });

  test("a full's WAL may start after its end segment, which the backup carries whole", () => {
    // A slot created just after the full: the stream starts with the next segment.
    expect(
      walRun(newer, indexWal([seg(5, at(15)), seg(6, at(20), { partial: true })])).segments,
    ).toHaveLength(2);
    // Not when the backup streamed its WAL (pg_wal.tar.gz): that stops at the end LSN.
    const streamed = { ...newer, files: [{ name: 'pg_wal.tar.gz', size: 1, sha256: 'a'.repeat(64) }] };
    expect(walRun(streamed, indexWal([seg(5, at(15))])).segments).toEqual([]);
    // Nor across a real hole.
    expect(walRun(newer, indexWal([seg(6, at(20))])).segments).toEqual([]);
  });

  test('the run after a full prefers complete segments and ends with the open one', () => {
    const index = indexWal([
      seg(4, at(15)),
      seg(4, at(12), { partial: true }),
      seg(5, at(20), { partial: true }),
    ]);
    const run = walRun(newer, index);
    expect(run.segments.map((s) => [s.segment, s.partial ?? false])).toEqual([
      [seg(4, '').segment, false],
      [seg(5, '').segment, true],
    ]);
    expect(run.missing).toBe(seg(6, '').segment);
  });
});
