import type { DumpManifest } from './dump-manifest.js';
import { backupId, type BackupManifest } from './manifest.js';
import {
  DEFAULT_RETENTION,
  describeDecision,
  planRetention,
  segmentName,
  segnoOf,
  timeOfId,
  type Decision,
  type RetentionInput,
} from './retention.js';

// A fixed suffix: the tests name the same backup by its start time more than once.
const idOf = (at: Date): string => backupId(at, 'a1b2');

const DAY = 86_400_000;
const HOUR = 3_600_000;
const day0 = Date.parse('2026-01-01T02:00:00Z');
const at = (days: number) => new Date(day0 + days * DAY);

/** An LSN in segment `segno` (16 MiB segments). */
function lsnIn(segno: number): string {
  const hi = Math.floor(segno / 256);
  const lo = (segno % 256) * 2 ** 24 + 0x28;
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}

function seg(segno: number, timeline = 1): string {
  return segmentName(timeline, lsnIn(segno));
}

/** A full started at `start`, its WAL in segments startSeg..endSeg. */
function full(start: Date, startSeg: number, endSeg = startSeg): BackupManifest {
  return {
    version: 1,
    id: idOf(start),
    kind: 'full',
    startedAt: start.toISOString(),
    finishedAt: new Date(start.getTime() + 10 * 60_000).toISOString(),
    timeline: 1,
    startLsn: lsnIn(startSeg),
    endLsn: lsnIn(endSeg),
    size: 1,
    files: [],
  };
}

function dump(start: Date): DumpManifest {
  return {
    version: 1,
    kind: 'dump',
    id: idOf(start),
    startedAt: start.toISOString(),
    finishedAt: new Date(start.getTime() + 60_000).toISOString(),
    database: 'shop',
    host: 'db',
    port: 5432,
    size: 1,
    files: [],
  };
}

/** Sealed segments first..last, each as object and sidecar. */
function walKeys(first: number, last: number): string[] {
  const keys: string[] = [];
  for (let s = first; s <= last; s += 1) keys.push(`wal/${seg(s)}.gz`, `wal/${seg(s)}.json`);
  return keys;
}

function input(parts: Partial<RetentionInput>): RetentionInput {
  return {
    fulls: [],
    incompleteFulls: [],
    walKeys: [],
    dumps: [],
    incompleteDumps: [],
    unreadable: [],
    ...parts,
  };
}

const units = (ds: Decision[], kind: Decision['kind'], action: Decision['action']) =>
  ds.filter((d) => d.kind === kind && d.action === action).map((d) => d.unit);
const decision = (ds: Decision[], unit: string) => ds.find((d) => d.unit === unit);

describe('40 simulated days of daily fulls and continuous WAL', () => {
  // Day d's full starts at 02:00 in segment 4d+2; WAL runs from segment 0 to
  // the open segment 163. Now is day 40 at 02:00, before its full.
  const fulls = Array.from({ length: 40 }, (_, d) => full(at(d), 4 * d + 2));
  const keys = [...walKeys(0, 162), `wal/${seg(163)}.partial.gz`, `wal/${seg(163)}.partial.json`];
  const plan = planRetention(input({ fulls, walKeys: keys }), DEFAULT_RETENTION, at(40));

  test('keeps the fulls of the last 30 days and deletes the older ones', () => {
    expect(units(plan, 'full', 'keep')).toEqual(
      Array.from({ length: 30 }, (_, i) => `full/${idOf(at(39 - i))}`),
    );
    expect(units(plan, 'full', 'delete')).toEqual(
      Array.from({ length: 10 }, (_, i) => `full/${idOf(at(9 - i))}`),
    );
  });

  test('a deleted full loses its manifest first, then its objects', () => {
    const id = idOf(at(0));
    expect(decision(plan, `full/${id}`)).toMatchObject({
      action: 'delete',
      reason: '40d old, past retention.full 30d; 3 newer complete fulls stay',
      steps: [
        { op: 'delete', key: `full/${id}/manifest.json` },
        { op: 'remove', prefix: `full/${id}` },
      ],
    });
  });

  test('keeps WAL from the start of the full point-in-time restore 7 days back starts from', () => {
    // Cut-off day 33 02:00: day 33's full finished after it, day 32's before.
    const horizon = 4 * 32 + 2;
    const kept = new Set(units(plan, 'wal', 'keep'));
    for (let s = horizon; s <= 162; s += 1) expect(kept).toContain(`wal/${seg(s)}`);
    expect(decision(plan, `wal/${seg(horizon)}`)?.reason).toBe(
      `at or after the start of full ${idOf(at(32))} (${lsnIn(horizon)})`,
    );
    expect(decision(plan, `wal/${seg(horizon - 1)}`)).toMatchObject({
      action: 'delete',
      steps: [
        { op: 'delete', key: `wal/${seg(horizon - 1)}.json` },
        { op: 'delete', key: `wal/${seg(horizon - 1)}.gz` },
      ],
    });
  });

  test('keeps the WAL range of every kept full, even before that point', () => {
    expect(decision(plan, `wal/${seg(4 * 10 + 2)}`)).toMatchObject({
      action: 'keep',
      reason: `inside the WAL range of kept full ${idOf(at(10))}`,
    });
    expect(decision(plan, `wal/${seg(4 * 10 + 3)}`)?.action).toBe('delete');
    expect(decision(plan, `wal/${seg(4 * 9 + 2)}`)?.action).toBe('delete');
  });

  test('deletes exactly the WAL no kept full and no restore point within 7 days needs', () => {
    const expected: string[] = [];
    for (let s = 0; s < 130; s += 1) if (!(s >= 42 && (s - 2) % 4 === 0)) expected.push(`wal/${seg(s)}`);
    expect(units(plan, 'wal', 'delete')).toEqual(expected);
  });

  test('keeps the open partial segment', () => {
    expect(decision(plan, `wal/${seg(163)}.partial`)).toMatchObject({ action: 'keep' });
  });

  test('every decision has one log line with its reason', () => {
    expect(plan).toHaveLength(40 + 164);
    expect(describeDecision(plan[0] as Decision)).toBe(
      `keep full/${idOf(at(39))}: one of the 3 newest complete fulls (keepAtLeast)`,
    );
  });
});

