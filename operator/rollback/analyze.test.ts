// Which reads an evaluation makes, against a Prometheus that answers from a table.
import type { RollbackPolicySpec, Trigger } from '../api/generated/index.js';
import { createAnalyzer } from './analyze.js';
import type { PrometheusClient, QueryResult } from './prometheus.js';
import type { AnalysisTarget } from './types.js';

const at = new Date('2026-03-02T09:00:00Z');
const ADDRESS = 'http://prometheus.monitoring:9090';

interface Call {
  address: string;
  promql: string;
  timeoutMs: number;
}

/** Answers each query with the value of the first pattern it contains. */
function fakePrometheus(values: [string, number][]): { client: PrometheusClient; calls: Call[] } {
  const calls: Call[] = [];
  const client: PrometheusClient = {
    query(address, promql, timeoutMs) {
      calls.push({ address, promql, timeoutMs });
      const hit = values.find(([pattern]) => promql.includes(pattern));
      const result: QueryResult = hit
        ? { ok: true, series: [{ labels: {}, value: hit[1] }] }
        : { ok: true, series: [] };
      return Promise.resolve(result);
    },
  };
  return { client, calls };
}

const green = 'slot="green",version="v2"';
const blue = 'slot="blue",version="v1"';
const healthy: [string, number][] = [
  [`http_requests_total{app="shop",${green},code=~"5.."}`, 0.001],
  [`http_requests_total{app="shop",${green}}`, 20],
  [`http_requests_total{app="shop",${blue}}`, 20],
  [
    `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{app="shop",${green}}`,
    0.105,
  ],
  [
    `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{app="shop",${blue}}`,
    0.1,
  ],
  ['shop-green', 0.5],
  ['shop-blue', 0.25],
];

const target: AnalysisTarget = {
  namespace: 'shop',
  app: 'shop',
  slot: 'green',
  version: 'v2',
  stable: { slot: 'blue', version: 'v1' },
  resources: { cpuCores: 1, memoryBytes: 2 ** 30 },
  databaseUrls: new Map(),
};

function policy(triggers: Trigger[], extra: Partial<RollbackPolicySpec> = {}): RollbackPolicySpec {
  return { prometheus: { address: ADDRESS, timeout: '2s' }, triggers, ...extra };
}

const latency: Trigger = { name: 'latency', builtin: 'LatencyP95', threshold: '500ms' };
const errors: Trigger = { name: 'errors', builtin: 'ErrorRate', threshold: '1%' };
const slower: Trigger = { name: 'slower', builtin: 'LatencyP95', relativeTo: 'Stable', maxIncrease: '10%' };
const cpu: Trigger = { name: 'cpu', builtin: 'CPU', threshold: '90%' };

