// The analysis against a real Prometheus scraping simulated traffic, and a
// real PostgreSQL for DatabasePool. No cluster: the analysis does no
// Kubernetes I/O. Every scenario is its own version on the green slot, all
// served from the start, so one wait fills every query window.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import type { RollbackPolicySpec, Trigger } from '../../operator/api/generated/index.js';
import type { AddressedPolicySpec } from '../../operator/rollback/address.js';
import { createAnalyzer, type Analyzer } from '../../operator/rollback/analyze.js';
import { poolUsage } from '../../operator/rollback/database.js';
import { createPrometheusClient, type QueryOutcome } from '../../operator/rollback/prometheus.js';
import type { AnalysisTarget, Evaluation } from '../../operator/rollback/types.js';
import { startAppMetrics, type AppMetricsServer, type Traffic } from '../harness/app-metrics.js';
import { startPostgres, type PostgresInstance } from '../harness/postgres.js';
import { startPrometheus, type PrometheusInstance } from '../harness/prometheus.js';
import { waitFor } from '../harness/wait.js';

// jest-circus takes testTimeout only from the global config; pass it explicitly.
const SLOW_MS = 120_000;
// Short, so the test waits seconds for full windows; 1s scrapes put ten samples in it.
const WINDOW = '10s';
const RPS = 200;

const stable: Traffic = {
  app: 'shop',
  slot: 'blue',
  version: 'v1',
  rps: RPS,
  errorRatio: 0,
  latencySeconds: 0.095,
};
const green = (version: string, traffic: Partial<Traffic>): Traffic => ({
  ...stable,
  slot: 'green',
  version,
  errorRatio: 0.005,
  latencySeconds: 0.099,
  ...traffic,
});
// 0.095 s and 0.099 s (4% slower) share the (0.075, 0.1] bucket; 0.15 s (58% slower) is in the next one.
const SCENARIOS = [
  stable,
  green('v2', {}),
  green('errors', { errorRatio: 0.05 }),
  green('slow', { latencySeconds: 0.6 }),
  green('slower', { latencySeconds: 0.15 }),
  green('quiet', { rps: 0.4 }),
];

let app: AppMetricsServer | undefined;
let prom: PrometheusInstance | undefined;
let db: PostgresInstance | undefined;
const outcomes: QueryOutcome[] = [];
const analyzer: Analyzer = createAnalyzer({
  prometheus: createPrometheusClient({ onQuery: (_ms, outcome) => outcomes.push(outcome) }),
  poolUsage,
});

beforeAll(async () => {
  app = await startAppMetrics();
  for (const traffic of SCENARIOS) app.setTraffic(traffic);
  const target = app.target;
  [prom, db] = await Promise.all([
    startPrometheus({ scrapeTargets: [target], scrapeInterval: '1s' }),
    startPostgres({ settings: { max_connections: 20 } }),
  ]);
  const running = prom;
  await waitFor(
    async () => {
      const [fewest] = await running.query(
        `min(count_over_time(http_requests_total{app="shop"}[${WINDOW}]))`,
      );
      return (fewest?.value ?? 0) >= 10;
    },
    { timeoutMs: 60_000, intervalMs: 500, description: `a full ${WINDOW} window of every scenario` },
  );
}, SLOW_MS);

afterAll(async () => {
  await Promise.all([prom?.stop(), db?.stop(), app?.close()]);
}, SLOW_MS);

function policy(triggers: Trigger[], extra: Partial<RollbackPolicySpec> = {}): AddressedPolicySpec {
  if (!prom) throw new Error('Prometheus did not start');
  return { triggers, ...extra, prometheus: { address: prom.url, timeout: '5s' } };
}

function target(version: string, extra: Partial<AnalysisTarget> = {}): AnalysisTarget {
  return {
    namespace: 'shop',
    app: 'shop',
    slot: 'green',
    version,
    stable: { slot: 'blue', version: 'v1' },
    resources: {},
    databaseUrls: new Map(),
    ...extra,
  };
}

const latency: Trigger = { name: 'latency', builtin: 'LatencyP95', threshold: '500ms' };
const errors: Trigger = { name: 'errors', builtin: 'ErrorRate', threshold: '1%' };
const slower: Trigger = { name: 'slower', builtin: 'LatencyP95', relativeTo: 'Stable', maxIncrease: '10%' };

function evaluate(
  triggers: Trigger[],
  version: string,
  extra: Partial<RollbackPolicySpec> = {},
): Promise<Evaluation> {
  return analyzer.evaluate(policy(triggers, extra), target(version), { window: WINDOW });
}

/** The number in a formatted reading: `98.8ms` → 98.8. */
function numberIn(text: string | undefined): number {
  return Number.parseFloat(text ?? 'NaN');
}