describe('keepAtLeast', () => {
  const old = [0, 1, 2, 3, 4].map((d) => full(at(d), 4 * d + 2));
  const now = at(100);

  test('holds when every backup is older than retention.full', () => {
    const plan = planRetention(input({ fulls: old }), DEFAULT_RETENTION, now);
    expect(units(plan, 'full', 'keep')).toEqual([4, 3, 2].map((d) => `full/${idOf(at(d))}`));
    expect(units(plan, 'full', 'delete')).toEqual([1, 0].map((d) => `full/${idOf(at(d))}`));
  });

  test('WAL before the oldest kept full goes; its range and everything after it stay', () => {
    const plan = planRetention(input({ fulls: old, walKeys: walKeys(0, 20) }), DEFAULT_RETENTION, now);
    // The newest full finished long before the cut-off: restore points start there.
    expect(units(plan, 'wal', 'keep')).toEqual([10, 14, 18, 19, 20].map((s) => `wal/${seg(s)}`));
  });

  test('zero still keeps the newest complete full: the only restorable chain never goes', () => {
    const plan = planRetention(input({ fulls: old }), { ...DEFAULT_RETENTION, keepAtLeast: 0 }, now);
    expect(units(plan, 'full', 'keep')).toEqual([`full/${idOf(at(4))}`]);
  });

  test('a single full, however old, stays with the WAL after it', () => {
    const only = [full(at(0), 5)];
    const plan = planRetention(
      input({ fulls: only, walKeys: walKeys(0, 8) }),
      { ...DEFAULT_RETENTION, keepAtLeast: 1 },
      now,
    );
    expect(units(plan, 'full', 'keep')).toEqual([`full/${only[0]?.id ?? ''}`]);
    expect(units(plan, 'wal', 'keep')).toEqual([5, 6, 7, 8].map((s) => `wal/${seg(s)}`));
  });
});

