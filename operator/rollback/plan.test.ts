import type { RollbackPolicy } from '../api/generated/index.js';
import { jsonEqual } from '../runtime/conditions.js';
import { planRollbackPolicyStatus } from './plan.js';

const t0 = new Date('2026-03-02T09:00:00.000Z');
const t1 = new Date('2026-03-02T09:01:00.000Z');

function policy(): RollbackPolicy {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'RollbackPolicy',
    metadata: { name: 'standard', namespace: 'shop', generation: 2 },
    spec: {
      prometheus: { address: 'http://prometheus.monitoring:9090' },
      triggers: [
        { name: 'latency', builtin: 'LatencyP95', threshold: '500ms' },
        { name: 'errors', builtin: 'ErrorRate', threshold: '1%' },
      ],
    },
  };
}

const ready = (s: ReturnType<typeof planRollbackPolicyStatus>) =>
  s.conditions?.find((c) => c.type === 'Ready');

describe('planRollbackPolicyStatus', () => {
  test('Ready when Prometheus answered the probe, with the time it was checked', () => {
    const status = planRollbackPolicyStatus(policy(), { ok: true }, t0);
    expect(ready(status)).toMatchObject({ status: 'True', reason: 'PrometheusReachable' });
    expect(status.lastChecked).toBe('2026-03-02T09:00:00Z');
  });

  test('Ready=False names the error and what it means for the Releases', () => {
    const status = planRollbackPolicyStatus(
      policy(),
      { ok: false, error: 'connect ECONNREFUSED 10.0.0.1:9090' },
      t0,
    );
    expect(ready(status)).toMatchObject({ status: 'False', reason: 'PrometheusUnreachable' });
    expect(ready(status)?.message).toContain('connect ECONNREFUSED 10.0.0.1:9090');
    expect(ready(status)?.message).toContain('Inconclusive, and onInconclusive decides (Pause)');
  });

  test('no address in the policy nor the operator: Ready=False PrometheusAddressMissing, nothing probed', () => {
    const rbp = policy();
    rbp.spec.prometheus = { timeout: '5s' };
    rbp.status = { lastChecked: '2026-03-02T08:00:00Z' };
    const status = planRollbackPolicyStatus(rbp, { ok: false, addressMissing: true }, t0);
    expect(ready(status)).toMatchObject({ status: 'False', reason: 'PrometheusAddressMissing' });
    expect(ready(status)?.message).toBe(
      'no Prometheus address: set spec.prometheus.address, or start the operator with --prometheus-address (Helm value prometheus.address); Releases using this policy hold until one is set',
    );
    expect(status.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
    expect(status.lastChecked).toBe('2026-03-02T08:00:00Z');
  });

  test('the Enforced=False of earlier versions goes: the policy is evaluated now', () => {
    const rbp = policy();
    rbp.status = {
      conditions: [
        {
          type: 'Enforced',
          status: 'False',
          reason: 'NotImplemented',
          message: 'x',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
    };
    const status = planRollbackPolicyStatus(rbp, { ok: true }, t0);
    expect(status.conditions?.map((c) => c.type)).toEqual(['Ready']);
  });

  test('a probe with the same result keeps the transition time', () => {
    const rbp = policy();
    const first = planRollbackPolicyStatus(rbp, { ok: true }, t0);
    const second = planRollbackPolicyStatus({ ...rbp, status: first }, { ok: true }, t1);
    expect(ready(second)?.lastTransitionTime).toBe(ready(first)?.lastTransitionTime);
    expect(jsonEqual(second.conditions, first.conditions)).toBe(true);
    expect(second.lastChecked).toBe('2026-03-02T09:01:00Z');
  });
});
