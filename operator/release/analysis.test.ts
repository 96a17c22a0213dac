import type { Release, RollbackPolicy, RollbackPolicySpec } from '../api/generated/index.js';
import { KubeClient } from '../runtime/client.js';
import { AnalysisSchedule, observeAnalysis, SecretCache, type AnalysisSources } from './analysis.js';
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
  // No trigger here reads a Secret: the client is never asked.
  const client = new KubeClient({
    server: 'https://unused',
    connect: () => Promise.reject(new Error('no cluster in unit tests')),
  });
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
  const observe = async (rbp: RollbackPolicy, prometheusAddress?: string) => {
    const asked: RollbackPolicySpec[] = [];
    const src: AnalysisSources = {
      client,
      slotTemplate: () => undefined,
      schedule: new AnalysisSchedule(),
      secrets: new SecretCache(client, () => at(0)),
      prometheusAddress,
      analyzer: {
        evaluate: (p) => {
          asked.push(p);
          return Promise.resolve({ at: at(0), verdict: 'Pass', readings: [], message: 'pass' });
        },
      },
    };
    return { obs: await observeAnalysis(src, shifting, spec(), rbp, at(0)), asked };
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
});
