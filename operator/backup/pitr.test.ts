import { chainOf, indexWal } from './chain.js';
import type { BackupManifest, WalSidecar } from './manifest.js';
import { planRecovery, postgresTime, recoverySettings, wantsPointInTime } from './pitr.js';
import { compareTables, expectedReplayLsn } from './verify.js';

const at = (s: number): string => new Date(Date.UTC(2026, 11, 2, 15, 0, s)).toISOString();

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
  endLsn: `0/${(n + 1).toString(16).toUpperCase()}000000`,
  ...extra,
});

const older = full('20261202T150000Z', at(1), '0/2000100');
const newer = full('20261202T150010Z', at(11), '0/4000100');
const wal = [
  seg(2, at(5), { lastCommitAt: at(4) }),
  seg(3, at(9), { lastCommitAt: at(8) }),
  seg(4, at(15), { lastCommitAt: at(14) }),
  seg(5, at(20), { partial: true, endLsn: '0/5000200', lastCommitAt: at(19) }),
];
const chain = chainOf([older, newer], wal, [], new Date(at(21)));
const index = indexWal(wal);
const plan = (target: Parameters<typeof planRecovery>[2], backup?: string) =>
  planRecovery(chain, index, target, 'file:///b', backup);

describe('choosing what to restore for a target', () => {
  test('a time: the newest full that finished before it, and the WAL after that full', () => {
    const p = plan({ time: at(7) });
    expect(p.full.id).toBe(older.id);
    expect(p.segments.map((s) => s.segment.slice(-2))).toEqual(['02', '03', '04', '05']);
    expect(p.target).toEqual({ recovery_target_time: '2026-12-02 15:00:07.000+00' });
    expect(plan({ time: at(16) }).full.id).toBe(newer.id);
  });

  test('a time after the last commit replays everything, saying so', () => {
    const p = plan({ time: at(20) });
    expect(p.target).toEqual({});
    expect(p.note).toMatch(/nothing was committed between/);
  });

  test('a time outside the recoverable span is refused with both bounds', () => {
    expect(() => plan({ time: at(0) })).toThrow(
      `--to-time ${at(0)} is outside what file:///b can restore: from ${at(1)} to ${at(20)}`,
    );
    expect(() => plan({ time: at(25) })).toThrow(/outside what file:\/\/\/b can restore/);
  });

  test('an LSN: the newest full that ended before it; beyond the stored WAL refused', () => {
    expect(plan({ lsn: '0/3000000' }).full.id).toBe(older.id);
    expect(plan({ lsn: '0/5000100' })).toMatchObject({
      full: { id: newer.id },
      target: { recovery_target_lsn: '0/5000100' },
    });
    expect(() => plan({ lsn: '0/6000000' })).toThrow(
      '--to-lsn 0/6000000 is outside what file:///b can restore: from 0/2000100 to 0/5000200',
    );
  });

  test('--latest and --backup', () => {
    expect(plan({ latest: true })).toMatchObject({ full: { id: newer.id }, target: {} });
    expect(plan({ latest: true }, older.id).segments).toHaveLength(4);
    expect(() => plan({ latest: true }, 'nope')).toThrow('no complete backup nope in file:///b');
    expect(() => planRecovery(chainOf([], [], [], new Date()), index, { latest: true }, 'file:///b')).toThrow(
      'no complete full backup in file:///b',
    );
  });
});

describe('recovery settings', () => {
  test('restore from the directory beside the data, stop at the target, promote', () => {
    const text = recoverySettings({ recovery_target_time: postgresTime(at(7)) });
    // Relative: the server runs it in the data directory, wherever that is mounted.
    expect(text).toContain(`restore_command = 'cp "cutover_wal/%f" "%p"'`);
    expect(text).toContain("recovery_target_time = '2026-12-02 15:00:07.000+00'");
    expect(text).toContain("recovery_target_action = 'promote'");
    expect(text).toContain("recovery_target_timeline = 'latest'");
  });

  test('a point-in-time restore is asked for by its flags', () => {
    expect(wantsPointInTime(['--from', 'x', '--latest'])).toBe(true);
    expect(wantsPointInTime(['--to-time=2026-12-02T15:00:00Z'])).toBe(true);
    expect(wantsPointInTime(['--from', 'x', '--pgdata', 'y'])).toBe(false);
  });
});

describe('the drill', () => {
  test('replay must reach where a partial is valid, or into the last complete segment', () => {
    expect(expectedReplayLsn(newer, wal.slice(2))).toBe('0/5000200');
    expect(expectedReplayLsn(newer, wal.slice(2, 3))).toBe('0/4000000');
    expect(expectedReplayLsn(newer, [])).toBe('0/4000100');
  });

  test('a table of the manifest missing from the restore fails; a new one does not', () => {
    expect(compareTables({ 'public.a': 3, 'public.b': 1 }, { 'public.a': 5, 'public.c': 1 })).toEqual({
      tables: {
        'public.a': { restored: 5, atBackup: 3 },
        'public.b': { atBackup: 1 },
        'public.c': { restored: 1 },
      },
      problems: ["table public.b is in the backup's manifest but not in the restore"],
    });
  });
});
