import { classifyLocal, gapBetween, parseWaldump } from './wal-shipper.js';

describe("pg_receivewal's directory", () => {
  test('finished segments in order, the open one, history files; anything else ignored', () => {
    expect(
      classifyLocal([
        '000000010000000000000004',
        '000000010000000000000005.partial',
        '000000010000000000000003',
        '00000002.history',
        'lost+found',
        '000000010000000000000003.gz.tmp',
      ]),
    ).toEqual({
      complete: ['000000010000000000000003', '000000010000000000000004'],
      partial: '000000010000000000000005',
      history: ['00000002.history'],
    });
    expect(classifyLocal([])).toEqual({ complete: [], history: [] });
  });
});

describe('a gap', () => {
  test('is the segments between the last stored one and the first received, on one timeline', () => {
    expect(gapBetween('000000010000000000000004', '000000010000000000000007')).toEqual({
      from: '000000010000000000000005',
      to: '000000010000000000000006',
    });
  });

  test('is nothing when the stream resumes at or before the next segment, or on a new timeline', () => {
    expect(gapBetween('000000010000000000000004', '000000010000000000000005')).toBeUndefined();
    expect(gapBetween('000000010000000000000004', '000000010000000000000003')).toBeUndefined();
    expect(gapBetween('000000010000000000000004', '000000020000000000000009')).toBeUndefined();
    expect(gapBetween(undefined, '000000010000000000000009')).toBeUndefined();
  });
});

describe("pg_waldump's account of a segment", () => {
  const commit = (lsn: string, at: string): string =>
    `rmgr: Transaction len (rec/tot):     34/    34, tx:        735, lsn: ${lsn}, prev 0/01D8F988, desc: COMMIT ${at} UTC`;

  test('the newest commit time and the end of the valid records', () => {
    const out = [
      commit('0/01D8F000', '2026-12-02 16:18:47.513000'),
      commit('0/01D8F9C0', '2026-12-02 16:18:48.585123'),
    ].join('\n');
    const err =
      'pg_waldump: error: error in WAL record at 0/1D8F9C0: invalid record length at 0/1D8F9F8: wanted 24, got 0\n';
    expect(parseWaldump(out, err)).toEqual({ lastCommitAt: '2026-12-02T16:18:48.585Z', endLsn: '0/1D8F9F8' });
  });

  test('nothing it cannot read', () => {
    expect(parseWaldump('', 'pg_waldump: error: could not open file "x": No such file')).toEqual({});
  });
});
