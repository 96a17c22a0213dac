import type { Environment } from '../api/generated/index.js';
import { jsonEqual } from '../runtime/conditions.js';
import { planEnvironmentStatus } from './plan.js';

const t0 = new Date('2026-03-02T09:00:00.000Z');
const t1 = new Date('2026-03-02T09:05:00.000Z');

function env(spec: Partial<Environment['spec']> = {}): Environment {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Environment',
    metadata: { name: 'production', namespace: 'shop', generation: 3 },
    spec: { tier: 'development', ...spec },
  };
}

const types = (e: Environment) => (e.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`);

describe('planEnvironmentStatus', () => {
  test('a valid Environment with gates is Ready', () => {
    const e = env({ tier: 'production', config: { rules: [{ key: 'DATABASE_URL', required: true }] } });
    const status = planEnvironmentStatus(e, {}, t0);
    expect(types({ ...e, status })).toEqual(['Ready=True']);
  });

  test('a missing reference stalls', () => {
    const e = env({ drift: { mode: 'Report' }, config: { configMapRef: { name: 'shop-config' } } });
    const status = planEnvironmentStatus(e, { configMapFound: false }, t0);
    expect(types({ ...e, status })).toEqual(['Ready=False', 'Stalled=True']);
  });

  test('replanning an unchanged object gives an equal status, so nothing is written', () => {
    const e = env({ tier: 'production', drift: { mode: 'Report' } });
    const first = planEnvironmentStatus(e, {}, t0);
    const second = planEnvironmentStatus({ ...e, status: first }, {}, t1);
    expect(jsonEqual(second, first)).toBe(true);
  });

  test('Enforced, left by an older operator, is removed', () => {
    const old = env();
    const before = planEnvironmentStatus(old, {}, t0);
    const legacy = {
      type: 'Enforced',
      status: 'False' as const,
      reason: 'NotImplemented',
      message: 'x',
      lastTransitionTime: '2026-03-02T09:00:00Z',
    };
    const after = planEnvironmentStatus(
      { ...old, status: { ...before, conditions: [...(before.conditions ?? []), legacy] } },
      {},
      t1,
    );
    expect(types({ ...old, status: after })).toEqual(['Ready=True']);
  });
});
