import type { Release, RollbackPolicy, RollbackPolicySpec } from '../api/generated/index.js';
import type { AnalysisTarget } from '../rollback/types.js';
import { SecretMissing, SecretProblem } from '../runtime/secret-values.js';
import { AnalysisSchedule, observeAnalysis, type AnalysisSources } from './analysis.js';
import { spec } from './plan/world.testkit.js';

const at = (s: number) => new Date(Date.parse('2026-11-28T10:00:00Z') + s * 1000);
const INTERVAL = 30_000;

describe('AnalysisSchedule', () => {
  test('a regular evaluation is due after the interval and measured against its end', () => {
    const s = new AnalysisSchedule();
    expect(s.due('ns/web', 'rev2/0', at(0), INTERVAL)).toBe(true);
    expect(s.lateness('ns/web', 'rev2/0', at(0), INTERVAL)).toBeUndefined();
    s.record('ns/web', 'rev2/0', at(0));
    expect(s.due('ns/web', 'rev2/0', at(29), INTERVAL)).toBe(false);
    expect(s.due('ns/web', 'rev2/0', at(31), INTERVAL)).toBe(true);
    expect(s.lateness('ns/web', 'rev2/0', at(31), INTERVAL)).toBe(1000);
  });

  test('the first evaluation of the next rollout is due at once and not late', () => {
    const s = new AnalysisSchedule();
    s.record('ns/web', 'rev2/0', at(0));
    // Rolled back, then a new version 10 s later, and a retry of it an hour on.
    expect(s.due('ns/web', 'rev3/0', at(10), INTERVAL)).toBe(true);
    expect(s.lastAt('ns/web', 'rev3/0')).toBeUndefined();
    s.record('ns/web', 'rev3/0', at(10));
    expect(s.lateness('ns/web', 'rev3/1', at(3600), INTERVAL)).toBeUndefined();
    expect(s.lateness('ns/web', 'rev3/0', at(3600), INTERVAL)).toBe(3_560_000);
  });

  test('an evaluation asked for is due at once and not counted as late', () => {
    const s = new AnalysisSchedule();
    s.record('ns/web', 'rev2/0', at(0));
    s.force('ns/web');
    expect(s.due('ns/web', 'rev2/0', at(1), INTERVAL)).toBe(true);
    expect(s.lateness('ns/web', 'rev2/0', at(1), INTERVAL)).toBeUndefined();
  });
});

describe('observeAnalysis: which Prometheus a policy reads', () => {
  const OPERATOR = 'http://prometheus.monitoring:9090';
  const shifting: Release = {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      environmentRef: { name: 'dev' },
      application: 'shop',
      version: '2.0.0',
      template: { spec: { containers: [{ name: 'app', image: 'shop:2' }] } },
    },
    status: { phase: 'Shifting', revision: 'rev2', targetSlot: 'green' },
  };
  const policy = (prometheus: RollbackPolicySpec['prometheus']): RollbackPolicy => ({
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'RollbackPolicy',
    metadata: { name: 'standard', namespace: 'shop' },
    spec: { prometheus, triggers: [{ name: 'errors', builtin: 'ErrorRate', threshold: '1%' }] },
  });
  const noSecrets: AnalysisSources['secrets'] = {
    value: () => Promise.reject(new Error('no trigger here reads a Secret')),
  };
  const observe = async (rbp: RollbackPolicy, prometheusAddress?: string, secrets = noSecrets) => {
    const asked: RollbackPolicySpec[] = [];
    const targets: AnalysisTarget[] = [];
    const src: AnalysisSources = {
      slotTemplate: () => undefined,
      schedule: new AnalysisSchedule(),
      secrets,
      prometheusAddress,
      analyzer: {
        evaluate: (p, target) => {
          asked.push(p);
          targets.push(target);
          return Promise.resolve({ at: at(0), verdict: 'Pass', readings: [], message: 'pass' });
        },
      },
    };
    return { obs: await observeAnalysis(src, shifting, spec(), rbp, at(0)), asked, targets };
  };

  test("the operator's address fills in for a policy without one, with the policy's timeout", async () => {
    const { obs, asked } = await observe(policy({ timeout: '2s' }), OPERATOR);
    expect(obs.addressMissing).toBeUndefined();
    expect(obs.evaluation?.verdict).toBe('Pass');
    expect(asked.map((p) => p.prometheus)).toEqual([{ address: OPERATOR, timeout: '2s' }]);
  });

  test("the policy's own address wins", async () => {
    const { asked } = await observe(policy({ address: 'https://own:9090' }), OPERATOR);
    expect(asked.map((p) => p.prometheus?.address)).toEqual(['https://own:9090']);
  });

  test('neither: nothing is evaluated, and the plan is told why', async () => {
    const { obs, asked } = await observe(policy({ timeout: '5s' }));
    expect(asked).toEqual([]);
    expect(obs).toMatchObject({ policy: 'standard', addressMissing: true });
    expect(obs.evaluation).toBeUndefined();
  });

  test('a DatabasePool URL comes from its Secret; a missing Secret or key is no URL, a failed read an error', async () => {
    const rbp = policy({ address: OPERATOR });
    rbp.spec.triggers = [
      {
        name: 'pool',
        builtin: 'DatabasePool',
        threshold: '60%',
        databaseSecretRef: { name: 'db', key: 'url' },
      },
    ];
    const url = { value: () => Promise.resolve('postgres://app@db/shop') };
    expect((await observe(rbp, undefined, url)).targets[0]?.databaseUrls.get('pool')).toBe(
      'postgres://app@db/shop',
    );
    const missing = { value: () => Promise.reject(new SecretMissing('Secret "db" not found')) };
    expect((await observe(rbp, undefined, missing)).targets[0]?.databaseUrls.size).toBe(0);
    const forbidden = {
      value: () => Promise.reject(new SecretProblem('reading Secret "db" failed (HTTP 403)')),
    };
    await expect(observe(rbp, undefined, forbidden)).rejects.toThrow('reading Secret "db" failed (HTTP 403)');
  });
});
