import { Registry } from 'prom-client';
import type { Condition, Release, ReleaseStatus } from '../api/generated/index.js';
import type { Evaluation, Measurement } from '../rollback/types.js';
import { ReleaseMetrics } from './metrics.js';

const rel = (status: ReleaseStatus = {}): Release => ({
  apiVersion: 'cutover.dev/v1alpha1',
  kind: 'Release',
  metadata: { name: 'shop', namespace: 'prod' },
  spec: {
    environmentRef: { name: 'production' },
    application: 'shop',
    version: '2.0.0',
    template: { spec: { containers: [{ name: 'app', image: 'shop:2' }] } },
  },
  status,
});

const ready = (status: Condition['status'], reason: string): Condition => ({
  type: 'Ready',
  status,
  reason,
  message: '',
  lastTransitionTime: '2026-03-02T09:00:00Z',
});

/** Each series of one metric as `labels=value`, sorted, for comparisons that read like the exposition. */
async function series(registry: Registry, name: string): Promise<string[]> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not registered`);
  const { values } = await metric.get();
  return values
    .map(
      (v) =>
        `${Object.entries(v.labels)
          .map(([k, l]) => `${k}=${String(l)}`)
          .join(',')} ${v.value}`,
    )
    .sort();
}

describe('release metrics restating status', () => {
  test('the phase gauge has one series per Release, moving with its phase, gone when it is', async () => {
    const registry = new Registry();
    const m = new ReleaseMetrics(registry);
    m.observe(rel(), { phase: 'WaitingForWindow' });
    m.observe(rel({ phase: 'WaitingForWindow' }), { phase: 'Deploying' });
    expect(await series(registry, 'cutover_release_phase')).toEqual([
      'namespace=prod,release=shop,phase=Deploying 1',
    ]);
    m.forget('prod', 'shop');
    expect(await series(registry, 'cutover_release_phase')).toEqual([]);
    expect(await series(registry, 'cutover_release_degraded')).toEqual([]);
  });

  test('slot unavailable follows Ready with reason SlotUnavailable', async () => {
    const registry = new Registry();
    const m = new ReleaseMetrics(registry);
    m.observe(rel(), { phase: 'Succeeded', conditions: [ready('False', 'SlotUnavailable')] });
    expect(await series(registry, 'cutover_release_slot_unavailable')).toEqual([
      'namespace=prod,release=shop 1',
    ]);
    m.observe(rel(), { phase: 'Succeeded', conditions: [ready('True', 'RolloutSucceeded')] });
    expect(await series(registry, 'cutover_release_slot_unavailable')).toEqual([
      'namespace=prod,release=shop 0',
    ]);
  });

  test('inconclusive counts only while the analysis holds the rollout', async () => {
    const registry = new Registry();
    const m = new ReleaseMetrics(registry);
    m.observe(rel(), { phase: 'Shifting', analysis: { verdict: 'Inconclusive' } });
    expect(await series(registry, 'cutover_release_analysis_inconclusive')).toEqual([
      'namespace=prod,release=shop 1',
    ]);
    // A verdict left in status after the rollout ended holds nothing.
    m.observe(rel(), { phase: 'RolledBack', analysis: { verdict: 'Inconclusive' } });
    expect(await series(registry, 'cutover_release_analysis_inconclusive')).toEqual([
      'namespace=prod,release=shop 0',
    ]);
  });

  test('approvals count each approver once per revision', async () => {
    const registry = new Registry();
    const m = new ReleaseMetrics(registry);
    m.observe(rel({ revision: 'a' }), { revision: 'a', approvedBy: ['ana'] });
    m.observe(rel({ revision: 'a', approvedBy: ['ana'] }), { revision: 'a', approvedBy: ['ana', 'bo'] });
    m.observe(rel({ revision: 'a', approvedBy: ['ana', 'bo'] }), {
      revision: 'a',
      approvedBy: ['ana', 'bo'],
    });
    expect(await series(registry, 'cutover_approvals_total')).toEqual(['namespace=prod,release=shop 2']);
    // The same person approving the next revision is a new approval.
    m.observe(rel({ revision: 'a', approvedBy: ['ana', 'bo'] }), { revision: 'b', approvedBy: ['ana'] });
    expect(await series(registry, 'cutover_approvals_total')).toEqual(['namespace=prod,release=shop 3']);
  });
});

describe('analysis measurements', () => {
  const MEASUREMENT = 'cutover_analysis_measurement';
  const evaluation = (...measurements: Measurement[]): Evaluation => ({
    at: new Date('2026-03-02T09:00:00Z'),
    verdict: 'Pass',
    readings: [],
    message: 'pass',
    measurements,
  });
  const latency = (slot: Measurement['slot'], value: number): Measurement => ({
    trigger: 'latency',
    signal: 'LatencyP95',
    slot,
    value,
  });
  const memory = (value: number): Measurement => ({
    trigger: 'memory',
    signal: 'Memory',
    slot: 'new',
    value,
  });
  const shifting = rel({ phase: 'Shifting' });

  test('each evaluation replaces the last one; between evaluations its numbers stand', async () => {
    const registry = new Registry();
    const m = new ReleaseMetrics(registry);
    m.observe(
      shifting,
      { phase: 'Shifting' },
      evaluation(latency('new', 0.13), latency('stable', 0.1), memory(0.85)),
    );
    expect(await series(registry, MEASUREMENT)).toEqual([
      'namespace=prod,release=shop,trigger=latency,signal=LatencyP95,slot=new 0.13',
      'namespace=prod,release=shop,trigger=latency,signal=LatencyP95,slot=stable 0.1',
      'namespace=prod,release=shop,trigger=memory,signal=Memory,slot=new 0.85',
    ]);
    m.observe(shifting, { phase: 'Shifting' });
    expect(await series(registry, MEASUREMENT)).toHaveLength(3);
    // Memory read nothing this time (no data): its last number is not left to alert on.
    m.observe(shifting, { phase: 'Shifting' }, evaluation(latency('new', 0.12), latency('stable', 0.1)));
    expect(await series(registry, MEASUREMENT)).toEqual([
      'namespace=prod,release=shop,trigger=latency,signal=LatencyP95,slot=new 0.12',
      'namespace=prod,release=shop,trigger=latency,signal=LatencyP95,slot=stable 0.1',
    ]);
  });

  test('the stable slot is a baseline only while traffic shifts', async () => {
    const registry = new Registry();
    const m = new ReleaseMetrics(registry);
    m.observe(shifting, { phase: 'Shifting' }, evaluation(latency('new', 0.13), latency('stable', 0.1)));
    m.observe(shifting, { phase: 'Baking' });
    expect(await series(registry, MEASUREMENT)).toEqual([
      'namespace=prod,release=shop,trigger=latency,signal=LatencyP95,slot=new 0.13',
    ]);
  });

  test.each(['RollingBack', 'Succeeded', 'Pending'] as const)(
    'a Release that left analysis for %s has none, even from the evaluation that made it leave',
    async (phase) => {
      const registry = new Registry();
      const m = new ReleaseMetrics(registry);
      m.observe(shifting, { phase: 'Shifting' }, evaluation(latency('new', 0.13), memory(0.5)));
      m.observe(shifting, { phase }, evaluation(latency('new', 0.9)));
      expect(await series(registry, MEASUREMENT)).toEqual([]);
    },
  );

  test("a deleted Release's measurements go, and only its own", async () => {
    const registry = new Registry();
    const m = new ReleaseMetrics(registry);
    const other: Release = { ...shifting, metadata: { name: 'cart', namespace: 'prod' } };
    m.observe(shifting, { phase: 'Shifting' }, evaluation(memory(0.5)));
    m.observe(other, { phase: 'Baking' }, evaluation(memory(0.7)));
    m.forget('prod', 'shop');
    expect(await series(registry, MEASUREMENT)).toEqual([
      'namespace=prod,release=cart,trigger=memory,signal=Memory,slot=new 0.7',
    ]);
  });
});
