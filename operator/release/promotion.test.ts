import type { KubernetesObject, V1Namespace } from '@kubernetes/client-node';
import type { Environment, Release, ReleaseStatus } from '../api/generated/index.js';
import { approvalKey } from '../environment/approvals.js';
import { approvalFacts, promotionFacts, type PromotionSources } from './promotion.js';
import { revisionOf } from './names.js';

const template = { spec: { containers: [{ name: 'app', image: 'shop:2.0.0' }] } };

function release(
  ns: string,
  env: string,
  version: string,
  status?: ReleaseStatus,
  tpl: unknown = template,
): Release {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: { name: 'shop', namespace: ns, annotations: {} },
    spec: {
      environmentRef: { name: env },
      application: 'shop',
      version,
      template: tpl as Release['spec']['template'],
    },
    status,
  };
}

function environment(ns: string, name: string, spec: Partial<Environment['spec']> = {}): Environment {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Environment',
    metadata: { name, namespace: ns },
    spec: { tier: 'production', ...spec },
  };
}

const succeeded = (version: string, at: string, tpl: unknown = template): ReleaseStatus => {
  const rev = revisionOf('shop', version, tpl);
  return {
    phase: 'Succeeded',
    revision: rev,
    stableRevision: rev,
    stableVersion: version,
    history: [{ version, outcome: 'Succeeded', finishedAt: at }],
  };
};

function sources(objs: {
  releases?: Release[];
  envs?: Environment[];
  tenants?: Record<string, string>;
}): PromotionSources {
  const envs = objs.envs ?? [];
  return {
    releases: {
      get: () => undefined,
      list: (ns?: string) => (objs.releases ?? []).filter((r) => r.metadata?.namespace === ns),
    },
    environments: {
      get: (name, ns) => envs.find((e) => e.metadata?.name === name && e.metadata.namespace === ns),
    },
    namespaces: {
      get: (name) => {
        const tenant = objs.tenants?.[name];
        return tenant === undefined
          ? undefined
          : ({ metadata: { name, labels: { 'cutover.dev/tenant': tenant } } } as V1Namespace &
              KubernetesObject);
      },
    },
  };
}

const staging = environment('shop', 'staging', { tier: 'staging' });
const prod = (from: NonNullable<NonNullable<Environment['spec']['promotion']>['from']>, more = {}) =>
  environment('shop', 'production', { promotion: { from, soak: '30m', ...more } });

