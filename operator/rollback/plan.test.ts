import type { RollbackPolicy } from '../api/generated/index.js';
import { jsonEqual } from '../runtime/conditions.js';
import { planRollbackPolicyStatus } from './plan.js';

const t0 = new Date('2026-03-02T09:00:00.000Z');
const t1 = new Date('2026-03-02T09:05:00.000Z');

function policy(triggers: RollbackPolicy['spec']['triggers']): RollbackPolicy {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'RollbackPolicy',
    metadata: { name: 'standard', namespace: 'shop', generation: 2 },
    spec: { prometheus: { address: 'http://prometheus.monitoring:9090' }, triggers },
  };
}

const latency = { name: 'latency', builtin: 'LatencyP95', threshold: '500ms' } as const;
const errors = { name: 'errors', builtin: 'ErrorRate', threshold: '1%' } as const;

describe('planRollbackPolicyStatus', () => {
  test('Ready says the spec was accepted, not that Prometheus answered', () => {
    const status = planRollbackPolicyStatus(policy([latency, errors]), t0);
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({
      status: 'True',
      reason: 'Accepted',
      message: '2 triggers accepted; Prometheus is not queried yet',
    });
    expect(ready?.message).not.toMatch(/reachable/);
  });

  test('Enforced=False says the policy never rolls anything back', () => {
    const status = planRollbackPolicyStatus(policy([latency]), t0);
    expect(status.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual(['Ready=True', 'Enforced=False']);
    expect(status.conditions?.find((c) => c.type === 'Enforced')).toEqual({
      type: 'Enforced',
      status: 'False',
      reason: 'NotImplemented',
      message:
        'not enforced yet: spec.triggers (1 trigger), spec.failureLimit, spec.onInconclusive and spec.database.onRollback; nothing queries Prometheus, so no Release is rolled back automatically',
      lastTransitionTime: '2026-03-02T09:00:00Z',
      observedGeneration: 2,
    });
  });

  test('replanning an unchanged object gives an equal status, so nothing is written', () => {
    const rbp = policy([latency, errors]);
    const first = planRollbackPolicyStatus(rbp, t0);
    expect(jsonEqual(planRollbackPolicyStatus({ ...rbp, status: first }, t1), first)).toBe(true);
  });

  test('an old Ready message that claimed more is replaced without a transition', () => {
    const rbp = policy([latency]);
    const old = {
      conditions: [
        {
          type: 'Ready',
          status: 'True' as const,
          reason: 'Accepted',
          message: '1 trigger',
          lastTransitionTime: '2026-01-01T00:00:00Z',
          observedGeneration: 2,
        },
      ],
    };
    const ready = planRollbackPolicyStatus({ ...rbp, status: old }, t1).conditions?.[0];
    expect(ready).toMatchObject({ message: '1 trigger accepted; Prometheus is not queried yet' });
    expect(ready?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
  });
});