describe('against Prometheus', () => {
  it('a healthy slot passes, with values near the traffic it served', async () => {
    const throughput: Trigger = {
      name: 'throughput',
      query: `sum(rate(http_requests_total{app="{{app}}",slot="{{slot}}",version="{{version}}"}[${WINDOW}]))`,
      below: 100,
    };
    const evaluation = await evaluate([latency, errors, throughput, slower], 'v2');
    expect(evaluation).toMatchObject({ verdict: 'Pass', message: '4 triggers pass' });
    const [p95, errorRate, rps, relative] = evaluation.readings;
    // histogram_quantile interpolates inside the (75ms, 100ms] bucket.
    expect(numberIn(p95?.value)).toBeGreaterThan(75);
    expect(numberIn(p95?.value)).toBeLessThanOrEqual(100);
    expect(numberIn(errorRate?.value)).toBeGreaterThan(0.4);
    expect(numberIn(errorRate?.value)).toBeLessThan(0.6);
    expect(numberIn(rps?.value)).toBeGreaterThan(0.9 * RPS);
    expect(numberIn(rps?.value)).toBeLessThan(1.1 * RPS);
    expect(relative).toMatchObject({ result: 'Pass', value: p95?.value, baseline: p95?.value });
  });

  it('a 5% error ratio breaches a 1% threshold', async () => {
    const evaluation = await evaluate([latency, errors], 'errors');
    expect(evaluation.verdict).toBe('Fail');
    const value = evaluation.readings[1]?.value;
    expect(numberIn(value)).toBeCloseTo(5, 0);
    expect(evaluation.message).toBe(`errors: ErrorRate ${value ?? ''} > 1%`);
  });

  it('a p95 of 600ms breaches 500ms', async () => {
    const evaluation = await evaluate([latency, errors], 'slow');
    expect(evaluation.verdict).toBe('Fail');
    expect(evaluation.message).toMatch(/^latency: LatencyP95 \d+(\.\d)?ms > 500ms$/);
    expect(numberIn(evaluation.readings[0]?.value)).toBeGreaterThan(500);
  });

  it('a slot much slower than the stable one breaches maxIncrease', async () => {
    const evaluation = await evaluate([latency, slower], 'slower');
    expect(evaluation.readings[0]?.result).toBe('Pass');
    expect(evaluation.readings[1]).toMatchObject({ result: 'Fail', threshold: '+10% over stable' });
    expect(evaluation.message).toMatch(
      /^slower: LatencyP95 [\d.]+ms \+[\d.]+% over stable [\d.]+ms \(max \+10%\)$/,
    );
  });

  it('too little traffic to the new slot is Inconclusive', async () => {
    const evaluation = await evaluate([latency, errors], 'quiet');
    expect(evaluation.verdict).toBe('Inconclusive');
    const reason = evaluation.readings[0]?.reason ?? '';
    expect(reason).toMatch(/^[\d.]+ req\/s to the new slot, below minRequestRate 1$/);
    expect(numberIn(reason)).toBeLessThan(1);
    expect(evaluation.message).toBe(`latency: Inconclusive (${reason}); errors: Inconclusive (${reason})`);
  });

  it('CPU and Memory queries are valid PromQL: without cAdvisor series they find no data', async () => {
    const cpu: Trigger = { name: 'cpu', builtin: 'CPU', threshold: '90%' };
    const memory: Trigger = { name: 'memory', builtin: 'Memory', threshold: '90%' };
    const resources = { cpuCores: 0.5, memoryBytes: 2 ** 28 };
    const evaluation = await analyzer.evaluate(policy([cpu, memory]), target('v2', { resources }), {
      window: WINDOW,
    });
    expect(evaluation.readings.map((r) => r.reason)).toEqual([
      'no data: the query returned no series',
      'no data: the query returned no series',
    ]);
  });

  it('the probe answers with its duration', async () => {
    const probe = await analyzer.probe(policy([]).prometheus.address, 5000);
    expect(probe).toEqual({ ok: true, ms: expect.any(Number) });
  });
});

describe('DatabasePool against PostgreSQL', () => {
  const pool: Trigger = { name: 'pool', builtin: 'DatabasePool', threshold: '50%' };
  const evaluatePool = (): Promise<Evaluation> => {
    if (!db) throw new Error('PostgreSQL did not start');
    return analyzer.evaluate(policy([pool]), target('v2', { databaseUrls: new Map([['pool', db.url]]) }));
  };

  it('fails while connections fill more than half of max_connections, and passes once they are released', async () => {
    const url = db?.url ?? '';
    const held = Array.from({ length: 12 }, () => new pg.Client({ connectionString: url }));
    try {
      await Promise.all(held.map((c) => c.connect()));
      const busy = await evaluatePool();
      expect(busy.verdict).toBe('Fail');
      // 12 held and the reading's own, of 20.
      expect(busy.message).toBe('pool: DatabasePool 65% > 50%');
    } finally {
      await Promise.all(held.map((c) => c.end()));
    }
    // Backends exit a moment after their clients hang up.
    const idle = await waitFor(
      async () => {
        const evaluation = await evaluatePool();
        return evaluation.verdict === 'Pass' && evaluation;
      },
      {
        timeoutMs: 10_000,
        description: 'the held connections to leave pg_stat_activity',
      },
    );
    expect(idle.readings[0]).toMatchObject({ result: 'Pass', threshold: '50%' });
    expect(numberIn(idle.readings[0]?.value)).toBeLessThan(50);
    expect(JSON.stringify(idle)).not.toContain(db?.password);
  });
});

// Last: it stops the Prometheus every other test shares.
describe('with Prometheus gone', () => {
  it('every reading is Inconclusive with the error, after one retry per query', async () => {
    const address = policy([]).prometheus.address;
    await prom?.stop();
    outcomes.length = 0;
    const evaluation = await evaluate([latency, errors], 'v2', { minRequestRate: 0 });
    const why = `Prometheus at ${address}: connection refused (ECONNREFUSED) (retried once)`;
    expect(evaluation).toMatchObject({
      verdict: 'Inconclusive',
      message: `latency: Inconclusive (${why}); errors: Inconclusive (${why})`,
    });
    // Two queries, each tried twice.
    expect(outcomes).toEqual(['unreachable', 'unreachable', 'unreachable', 'unreachable']);
    // Right after, the server is not asked again: a Prometheus that is down holds no worker.
    expect(await analyzer.probe(address, 1000)).toEqual({
      ok: false,
      error: `Prometheus at ${address}: connection refused (ECONNREFUSED) (not asked again for 5 s)`,
    });
    expect(outcomes).toHaveLength(4);
  });
});