describe('evaluate', () => {
  test('reads the request rate once per slot, and the stable slot only for relative triggers', async () => {
    const { client, calls } = fakePrometheus(healthy);
    const analyzer = createAnalyzer({ prometheus: client, now: () => at });
    const absolute = await analyzer.evaluate(policy([latency, errors]), target);
    expect(absolute).toMatchObject({ at, verdict: 'Pass', message: '2 triggers pass' });
    expect(calls).toHaveLength(3);
    expect(calls.filter((c) => c.promql.includes(blue))).toEqual([]);
    expect(calls.every((c) => c.address === ADDRESS && c.timeoutMs === 2000)).toBe(true);

    calls.length = 0;
    const relative = await analyzer.evaluate(policy([latency, errors, slower]), target);
    expect(relative.readings[2]).toMatchObject({ result: 'Pass', value: '105ms', baseline: '100ms' });
    const rates = calls.filter((c) => c.promql.startsWith('sum(rate(http_requests_total'));
    expect(rates.map((c) => c.promql.includes(green))).toEqual([true, false]);
    expect(calls).toHaveLength(5);
  });

  test('hands on the numbers it read, by slot, unformatted', async () => {
    const { client } = fakePrometheus(healthy);
    const evaluation = await createAnalyzer({ prometheus: client }).evaluate(policy([slower, cpu]), target);
    expect(evaluation.measurements).toEqual([
      { trigger: 'slower', signal: 'LatencyP95', slot: 'new', value: 0.105 },
      { trigger: 'slower', signal: 'LatencyP95', slot: 'stable', value: 0.1 },
      { trigger: 'cpu', signal: 'CPU', slot: 'new', value: 0.5 },
    ]);
  });

  test('starts every read before any has answered', async () => {
    let started = 0;
    const waiting: (() => void)[] = [];
    const client: PrometheusClient = {
      query() {
        started += 1;
        return new Promise((resolve) => waiting.push(() => resolve({ ok: true, series: [] })));
      },
    };
    const evaluation = createAnalyzer({ prometheus: client }).evaluate(
      policy([latency, errors, slower]),
      target,
    );
    await Promise.resolve();
    expect(started).toBe(5);
    for (const answer of waiting) answer();
    expect((await evaluation).verdict).toBe('Inconclusive');
  });

  test('minRequestRate 0 reads no request rate', async () => {
    const { client, calls } = fakePrometheus(healthy);
    await createAnalyzer({ prometheus: client }).evaluate(policy([latency], { minRequestRate: 0 }), target);
    expect(calls.map((c) => c.promql)).toEqual([expect.stringContaining('histogram_quantile')]);
  });

  test('a slot without request series has served 0 req/s', async () => {
    const { client } = fakePrometheus(healthy.slice(2));
    const evaluation = await createAnalyzer({ prometheus: client }).evaluate(policy([errors]), target);
    expect(evaluation.message).toBe('errors: Inconclusive (0 req/s to the new slot, below minRequestRate 1)');
  });

  test('the window goes into every range', async () => {
    const { client, calls } = fakePrometheus(healthy);
    await createAnalyzer({ prometheus: client }).evaluate(policy([latency, cpu]), target, { window: '90s' });
    expect(calls.every((c) => c.promql.includes('[90s]'))).toBe(true);
    await expect(
      createAnalyzer({ prometheus: client }).evaluate(policy([latency]), target, { window: '1s5' }),
    ).rejects.toThrow('invalid duration');
  });

  test('CPU and Memory without limits or requests are Inconclusive, and not queried', async () => {
    const { client, calls } = fakePrometheus(healthy);
    const memory: Trigger = { name: 'memory', builtin: 'Memory', threshold: '90%' };
    const bare = { ...target, resources: {} };
    const evaluation = await createAnalyzer({ prometheus: client }).evaluate(policy([cpu, memory]), bare);
    expect(calls).toEqual([]);
    expect(evaluation.readings.map((r) => r.reason)).toEqual([
      'a container of slot green has neither a CPU limit nor a CPU request to measure its use against',
      'a container of slot green has neither a memory limit nor a memory request to measure its use against',
    ]);
  });

  test("the stable slot's CPU is a share of its own resources when they are known", async () => {
    const { client, calls } = fakePrometheus(healthy);
    const growth: Trigger = { name: 'cpu-growth', builtin: 'CPU', relativeTo: 'Stable', maxIncrease: '50%' };
    const analyzer = createAnalyzer({ prometheus: client });
    const shared = await analyzer.evaluate(policy([growth]), target);
    expect(shared.readings[0]).toMatchObject({ value: '50%', baseline: '25%', result: 'Fail' });
    expect(calls.map((c) => c.promql.slice(c.promql.lastIndexOf('/')))).toEqual(['/ 1', '/ 1']);
    calls.length = 0;
    const own = { ...target, stable: { slot: 'blue', version: 'v1', resources: { cpuCores: 0.5 } } };
    await analyzer.evaluate(policy([growth]), own);
    expect(calls.map((c) => c.promql.slice(c.promql.lastIndexOf('/')))).toEqual(['/ 1', '/ 0.5']);
  });

  test('a custom query is run for each slot with its own labels', async () => {
    const { client, calls } = fakePrometheus([['queue_depth', 3]]);
    const q: Trigger = {
      name: 'queue',
      query: 'max(queue_depth{app="{{app}}",slot="{{slot}}",v="{{version}}",ns="{{namespace}}"})',
      above: 10,
      relativeTo: 'Stable',
      maxIncrease: '50%',
    };
    const evaluation = await createAnalyzer({ prometheus: client }).evaluate(policy([q]), target);
    expect(calls.map((c) => c.promql)).toEqual([
      'max(queue_depth{app="shop",slot="green",v="v2",ns="shop"})',
      'max(queue_depth{app="shop",slot="blue",v="v1",ns="shop"})',
    ]);
    expect(evaluation.readings[0]).toMatchObject({ result: 'Pass', value: '3', baseline: '3' });
  });

  test('a policy nobody gave an address: every reading Inconclusive, nothing sent', async () => {
    const { client, calls } = fakePrometheus(healthy);
    const evaluation = await createAnalyzer({ prometheus: client }).evaluate(
      { prometheus: { timeout: '5s' }, triggers: [latency, errors] },
      target,
    );
    expect(calls).toEqual([]);
    expect(evaluation.verdict).toBe('Inconclusive');
    expect(evaluation.readings.map((r) => [r.trigger, r.result])).toEqual([
      ['latency', 'Inconclusive'],
      ['errors', 'Inconclusive'],
    ]);
    expect(evaluation.readings[0]?.reason).toContain('no Prometheus address');
  });
});

describe('probe', () => {
  const client = (result: QueryResult): PrometheusClient => ({ query: () => Promise.resolve(result) });

  test.each<[string, QueryResult, object]>([
    [
      'an answer of 1',
      { ok: true, series: [{ labels: {}, value: 1 }] },
      { ok: true, ms: expect.any(Number) },
    ],
    [
      'an error',
      { ok: false, error: 'Prometheus at x: connection refused' },
      { ok: false, error: 'Prometheus at x: connection refused' },
    ],
    [
      'another answer',
      { ok: true, series: [] },
      { ok: false, error: 'Prometheus answered vector(1) with something other than 1' },
    ],
  ])('%s', async (_what, result, expected) => {
    expect(await createAnalyzer({ prometheus: client(result) }).probe(ADDRESS, 1000)).toEqual(expected);
  });
});
