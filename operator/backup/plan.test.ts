import type { BackupPolicy } from '../api/generated/index.js';
import { jsonEqual } from '../runtime/conditions.js';
import {
  planBackupPolicyStatus,
  runnable,
  sizeQuantity,
  slotToDrop,
  type BackupPolicyObservation,
  type JobRun,
} from './plan.js';

const t0 = new Date('2026-03-02T09:00:00.000Z');
const t1 = new Date('2026-03-02T09:05:00.000Z');

function policy(spec: Partial<BackupPolicy['spec']> = {}, name = 'nightly'): BackupPolicy {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'BackupPolicy',
    metadata: { name, namespace: 'shop', generation: 1 },
    spec: {
      databaseSecretRef: { name: 'shop-db', key: 'url' },
      full: { schedule: '0 2 * * *' },
      storage: { pvc: { claimName: 'shop-backups' } },
      ...spec,
    },
  };
}

const found: BackupPolicyObservation = { secretKeys: ['url'], claimFound: true, jobs: [] };
const cond = (s: { conditions?: Array<{ type: string }> }, type: string) =>
  s.conditions?.find((c) => c.type === type);
const types = (s: { conditions?: Array<{ type: string; status: string }> }) =>
  (s.conditions ?? []).map((c) => `${c.type}=${c.status}`);

const full = (name: string, state: JobRun['state'], at: string, extra: Partial<JobRun> = {}): JobRun => ({
  name,
  kind: 'full',
  state,
  startedAt: at,
  finishedAt: state === 'Running' ? undefined : at,
  ...extra,
});