describe('a failed newest backup', () => {
  const good = [0, 1, 2].map((d) => full(at(d), 4 * d + 2));

  test('never removes the last good ones: a full without a manifest does not count', () => {
    const failed = [40, 41, 42].map((d) => idOf(at(d)));
    const plan = planRetention(input({ fulls: good, incompleteFulls: failed }), DEFAULT_RETENTION, at(45));
    expect(units(plan, 'full', 'keep')).toEqual([2, 1, 0].map((d) => `full/${idOf(at(d))}`));
  });

  test("is deleted once older than a day (a failure's leftovers), its objects in one removal", () => {
    const id = idOf(at(40));
    const plan = planRetention(input({ fulls: good, incompleteFulls: [id] }), DEFAULT_RETENTION, at(41.5));
    expect(decision(plan, `full/${id}`)).toMatchObject({
      action: 'delete',
      steps: [{ op: 'remove', prefix: `full/${id}` }],
    });
  });

  test('is kept while it may still be running', () => {
    const id = idOf(at(40));
    const plan = planRetention(
      input({ fulls: good, incompleteFulls: [id] }),
      DEFAULT_RETENTION,
      new Date(at(40).getTime() + 3 * HOUR),
    );
    expect(decision(plan, `full/${id}`)).toMatchObject({
      action: 'keep',
      reason: 'no manifest, 3h old: may still be running',
    });
  });

  test('a name that is not a backup id is left alone', () => {
    const plan = planRetention(
      input({ fulls: good, incompleteFulls: ['lost+found'] }),
      DEFAULT_RETENTION,
      at(41),
    );
    expect(decision(plan, 'full/lost+found')?.action).toBe('keep');
  });

  test('a manifest that is not understood leaves its backup alone', () => {
    const plan = planRetention(input({ unreadable: ['full/20250101T000000Z'] }), DEFAULT_RETENTION, at(41));
    expect(decision(plan, 'full/20250101T000000Z')?.action).toBe('keep');
  });
});

describe('WAL', () => {
  const fulls = [full(at(0), 10, 11), full(at(20), 20, 21)];
  const now = at(30);

  test('is all kept while there is no complete full to restore it onto', () => {
    const plan = planRetention(input({ walKeys: walKeys(0, 5) }), DEFAULT_RETENTION, now);
    expect(units(plan, 'wal', 'delete')).toEqual([]);
    expect(units(plan, 'wal', 'keep')).toHaveLength(6);
  });

  test('before the oldest needed full is deleted, after it kept', () => {
    const plan = planRetention(input({ fulls, walKeys: walKeys(0, 25) }), DEFAULT_RETENTION, now);
    const deleted = units(plan, 'wal', 'delete');
    expect(deleted).toEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 18, 19].map((s) => `wal/${seg(s)}`),
    );
    expect(decision(plan, `wal/${seg(19)}`)?.reason).toBe(
      `before the start of full ${fulls[1]?.id ?? ''} (${lsnIn(20)}), the oldest full point-in-time restore within retention.incremental 7d needs`,
    );
  });

  test('reaches back to the full finished before the cut-off when a newer one is within it', () => {
    const recent = [...fulls, full(at(27), 30)];
    const plan = planRetention(input({ fulls: recent, walKeys: walKeys(18, 32) }), DEFAULT_RETENTION, now);
    expect(units(plan, 'wal', 'delete')).toEqual([18, 19].map((s) => `wal/${seg(s)}`));
  });

  test('a half-shipped or half-deleted segment goes with only the objects that exist', () => {
    const keys = [`wal/${seg(3)}.gz`, `wal/${seg(4)}.json`, ...walKeys(20, 21)];
    const plan = planRetention(input({ fulls, walKeys: keys }), DEFAULT_RETENTION, now);
    expect(decision(plan, `wal/${seg(3)}`)?.steps).toEqual([{ op: 'delete', key: `wal/${seg(3)}.gz` }]);
    expect(decision(plan, `wal/${seg(4)}`)?.steps).toEqual([{ op: 'delete', key: `wal/${seg(4)}.json` }]);
  });

  test('an old partial is deleted once its complete segment exists; the newest partial never is', () => {
    const partial = (s: number) => [`wal/${seg(s)}.partial.gz`, `wal/${seg(s)}.partial.json`];
    const keys = [...walKeys(20, 24), ...partial(23), ...partial(25)];
    const plan = planRetention(input({ fulls, walKeys: keys }), DEFAULT_RETENTION, now);
    expect(decision(plan, `wal/${seg(23)}.partial`)).toMatchObject({
      action: 'delete',
      reason: 'superseded by its complete segment',
      steps: [
        { op: 'delete', key: `wal/${seg(23)}.partial.json` },
        { op: 'delete', key: `wal/${seg(23)}.partial.gz` },
      ],
    });
    expect(decision(plan, `wal/${seg(25)}.partial`)?.action).toBe('keep');
    // Even a newest partial before every full (a stalled stream) stays.
    const stalled = planRetention(input({ fulls, walKeys: partial(2) }), DEFAULT_RETENTION, now);
    expect(decision(stalled, `wal/${seg(2)}.partial`)?.action).toBe('keep');
  });

  test('timeline history and foreign names are kept', () => {
    const keys = ['wal/00000002.history.gz', 'wal/00000002.history.json', 'wal/README', ...walKeys(0, 0)];
    const plan = planRetention(input({ fulls, walKeys: keys }), DEFAULT_RETENTION, now);
    expect(units(plan, 'wal', 'keep')).toEqual(['wal/00000002.history', 'wal/README']);
    expect(units(plan, 'wal', 'delete')).toEqual([`wal/${seg(0)}`]);
  });

  test('a segment of a later timeline is placed by its position, not its timeline', () => {
    const keys = [
      `wal/${seg(5, 2)}.gz`,
      `wal/${seg(5, 2)}.json`,
      `wal/${seg(22, 2)}.gz`,
      `wal/${seg(22, 2)}.json`,
    ];
    const plan = planRetention(input({ fulls, walKeys: keys }), DEFAULT_RETENTION, now);
    expect(units(plan, 'wal', 'delete')).toEqual([`wal/${seg(5, 2)}`]);
    expect(units(plan, 'wal', 'keep')).toEqual([`wal/${seg(22, 2)}`]);
  });
});