describe('promotionFacts', () => {
  test('none without promotion.from', () => {
    expect(
      promotionFacts(sources({}), release('shop', 'production', '2.0.0'), environment('shop', 'p')),
    ).toBeUndefined();
  });

  test('the same version and template Succeeded in the source: when, and the soak', () => {
    const src = sources({
      envs: [staging],
      releases: [release('shop', 'staging', '2.0.0', succeeded('2.0.0', '2026-12-02T09:00:00Z'))],
    });
    const f = promotionFacts(src, release('shop', 'production', '2.0.0'), prod({ name: 'staging' }));
    expect(f?.succeededAt?.toISOString()).toBe('2026-12-02T09:00:00.000Z');
    expect(f?.soakMs).toBe(30 * 60_000);
    expect(f?.problem).toBeUndefined();
  });

  test('another template in the source does not count by revision, and does by version', () => {
    const other = { spec: { containers: [{ name: 'app', image: 'shop:2.0.0-debug' }] } };
    const src = sources({
      envs: [staging],
      releases: [
        release('shop', 'staging', '2.0.0', succeeded('2.0.0', '2026-12-02T09:00:00Z', other), other),
      ],
    });
    const rel = release('shop', 'production', '2.0.0');
    const byRevision = promotionFacts(src, rel, prod({ name: 'staging' }));
    expect(byRevision?.succeededAt).toBeUndefined();
    expect(byRevision).toMatchObject({
      runningThere: '2.0.0',
      wanted: 'version 2.0.0 with this pod template',
    });
    expect(
      promotionFacts(src, rel, prod({ name: 'staging' }, { match: 'Version' }))?.succeededAt,
    ).toBeDefined();
  });

  test('a source mid-rollout of the version has not proved it yet', () => {
    const rolling = {
      ...succeeded('2.0.0', '2026-12-02T09:00:00Z'),
      phase: 'Shifting' as const,
      stableRevision: 'old',
      stableVersion: '1.9.0',
    };
    const src = sources({ envs: [staging], releases: [release('shop', 'staging', '2.0.0', rolling)] });
    expect(
      promotionFacts(src, release('shop', 'production', '2.0.0'), prod({ name: 'staging' })),
    ).toMatchObject({
      runningThere: '1.9.0',
    });
  });

  test('a source whose spec moved on before its status caught up proves nothing (one commit bumps both)', () => {
    const ahead = release('shop', 'staging', '2.0.0', {
      ...succeeded('2.0.0', '2026-12-02T09:00:00Z'),
      observedGeneration: 2,
    });
    ahead.metadata = { ...ahead.metadata, generation: 3 };
    const src = sources({ envs: [staging], releases: [ahead] });
    expect(
      promotionFacts(src, release('shop', 'production', '2.0.0'), prod({ name: 'staging' }))?.succeededAt,
    ).toBeUndefined();
  });

  test('a missing source Environment is a problem, not a crash', () => {
    const f = promotionFacts(sources({}), release('shop', 'production', '2.0.0'), prod({ name: 'staging' }));
    expect(f?.problem).toEqual({
      reason: 'PromotionSourceNotFound',
      message: 'Environment "staging" (promotion.from) not found in namespace "shop"',
    });
  });

  test('across namespaces only within one tenant', () => {
    const stagingB = environment('b-staging', 'staging');
    const rel = release('a-prod', 'production', '2.0.0');
    const env = prod({ namespace: 'b-staging', name: 'staging' });
    const cross = promotionFacts(
      sources({ envs: [stagingB], tenants: { 'a-prod': 'a', 'b-staging': 'b' } }),
      rel,
      env,
    );
    expect(cross?.problem).toEqual({
      reason: 'CrossTenantPromotion',
      message:
        'promotion.from crosses namespaces, which needs the same cutover.dev/tenant label on both: namespace a-prod is tenant "a", namespace b-staging is tenant "b"',
    });
    const unlabelled = promotionFacts(sources({ envs: [stagingB], tenants: {} }), rel, env);
    expect(unlabelled?.problem?.message).toContain('namespace a-prod has no cutover.dev/tenant label');
    const same = promotionFacts(
      sources({ envs: [stagingB], tenants: { 'a-prod': 'a', 'b-staging': 'a' } }),
      rel,
      env,
    );
    expect(same?.problem).toBeUndefined();
  });

  test('from a namespace outside the watch scope: said so, not "not found", whatever the labels', () => {
    const stagingB = environment('b-staging', 'staging');
    const rel = release('a-prod', 'production', '2.0.0');
    const env = prod({ namespace: 'b-staging', name: 'staging' });
    const scoped = (watched: string[]) => ({
      ...sources({ envs: [stagingB], tenants: { 'a-prod': 'a', 'b-staging': 'a' } }),
      watches: (ns: string) => watched.includes(ns),
    });
    const outside = promotionFacts(scoped(['a-prod']), rel, env);
    expect(outside?.problem?.reason).toBe('PromotionSourceNotWatched');
    expect(outside?.problem?.message).toContain('"b-staging", which this operator does not watch');
    expect(promotionFacts(scoped(['a-prod', 'b-staging']), rel, env)?.problem).toBeUndefined();
    // Its own namespace is always in scope: a Release outside it is never reconciled at all.
    const local = prod({ name: 'staging' });
    expect(promotionFacts(scoped([]), rel, local)?.problem?.reason).toBe('PromotionSourceNotFound');
  });
});

describe('approvalFacts', () => {
  test('production requires one by default; entries of other revisions and repeats do not count', () => {
    const rel = release('shop', 'production', '2.0.0');
    const k2 = approvalKey('r2', rel.spec);
    const k1 = approvalKey('r1', rel.spec);
    rel.metadata = {
      ...rel.metadata,
      annotations: {
        'cutover.dev/approved-by': `${k2}:alice,${k1}:bob,${k2}:alice, ${k2}:carol`,
        'cutover.dev/changed-by': 'dave',
      },
    };
    expect(approvalFacts(rel, environment('shop', 'production'), 'r2')).toEqual({
      required: 1,
      approvers: ['alice', 'carol'],
      author: 'dave',
      forbidSelfApproval: false,
    });
    expect(approvalFacts(rel, environment('shop', 'dev', { tier: 'development' }), 'r2')).toBeUndefined();
  });
});
