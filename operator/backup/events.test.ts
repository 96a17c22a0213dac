import type { BackupPolicyStatus, Condition } from '../api/generated/index.js';
import { backupPolicyEvents, newestRestore } from './events.js';

const full = (job: string, phase: 'Running' | 'Succeeded' | 'Failed', over = {}) => ({
  id: `20261203T020000Z-${job}`,
  kind: 'Full' as const,
  phase,
  job,
  ...over,
});

const verified = (status: 'True' | 'False', reason: string, message: string): Condition => ({
  type: 'Verified',
  status,
  reason,
  message,
  lastTransitionTime: '2026-12-03T04:00:00Z',
});

describe('backup outcomes', () => {
  test('a backup Job that finished is said once, with its id and size', () => {
    const before: BackupPolicyStatus = { backups: [full('full-1', 'Running')] };
    const after: BackupPolicyStatus = { backups: [full('full-1', 'Succeeded', { size: '1.2Gi' })] };
    expect(backupPolicyEvents(before, after)).toEqual([
      {
        type: 'Normal',
        reason: 'BackupSucceeded',
        message: 'Full backup 20261203T020000Z-full-1 (1.2Gi) taken by Job full-1',
        details: { kind: 'Full', job: 'full-1', id: '20261203T020000Z-full-1', size: '1.2Gi' },
      },
    ]);
    expect(backupPolicyEvents(after, after)).toEqual([]);
  });

  test('a failed one is a Warning with the reason; several are said oldest first', () => {
    const after: BackupPolicyStatus = {
      backups: [full('full-2', 'Failed', { message: 'storage unreachable' }), full('full-1', 'Succeeded')],
    };
    const events = backupPolicyEvents({}, after);
    expect(events.map((e) => e.reason)).toEqual(['BackupSucceeded', 'BackupFailed']);
    expect(events[1]).toMatchObject({
      type: 'Warning',
      message: 'Full backup Job full-2 failed: storage unreachable',
      details: { kind: 'Full', job: 'full-2' },
    });
  });

  test('a running Job and a backup found only in storage are not news', () => {
    const after: BackupPolicyStatus = {
      backups: [full('full-3', 'Running'), { id: 'found-in-s3', kind: 'Full', phase: 'Succeeded' }],
    };
    expect(backupPolicyEvents({}, after)).toEqual([]);
  });
});

describe('restore drills', () => {
  test('a new verdict is said; the same one again is not', () => {
    const ok = verified(
      'True',
      'RestoreDrillSucceeded',
      'the restore drill of Job verify-1 restored backup b1',
    );
    expect(backupPolicyEvents({}, { conditions: [ok] })).toEqual([
      { type: 'Normal', reason: 'RestoreDrillSucceeded', message: ok.message },
    ]);
    expect(backupPolicyEvents({ conditions: [ok] }, { conditions: [ok] })).toEqual([]);
    const next = verified(
      'True',
      'RestoreDrillSucceeded',
      'the restore drill of Job verify-2 restored backup b2',
    );
    expect(backupPolicyEvents({ conditions: [ok] }, { conditions: [next] })).toHaveLength(1);
    const bad = verified('False', 'RestoreDrillFailed', 'Job verify-3: no tables');
    expect(backupPolicyEvents({ conditions: [next] }, { conditions: [bad] })).toEqual([
      { type: 'Warning', reason: 'RestoreDrillFailed', message: 'Job verify-3: no tables' },
    ]);
  });
});

describe('restores', () => {
  test('the newest restore Job is followed: started, then its outcome, each once', () => {
    const running = newestRestore([
      { name: 'restore-old', state: 'Succeeded', createdAt: '2026-12-01T00:00:00Z' },
      {
        name: 'restore-new',
        state: 'Running',
        createdAt: '2026-12-03T00:00:00Z',
        startedAt: '2026-12-03T00:00:01Z',
      },
    ]);
    expect(running).toEqual({ job: 'restore-new', phase: 'Running', startedAt: '2026-12-03T00:00:01Z' });
    const started = backupPolicyEvents({}, { lastRestore: running });
    expect(started).toEqual([
      {
        type: 'Normal',
        reason: 'RestoreStarted',
        message: 'restore Job restore-new started',
        details: { job: 'restore-new' },
      },
    ]);
    expect(backupPolicyEvents({ lastRestore: running }, { lastRestore: running })).toEqual([]);
    const failed = newestRestore([
      {
        name: 'restore-new',
        state: 'Failed',
        createdAt: '2026-12-03T00:00:00Z',
        message: 'BackoffLimitExceeded',
      },
    ]);
    expect(backupPolicyEvents({ lastRestore: running }, { lastRestore: failed })).toEqual([
      {
        type: 'Warning',
        reason: 'RestoreFailed',
        message: 'restore Job restore-new failed: BackoffLimitExceeded',
        details: { job: 'restore-new' },
      },
    ]);
  });

  test('a restore first seen finished is said by its outcome alone', () => {
    const done = newestRestore([{ name: 'r1', state: 'Succeeded', finishedAt: '2026-12-03T01:00:00Z' }]);
    expect(backupPolicyEvents({}, { lastRestore: done }).map((e) => e.reason)).toEqual(['RestoreSucceeded']);
  });

  test('no restore Job: nothing', () => {
    expect(newestRestore([])).toBeUndefined();
    expect(backupPolicyEvents({}, {})).toEqual([]);
  });
});

describe('a broken WAL chain', () => {
  const wal = (status: 'True' | 'False', reason: string, message: string): Condition => ({
    type: 'WalStreaming',
    status,
    reason,
    message,
    lastTransitionTime: '2026-12-03T04:00:00Z',
  });

  test('said once when it breaks, again when it breaks elsewhere; lag is not a break', () => {
    const broken: BackupPolicyStatus = {
      conditions: [wal('False', 'ChainBroken', 'segment 0000000100000000000000A3 missing')],
    };
    expect(backupPolicyEvents({ conditions: [wal('True', 'Streaming', 'ok')] }, broken)).toEqual([
      { type: 'Warning', reason: 'ChainBroken', message: 'segment 0000000100000000000000A3 missing' },
    ]);
    expect(backupPolicyEvents(broken, broken)).toEqual([]);
    const elsewhere: BackupPolicyStatus = {
      conditions: [wal('False', 'ChainBroken', 'segment 0000000100000000000000B7 missing')],
    };
    expect(backupPolicyEvents(broken, elsewhere).map((e) => e.reason)).toEqual(['ChainBroken']);
    expect(backupPolicyEvents({}, { conditions: [wal('False', 'Behind', 'lag 20 m')] })).toEqual([]);
  });
});