describe('dumps', () => {
  test('follow retention.full and keepAtLeast on their own', () => {
    const dumps = Array.from({ length: 40 }, (_, d) => dump(at(d)));
    const fulls = [full(at(0), 2)];
    const plan = planRetention(input({ fulls, dumps }), DEFAULT_RETENTION, at(40));
    expect(units(plan, 'dump', 'keep')).toHaveLength(30);
    expect(units(plan, 'dump', 'delete')).toEqual(
      Array.from({ length: 10 }, (_, i) => `dump/${idOf(at(9 - i))}`),
    );
    // The one old full stays: dumps do not count towards its keepAtLeast.
    expect(units(plan, 'full', 'keep')).toEqual([`full/${idOf(at(0))}`]);
    expect(decision(plan, `dump/${idOf(at(0))}`)?.steps).toEqual([
      { op: 'delete', key: `dump/${idOf(at(0))}/manifest.json` },
      { op: 'remove', prefix: `dump/${idOf(at(0))}` },
    ]);
  });

  test('keepAtLeast holds for old dumps; a dump without a manifest is a failed one', () => {
    const dumps = [0, 1, 2, 3].map((d) => dump(at(d)));
    const failed = idOf(at(98));
    const plan = planRetention(input({ dumps, incompleteDumps: [failed] }), DEFAULT_RETENTION, at(100));
    expect(units(plan, 'dump', 'keep')).toEqual([3, 2, 1].map((d) => `dump/${idOf(at(d))}`));
    expect(decision(plan, `dump/${failed}`)?.action).toBe('delete');
  });
});

describe('WAL positions', () => {
  test('segment names as PostgreSQL writes them', () => {
    expect(segmentName(1, '0/3000028')).toBe('000000010000000000000003');
    expect(segmentName(2, '1/A0000000')).toBe('0000000200000001000000A0');
    expect(segnoOf('1/FF000000')).toBe(511);
    expect(() => segnoOf('nonsense')).toThrow('nonsense: not an LSN');
  });

  test('backup ids are times, in the format of today and of before', () => {
    expect(timeOfId('20261202T152630.123Z-3f9a')?.toISOString()).toBe('2026-12-02T15:26:30.123Z');
    expect(timeOfId('20261202T152630Z')?.toISOString()).toBe('2026-12-02T15:26:30.000Z');
    expect(timeOfId('20261302T152630Z')).toBeUndefined();
    expect(timeOfId('20260230T152630.000Z-3f9a')).toBeUndefined();
    expect(timeOfId('20261202T152630.123Z-')).toBeUndefined();
    expect(timeOfId('x')).toBeUndefined();
  });

  test('old and new ids mix: the newest by time stay, and an old failed one still ages out', () => {
    const old = (days: number) => ({
      ...full(at(days), days),
      id: idOf(at(days)).replace(/\.\d{3}Z-.*$/, 'Z'),
    });
    // An old-format id of the same second as a new one sorts before it: it is 0.5 s older.
    const sameSecond = {
      ...full(new Date(at(3).getTime() + 500), 3),
      id: backupId(new Date(at(3).getTime() + 500), 'ffff'),
    };
    const plan = planRetention(
      input({ fulls: [old(1), old(3), sameSecond, full(at(2), 2)], incompleteFulls: ['20260101T020000Z'] }),
      { ...DEFAULT_RETENTION, keepAtLeast: 2, fullMs: DAY },
      at(5),
    );
    expect(units(plan, 'full', 'keep')).toEqual([`full/${sameSecond.id}`, 'full/20260104T020000Z']);
    expect(units(plan, 'full', 'delete')).toEqual([
      `full/${idOf(at(2))}`,
      'full/20260102T020000Z',
      'full/20260101T020000Z',
    ]);
  });
});