describe('planBackupPolicyStatus', () => {
  test('a policy with its Secret and claim is Ready; before any backup LastBackupSucceeded is Unknown', () => {
    const status = planBackupPolicyStatus(policy(), found, t0);
    expect(types(status)).toEqual(['Ready=True', 'LastBackupSucceeded=Unknown']);
    expect(cond(status, 'LastBackupSucceeded')).toMatchObject({ reason: 'NoBackupYet' });
  });

  test('a missing Secret stalls the policy, and nothing is applied for it', () => {
    const obs = { ...found, secretKeys: undefined };
    const status = planBackupPolicyStatus(policy(), obs, t0);
    expect(types(status).slice(0, 2)).toEqual(['Ready=False', 'Stalled=True']);
    expect(runnable(policy(), obs)).toBe(false);
    expect(runnable(policy(), found)).toBe(true);
  });

  test('S3 credentials without a key stall it, naming the key', () => {
    const b = policy({ storage: { s3: { bucket: 'shop', secretRef: { name: 's3' } } } });
    const status = planBackupPolicyStatus(
      b,
      { ...found, claimFound: undefined, s3Secrets: { s3: ['AWS_ACCESS_KEY_ID'] } },
      t0,
    );
    expect(cond(status, 'Stalled')).toMatchObject({
      message: expect.stringContaining('AWS_SECRET_ACCESS_KEY'),
    });
  });

  test('a name too long for its CronJobs stalls it', () => {
    const b = policy({}, 'x'.repeat(46));
    expect(cond(planBackupPolicyStatus(b, found, t0), 'Stalled')).toMatchObject({ reason: 'NameTooLong' });
    expect(runnable(b, found)).toBe(false);
  });

  test('a failed full says why from its report; the last good full stays in lastFull and the records', () => {
    const good = full('nightly-full-1', 'Succeeded', '2026-03-01T02:00:00.000Z', {
      report: {
        kind: 'full',
        ok: true,
        id: '20260301T020000Z',
        size: 3 * 1024 * 1024,
        endLsn: '0/3000100',
        finishedAt: '2026-03-01T02:01:00.000Z',
      },
    });
    const first = planBackupPolicyStatus(policy(), { ...found, jobs: [good] }, t0);
    expect(cond(first, 'LastBackupSucceeded')).toMatchObject({
      status: 'True',
      message: expect.stringContaining('20260301T020000Z (3Mi)'),
    });
    const bad = full('nightly-full-2', 'Failed', '2026-03-02T02:00:00.000Z', {
      report: { kind: 'full', ok: false, error: 'connection to server at "db" failed: Connection refused' },
    });
    // The good Job is gone (history limit): its record and lastFull remain.
    const status = planBackupPolicyStatus({ ...policy(), status: first }, { ...found, jobs: [bad] }, t1);
    expect(cond(status, 'LastBackupSucceeded')).toMatchObject({
      status: 'False',
      reason: 'BackupFailed',
      message:
        'full backup Job nightly-full-2 failed: connection to server at "db" failed: Connection refused',
    });
    expect(status.lastFull).toBe('2026-03-01T02:01:00.000Z');
    expect(status.backups?.map((r) => [r.id, r.phase])).toEqual([
      ['nightly-full-2', 'Failed'],
      ['20260301T020000Z', 'Succeeded'],
    ]);
    expect(status.backups?.[1]).toMatchObject({ size: '3Mi', lsn: '0/3000100' });
  });

  test("a Job that died without a report falls back to the Job controller's message", () => {
    const dead = full('nightly-full-3', 'Failed', '2026-03-02T02:00:00.000Z', {
      message: 'Job was active longer than specified deadline',
    });
    const status = planBackupPolicyStatus(policy(), { ...found, jobs: [dead] }, t0);
    expect(cond(status, 'LastBackupSucceeded')).toMatchObject({
      message: expect.stringContaining('deadline'),
    });
  });

  test('fulls found in storage are records even when no Job of ours took them', () => {
    const storage = {
      fulls: [
        {
          id: '20260302T020000Z',
          startedAt: '2026-03-02T02:00:00.000Z',
          finishedAt: '2026-03-02T02:03:00.000Z',
          size: 2048,
          endLsn: '0/5000000',
        },
      ],
      firstRecoverabilityPoint: '2026-03-02T02:03:00.000Z',
      lastRecoverabilityPoint: '2026-03-02T08:59:58.000Z',
      walShippedAt: '2026-03-02T08:59:58.000Z',
    };
    const b = policy({ incremental: { interval: '5s' } });
    const status = planBackupPolicyStatus(b, { ...found, storage, walAvailable: 1 }, t0);
    expect(status.backups).toEqual([
      {
        id: '20260302T020000Z',
        kind: 'Full',
        phase: 'Succeeded',
        startedAt: '2026-03-02T02:00:00.000Z',
        finishedAt: '2026-03-02T02:03:00.000Z',
        size: '2Ki',
        lsn: '0/5000000',
      },
    ]);
    expect(status).toMatchObject({
      lastFull: '2026-03-02T02:03:00.000Z',
      lastRecoverabilityPoint: '2026-03-02T08:59:58.000Z',
    });
    expect(cond(status, 'WalStreaming')).toMatchObject({ status: 'True', reason: 'Streaming' });
  });

  test('WalStreaming: absent without incremental, False when suspended, not running, broken or behind', () => {
    const wal = (spec: Partial<BackupPolicy['spec']>, obs: Partial<BackupPolicyObservation>) =>
      cond(planBackupPolicyStatus(policy(spec), { ...found, ...obs }, t0), 'WalStreaming');
    const storage = (walShippedAt: string, broken?: string) => ({
      fulls: [],
      walShippedAt,
      ...(broken ? { broken } : {}),
    });
    expect(wal({}, {})).toBeUndefined();
    expect(wal({ incremental: {}, suspend: true }, { walAvailable: 0 })).toMatchObject({
      status: 'False',
      reason: 'Suspended',
    });
    expect(wal({ incremental: {} }, { walAvailable: 0 })).toMatchObject({ reason: 'ReceiverNotRunning' });
    expect(
      wal(
        { incremental: {} },
        {
          walAvailable: 1,
          storage: storage('2026-03-02T08:59:00.000Z', 'segment 00000001000000000000000A missing'),
        },
      ),
    ).toMatchObject({ reason: 'ChainBroken' });
    // 61 s behind is past the 60 s floor for a 5 s interval...
    expect(
      wal(
        { incremental: { interval: '5s' } },
        { walAvailable: 1, storage: storage('2026-03-02T08:58:59.000Z') },
      ),
    ).toMatchObject({ reason: 'Behind' });
    // ...and within three intervals of 30 s.
    expect(
      wal(
        { incremental: { interval: '30s' } },
        { walAvailable: 1, storage: storage('2026-03-02T08:58:59.000Z') },
      ),
    ).toMatchObject({ status: 'True' });
  });

  test('Verified follows the newest drill; Replicated names the replica that is behind', () => {
    const verify: JobRun = {
      name: 'nightly-verify-1',
      kind: 'verify',
      state: 'Failed',
      finishedAt: '2026-03-02T04:00:00.000Z',
      report: { kind: 'verify', ok: false, error: 'full/20260302T020000Z/base.tar.gz: sha256 mismatch' },
    };
    const b = policy({
      verify: { schedule: '0 4 * * 0' },
      incremental: {},
      storage: {
        s3: { bucket: 'a', secretRef: { name: 's3' } },
        replicas: [{ bucket: 'b', secretRef: { name: 's3' } }],
      },
    });
    const status = planBackupPolicyStatus(
      b,
      {
        ...found,
        jobs: [verify],
        replicas: [{ location: 'b', lagSeconds: 300, behindSince: '2026-03-02T08:55:00.000Z' }],
      },
      t0,
    );
    expect(cond(status, 'Verified')).toMatchObject({
      status: 'False',
      message: expect.stringContaining('base.tar.gz: sha256 mismatch'),
    });
    expect(cond(status, 'Replicated')).toMatchObject({
      status: 'False',
      reason: 'Behind',
      message: 'b lacks objects sealed since 2026-03-02T08:55:00.000Z (limit 60 s)',
    });
    expect(status.replicas).toEqual([{ location: 'b', behindSince: '2026-03-02T08:55:00.000Z' }]);
  });

  test('replanning an unchanged object gives an equal status, so nothing is written', () => {
    const b = policy({ verify: { schedule: '0 4 * * 0' } });
    const first = planBackupPolicyStatus(b, found, t0);
    expect(jsonEqual(planBackupPolicyStatus({ ...b, status: first }, found, t1), first)).toBe(true);
  });

  test('status holds nothing that moves with the clock: a later pass over the same storage writes nothing', () => {
    const b = policy({
      incremental: { interval: '1s' },
      storage: {
        s3: { bucket: 'a', secretRef: { name: 's3' } },
        replicas: [{ bucket: 'b', secretRef: { name: 's3' } }],
      },
    });
    const storage = (shipped: string) => ({
      fulls: [],
      walShippedAt: shipped,
      lastRecoverabilityPoint: shipped,
      firstRecoverabilityPoint: '2026-03-02T08:00:00.000Z',
    });
    const obs = (shipped: string, lag: number): BackupPolicyObservation => ({
      ...found,
      claimFound: undefined,
      walAvailable: 1,
      storage: storage(shipped),
      replicas: [{ location: 'b', lagSeconds: lag }],
    });
    const first = planBackupPolicyStatus(b, obs('2026-03-02T08:59:59.000Z', 0.4), t0);
    // Four seconds on, WAL shipped three more times and the replica trails by a different fraction.
    const later = new Date(t0.getTime() + 4_000);
    const again = planBackupPolicyStatus(
      { ...b, status: first },
      obs('2026-03-02T09:00:03.000Z', 1.2),
      later,
    );
    expect(jsonEqual(again, first)).toBe(true);
    // Past the refresh period (ten intervals, at least 10 s) the WAL times move on.
    const much = new Date(t0.getTime() + 12_000);
    const moved = planBackupPolicyStatus({ ...b, status: first }, obs('2026-03-02T09:00:11.000Z', 0.1), much);
    expect(moved.lastIncremental).toBe('2026-03-02T09:00:11.000Z');
  });

  test('suspended after streaming: not Suspended until the slot is seen dropped', () => {
    const streaming = planBackupPolicyStatus(policy({ incremental: {} }), { ...found, walAvailable: 1 }, t0);
    const b = { ...policy({ incremental: {}, suspend: true }), status: streaming };
    expect(slotToDrop(b)).toBe(true);
    expect(
      cond(planBackupPolicyStatus(b, { ...found, walAvailable: 1, slot: 's' }, t1), 'WalStreaming'),
    ).toMatchObject({
      reason: 'SlotNotDropped',
      message: expect.stringContaining('waiting for the WAL receiver to stop'),
    });
    expect(
      cond(planBackupPolicyStatus(b, { ...found, slot: 's', slotState: 'active' }, t1), 'WalStreaming'),
    ).toMatchObject({ reason: 'SlotNotDropped' });
    const done = planBackupPolicyStatus(b, { ...found, slot: 's', slotState: 'dropped' }, t1);
    expect(cond(done, 'WalStreaming')).toMatchObject({ reason: 'Suspended' });
    expect(slotToDrop({ ...b, status: done })).toBe(false);
    // incremental removed: the condition goes once the slot is gone.
    const removed = { ...policy(), status: streaming };
    expect(
      cond(
        planBackupPolicyStatus(
          removed,
          { ...found, slot: 's', slotState: { error: 'connection refused' } },
          t1,
        ),
        'WalStreaming',
      ),
    ).toMatchObject({ reason: 'SlotNotDropped', message: expect.stringContaining('connection refused') });
    expect(
      cond(planBackupPolicyStatus(removed, { ...found, slot: 's', slotState: 'absent' }, t1), 'WalStreaming'),
    ).toBeUndefined();
  });

  test('a failed full is not hidden by a dump that succeeded after it; a pruned full leaves the records', () => {
    const failedFull = full('nightly-full-1', 'Failed', '2026-03-02T02:00:00.000Z', {
      report: { kind: 'full', ok: false, error: 'disk full' },
    });
    const dump: JobRun = {
      name: 'nightly-dump-1',
      kind: 'dump',
      state: 'Succeeded',
      startedAt: '2026-03-02T03:00:00.000Z',
      finishedAt: '2026-03-02T03:01:00.000Z',
    };
    expect(
      cond(
        planBackupPolicyStatus(policy(), { ...found, jobs: [failedFull, dump] }, t0),
        'LastBackupSucceeded',
      ),
    ).toMatchObject({ status: 'False', message: expect.stringContaining('disk full') });
    const prev = planBackupPolicyStatus(
      policy(),
      {
        ...found,
        storage: {
          fulls: [
            {
              id: 'old',
              startedAt: '2026-02-01T02:00:00.000Z',
              finishedAt: '2026-02-01T02:01:00.000Z',
              size: 1,
              endLsn: '0/1',
            },
          ],
        },
      },
      t0,
    );
    expect(prev.backups?.map((r) => r.id)).toEqual(['old']);
    expect(
      planBackupPolicyStatus({ ...policy(), status: prev }, { ...found, storage: { fulls: [] } }, t1).backups,
    ).toEqual([]);
  });

  test('sizes read like quantities', () => {
    expect([sizeQuantity(512), sizeQuantity(1536), sizeQuantity(1.25 * 1024 ** 3)]).toEqual([
      '512',
      '1.5Ki',
      '1.3Gi',
    ]);
  });
});
