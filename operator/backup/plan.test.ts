import type { BackupPolicy } from '../api/generated/index.js';
import { jsonEqual } from '../runtime/conditions.js';
import { planBackupPolicyStatus, unenforcedParts, type BackupPolicyObservation } from './plan.js';

const t0 = new Date('2026-03-02T09:00:00.000Z');
const t1 = new Date('2026-03-02T09:05:00.000Z');

function policy(spec: Partial<BackupPolicy['spec']> = {}): BackupPolicy {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'BackupPolicy',
    metadata: { name: 'nightly', namespace: 'shop', generation: 1 },
    spec: {
      databaseSecretRef: { name: 'shop-db', key: 'url' },
      full: { schedule: '0 2 * * *' },
      storage: { pvc: { claimName: 'shop-backups' } },
      ...spec,
    },
  };
}

const found: BackupPolicyObservation = { secretKeys: ['url'], claimFound: true };
const types = (b: BackupPolicy) => (b.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`);

describe('unenforcedParts', () => {
  test('spec.full is required, so every policy has something nothing runs', () => {
    expect(unenforcedParts(policy())).toEqual(['spec.full']);
  });

  test('lists the optional schedules, retention and suspend when set', () => {
    const parts = unenforcedParts(
      policy({
        incremental: { schedule: '0 * * * *' },
        verify: { schedule: '0 4 * * 0' },
        retention: { full: '30d' },
        suspend: true,
      }),
    );
    expect(parts).toEqual(['spec.full', 'spec.incremental', 'spec.verify', 'spec.retention', 'spec.suspend']);
    expect(unenforcedParts(policy({ suspend: false }))).toEqual(['spec.full']);
  });
});

describe('planBackupPolicyStatus', () => {
  test('an admitted policy with its Secret and PVC is Ready, and Enforced=False says no backup runs', () => {
    const b = policy({ retention: { full: '30d' } });
    const status = planBackupPolicyStatus(b, found, t0);
    expect(types({ ...b, status })).toEqual(['Ready=True', 'Enforced=False']);
    expect(status.conditions?.find((c) => c.type === 'Enforced')).toMatchObject({
      reason: 'NotImplemented',
      message:
        'not enforced yet: spec.full and spec.retention; no backup runs, on a schedule or before a destructive migration',
      observedGeneration: 1,
    });
  });

  test('a missing Secret still stalls the policy', () => {
    const b = policy();
    const status = planBackupPolicyStatus(b, { secretKeys: undefined, claimFound: true }, t0);
    expect(types({ ...b, status })).toEqual(['Ready=False', 'Stalled=True', 'Enforced=False']);
  });

  test('replanning an unchanged object gives an equal status, so nothing is written', () => {
    const b = policy({ verify: { schedule: '0 4 * * 0' } });
    const first = planBackupPolicyStatus(b, found, t0);
    expect(jsonEqual(planBackupPolicyStatus({ ...b, status: first }, found, t1), first)).toBe(true);
  });
});
