import type { Environment, NotificationHealth } from '../api/generated/index.js';
import { jsonEqual } from '../runtime/conditions.js';
import { configChange, planEnvironmentStatus } from './plan.js';

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
    const status = planEnvironmentStatus(e, { config: { violations: [], hash: 'h' } }, t0);
    expect(types({ ...e, status })).toEqual(['Ready=True', 'ConfigValid=True']);
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

describe('ConfigValid and configErrors', () => {
  const rules = [
    { key: 'DATABASE_URL', required: true },
    { key: 'LOG_LEVEL', enum: ['info', 'debug'] },
  ];
  const e = env({ config: { configMapRef: { name: 'shop-config' }, rules } });
  const valid = (x: Environment) => x.status?.conditions?.find((c) => c.type === 'ConfigValid');

  test('every violation in status.configErrors and in the condition', () => {
    const violations = [
      { key: 'DATABASE_URL', message: 'is required but set in neither the ConfigMap nor the Secret' },
      { key: 'LOG_LEVEL', message: 'value "loud" is not one of "info", "debug"' },
    ];
    const status = planEnvironmentStatus(e, { configMapFound: true, config: { violations } }, t0);
    expect(status.configErrors).toEqual(violations);
    expect(valid({ ...e, status })).toMatchObject({ status: 'False', reason: 'ConfigInvalid' });
    expect(valid({ ...e, status })?.message).toContain('DATABASE_URL');
    expect(valid({ ...e, status })?.message).toContain('LOG_LEVEL');
    // The Environment itself is sound: Ready speaks of its references.
    expect(types({ ...e, status })).toContain('Ready=True');
  });

  test('fixed: ConfigValid=True and no configErrors left behind', () => {
    const bad = planEnvironmentStatus(e, { config: { violations: [{ key: 'A', message: 'x' }] } }, t0);
    const good = planEnvironmentStatus({ ...e, status: bad }, { config: { violations: [], hash: 'h' } }, t1);
    expect(good.configErrors).toBeUndefined();
    expect(valid({ ...e, status: good })).toMatchObject({
      status: 'True',
      reason: 'ConfigValid',
      message: 'all 2 configuration rules hold',
      lastTransitionTime: '2026-03-02T09:05:00Z',
    });
  });

  test('a missing ConfigMap: ConfigValid=False (ConfigNotFound), no configErrors', () => {
    const status = planEnvironmentStatus(
      e,
      { configMapFound: false, config: { missing: ['ConfigMap "shop-config"'], violations: [] } },
      t0,
    );
    expect(valid({ ...e, status })).toMatchObject({ status: 'False', reason: 'ConfigNotFound' });
    expect(status.configErrors).toBeUndefined();
  });

  test('no rules: no ConfigValid condition at all, and one set earlier goes away', () => {
    const bad = planEnvironmentStatus(e, { config: { violations: [{ key: 'A', message: 'x' }] } }, t0);
    const plain = env({ config: { configMapRef: { name: 'shop-config' } } });
    const status = planEnvironmentStatus({ ...plain, status: bad }, { config: { violations: [] } }, t1);
    expect(valid({ ...plain, status })).toBeUndefined();
    expect(status.configErrors).toBeUndefined();
  });

  test('unchanged facts give an equal status a minute later: nothing to write', () => {
    const facts = { config: { violations: [{ key: 'A', message: 'x' }] } };
    const first = planEnvironmentStatus(e, facts, t0);
    expect(jsonEqual(planEnvironmentStatus({ ...e, status: first }, facts, t1), first)).toBe(true);
  });
});

describe('status.notifications', () => {
  const hooks = (...names: string[]) => ({
    notify: names.map((name) => ({ name, urlSecretRef: { name: 'hooks', key: name } })),
  });
  const failing = {
    name: 'ops',
    state: 'Failing' as const,
    since: '2026-03-02T09:00:00.000Z',
    lastError: 'HTTP 503',
  };

  test('none until a target has been sent to', () => {
    expect(
      planEnvironmentStatus(env(hooks('ops')), { notifications: new Map() }, t0).notifications,
    ).toBeUndefined();
  });

  test("each target's health as the delivery queue saw it, in spec order", () => {
    const delivering = { name: 'chat', state: 'Delivering' as const, since: '2026-03-02T09:01:00.000Z' };
    const live = new Map<string, NotificationHealth>([
      ['chat', delivering],
      ['ops', failing],
    ]);
    expect(
      planEnvironmentStatus(env(hooks('ops', 'chat')), { notifications: live }, t0).notifications,
    ).toEqual([failing, delivering]);
  });

  test('after a restart, what status said stays until a new attempt; a removed target goes', () => {
    const before = planEnvironmentStatus(
      env(hooks('ops')),
      { notifications: new Map([['ops', failing]]) },
      t0,
    );
    const restarted = planEnvironmentStatus({ ...env(hooks('ops')), status: before }, {}, t1);
    expect(restarted.notifications).toEqual([failing]);
    expect(jsonEqual(restarted, before)).toBe(true);
    expect(
      planEnvironmentStatus({ ...env(hooks('chat')), status: before }, {}, t1).notifications,
    ).toBeUndefined();
  });
});

describe('configuration changes', () => {
  const e = env({
    config: {
      configMapRef: { name: 'shop-config' },
      secretRef: { name: 'shop-secrets' },
      rules: [{ key: 'LOG_LEVEL', enum: ['info'] }],
    },
  });
  const read = (hash: string, violations: Array<{ key: string; message: string }> = []) =>
    planEnvironmentStatus(e, { config: { violations, hash } }, t0);

  test('the hash of the data is kept in status; a ConfigMap that cannot be read keeps the last one', () => {
    const first = read('h1');
    expect(first.configHash).toBe('h1');
    const missing = planEnvironmentStatus(
      { ...e, status: first },
      { config: { missing: ['ConfigMap "shop-config"'], violations: [] } },
      t1,
    );
    expect(missing.configHash).toBe('h1');
    expect(planEnvironmentStatus(env(), {}, t0).configHash).toBeUndefined();
  });

  test('a new hash is one ConfigChanged Event naming the sources and the rules, hashes only', () => {
    expect(configChange(e, read('h1'), read('h2'))).toEqual({
      type: 'Normal',
      reason: 'ConfigChanged',
      message: 'the data of ConfigMap shop-config and Secret shop-secrets changed; every rule holds',
      details: { from: 'h1', to: 'h2', ruleErrors: 0, rolloutOnChange: false },
    });
    const broken = read('h3', [{ key: 'LOG_LEVEL', message: 'LOG_LEVEL must be one of info' }]);
    expect(configChange(e, read('h2'), broken)).toMatchObject({
      type: 'Warning',
      message: 'the data of ConfigMap shop-config and Secret shop-secrets changed; 1 rule now fails',
    });
  });

  test('the first reading, an unchanged hash and an unreadable source are not changes', () => {
    expect(configChange(e, undefined, read('h1'))).toBeUndefined();
    expect(configChange(e, {}, read('h1'))).toBeUndefined();
    expect(configChange(e, read('h1'), read('h1'))).toBeUndefined();
    expect(configChange(e, read('h1'), { ...read('h1'), configHash: undefined })).toBeUndefined();
  });
});
