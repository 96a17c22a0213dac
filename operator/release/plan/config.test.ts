// Configuration in the Release plan: the config gate holds a rollout without
// touching anything, the rollout records the configuration it went with, and
// history keeps the revision and hash of each rollout.
import type { ReleaseStatus } from '../../api/generated/index.js';
import type { ConfigFacts, GateFacts } from '../../environment/gates.js';
import { planRelease, type Observation } from './index.js';
import { T0, spec, stableV1 } from './world.testkit.js';

const gates = (config?: ConfigFacts): GateFacts => ({
  namespace: 'shop',
  environment: { name: 'production', found: true },
  ...(config ? { config } : {}),
});

function obs(config?: ConfigFacts, at = T0): Observation {
  return { now: new Date(at), slots: {}, jobs: {}, annotations: {}, gates: gates(config) };
}

const invalid: ConfigFacts = {
  violations: [
    { key: 'DATABASE_URL', message: 'is required but set in neither the ConfigMap nor the Secret' },
    { key: 'POOL', message: 'value "0" is below the minimum 1' },
  ],
  hash: 'bad0000000000000',
};
const valid: ConfigFacts = { violations: [], hash: 'good000000000000' };

describe('the config gate in the plan', () => {
  test('violations hold the rollout in Pending, stalled, every key named, nothing touched', () => {
    const started = planRelease(spec(), stableV1, obs(invalid));
    const held = planRelease(spec(), started.status, obs(invalid, T0 + 1000));
    for (const p of [started, held]) {
      expect(p.status.phase).toBe('Pending');
      expect(p.actions.filter((a) => a.type !== 'Event')).toEqual([]);
      const stalled = p.status.conditions?.find((c) => c.type === 'Stalled');
      expect(stalled).toMatchObject({ status: 'True', reason: 'ConfigInvalid' });
      expect(stalled?.message).toContain('DATABASE_URL');
      expect(stalled?.message).toContain('POOL');
    }
    // Waiting on, the status is the same: no write while nothing changes.
    expect(held.status).toEqual(started.status);
  });

  test('a missing ConfigMap stalls with ConfigNotFound', () => {
    const p = planRelease(spec(), stableV1, obs({ missing: ['ConfigMap "shop-config"'], violations: [] }));
    expect(p.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      reason: 'ConfigNotFound',
      message: 'ConfigMap "shop-config" not found in namespace "shop"',
    });
  });

  test('a fixed configuration lets it go, and the rollout records the hash it goes with', () => {
    const held = planRelease(spec(), stableV1, obs(invalid)).status;
    expect(held.configHash).toBe(invalid.hash);
    const p = planRelease(spec(), held, obs(valid));
    expect(p.status.phase).toBe('Deploying');
    expect(p.status.configHash).toBe(valid.hash);
  });

  test('no config facts: no hash recorded, the gate is open', () => {
    const p = planRelease(spec(), stableV1, obs());
    expect(p.status.phase).toBe('Deploying');
    expect(p.status.configHash).toBeUndefined();
  });

  test('the config gate is not asked once the rollout is past its gates', () => {
    const deploying = planRelease(spec(), stableV1, obs(valid)).status;
    const p = planRelease(spec(), deploying, obs(invalid));
    expect(p.status.phase).toBe('Deploying');
    expect(p.status.configHash).toBe(valid.hash);
  });
});

describe('history records revision and configuration', () => {
  test('a superseded rollout is recorded with its own revision and hash, not its successor’s', () => {
    const deploying: ReleaseStatus = planRelease(spec(), stableV1, obs(valid)).status;
    const next = planRelease(spec({ version: '3.0.0', revision: 'rev3' }), deploying, obs(valid));
    expect(next.status.history?.[0]).toMatchObject({
      outcome: 'Aborted',
      revision: 'rev2',
      configHash: valid.hash,
    });
    expect(next.status.revision).toBe('rev3');
  });
});
