import type { Environment, NotificationTarget, Release } from '../api/generated/index.js';
import type { Decision } from '../runtime/journal.js';
import { environmentsFor, route, selects, type Caches } from './route.js';

const ns = 'shop';

function env(name: string, spec: Partial<Environment['spec']> = {}): Environment {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Environment',
    metadata: { name, namespace: ns },
    spec: { tier: 'production', ...spec },
  };
}

function rel(name: string, environment: string, spec: Partial<Release['spec']> = {}): Release {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: { name, namespace: ns },
    spec: { environmentRef: { name: environment }, ...spec } as Release['spec'],
  };
}

function caches(envs: Environment[], rels: Release[]): Caches {
  const lookup = <T extends Environment | Release>(all: T[]) => ({
    get: (name: string, namespace?: string) =>
      all.find((o) => o.metadata?.name === name && o.metadata.namespace === namespace),
    list: (namespace?: string) => all.filter((o) => o.metadata?.namespace === namespace),
  });
  return { environments: lookup(envs), releases: lookup(rels) };
}

const decision = (
  kind: string,
  name: string,
  reason = 'AnalysisFailed',
  type: Decision['type'] = 'Warning',
): Decision => ({
  id: `${ns}/${kind}/${name}/${reason}`,
  at: '2026-12-03T10:00:00.000Z',
  type,
  reason,
  message: 'm',
  object: { apiVersion: 'cutover.dev/v1alpha1', kind, namespace: ns, name },
});

const names = (es: Environment[]) => es.map((e) => e.metadata?.name).sort();

describe('environmentsFor', () => {
  const c = caches(
    [
      env('production', { defaults: { backupPolicyRef: { name: 'nightly' } } }),
      env('staging', { defaults: { rollbackPolicyRef: { name: 'standard' } } }),
      env('preview'),
    ],
    [rel('web', 'production'), rel('api', 'preview', { rollbackPolicyRef: { name: 'standard' } })],
  );

  test("a Release's decisions go to its Environment", () => {
    expect(names(environmentsFor(decision('Release', 'web'), c))).toEqual(['production']);
  });

  test('an Environment hears its own', () => {
    expect(names(environmentsFor(decision('Environment', 'staging'), c))).toEqual(['staging']);
  });

  test('a policy: the Environments using it as default or through one of their Releases', () => {
    expect(names(environmentsFor(decision('BackupPolicy', 'nightly'), c))).toEqual(['production']);
    expect(names(environmentsFor(decision('RollbackPolicy', 'standard'), c))).toEqual(['preview', 'staging']);
  });

  test('nothing for an object the caches do not hold, or of another namespace or kind', () => {
    expect(environmentsFor(decision('Release', 'gone'), c)).toEqual([]);
    expect(environmentsFor(decision('BackupPolicy', 'weekly'), c)).toEqual([]);
    expect(
      environmentsFor(
        {
          ...decision('Release', 'web'),
          object: { ...decision('Release', 'web').object, namespace: 'other' },
        },
        c,
      ),
    ).toEqual([]);
    expect(environmentsFor(decision('Deployment', 'web'), c)).toEqual([]);
  });
});

describe('selects', () => {
  const t = (extra: Partial<NotificationTarget> = {}): NotificationTarget => ({
    name: 'ops',
    urlSecretRef: { name: 'hooks', key: 'ops' },
    ...extra,
  });

  test('by default, critical and warning', () => {
    expect(selects(t(), 'ChainBroken', 'critical')).toBe(true);
    expect(selects(t(), 'AnalysisFailed', 'warning')).toBe(true);
    expect(selects(t(), 'RolloutSucceeded', 'info')).toBe(false);
  });

  test('severities and reasons add up; either set replaces the default', () => {
    const target = t({ severities: ['critical'], reasons: ['RolloutSucceeded'] });
    expect(selects(target, 'ChainBroken', 'critical')).toBe(true);
    expect(selects(target, 'RolloutSucceeded', 'info')).toBe(true);
    expect(selects(target, 'AnalysisFailed', 'warning')).toBe(false);
    expect(selects(t({ reasons: ['BackupFailed'] }), 'AnalysisFailed', 'warning')).toBe(false);
    expect(selects(t({ severities: [] }), 'ChainBroken', 'critical')).toBe(false);
  });
});

describe('route', () => {
  test('each selecting target of each Environment, with the severity', () => {
    const c = caches(
      [
        env('production', {
          notify: [
            {
              name: 'all',
              urlSecretRef: { name: 'h', key: 'a' },
              severities: ['critical', 'warning', 'info'],
            },
            { name: 'pager', urlSecretRef: { name: 'h', key: 'p' }, severities: ['critical'] },
          ],
        }),
      ],
      [rel('web', 'production')],
    );
    const routed = route(decision('Release', 'web'), c);
    expect(routed.map((r) => [r.environment.metadata?.name, r.target.name, r.severity])).toEqual([
      ['production', 'all', 'warning'],
    ]);
    expect(route(decision('Release', 'web', 'SlotUnavailable'), c).map((r) => r.target.name)).toEqual([
      'all',
      'pager',
    ]);
  });
});
