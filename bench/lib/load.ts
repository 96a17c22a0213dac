// Part B: N Releases under analysis at a fixed interval.
//
// N Replicas-mode Releases (0 replicas: the local nodes hold 750 pods, and
// analysis reads metrics, not pods) are rolled v1 → v2 with a step of a day,
// so all of them sit in Shifting and are evaluated every interval. The
// policy has three builtin triggers (LatencyP95, ErrorRate, LatencyP95
// relative to the stable slot): five distinct queries per evaluation. With
// --metrics served, simulated healthy traffic for both slots of every Release
// makes each evaluation a Pass; with none, every query finds no series and
// every evaluation is Inconclusive (the same queries, cheaper answers).
// Once every verdict has settled (no more status writes from the first
// evaluations), a window of whole intervals is measured.
import type { KubernetesObjectApi } from '@kubernetes/client-node';
import type { Release } from '../../operator/api/generated/index.js';
import { parseDuration } from '../../operator/runtime/duration.js';
import type { KubeClient } from '../../operator/runtime/client.js';
import { startAppMetrics } from '../../test/harness/app-metrics.js';
import { createNamespace, deleteNamespace } from '../../test/harness/kube.js';
import type { OperatorProcess } from '../../test/harness/operator.js';
import { startPrometheus, type PromDuration } from '../../test/harness/prometheus.js';
import { TrafficDriver } from '../../test/harness/traffic.js';
import { waitFor } from '../../test/harness/wait.js';
import { environment, release } from '../../test/release/fixtures.js';
import { forEachConcurrently, rollbackPolicy, setVersion, watchCollection } from './kube.js';
import {
  bucketMax,
  bucketQuantile,
  deltaBy,
  histogramDelta,
  peakRssOf,
  round,
  snapshot,
  sum,
} from './stats.js';

/** Requests per second to each Release, split 50/50 at the first step: 2 req/s to the canary, over minRequestRate 1. */
const RPS = 4;
const WINDOW = '1m';
const TRIGGERS = [
  { name: 'latency', builtin: 'LatencyP95' as const, threshold: '500ms' },
  { name: 'errors', builtin: 'ErrorRate' as const, threshold: '1%' },
  { name: 'slower', builtin: 'LatencyP95' as const, relativeTo: 'Stable' as const, maxIncrease: '50%' },
];

export interface LoadOptions {
  releases: number;
  interval: string;
  minutes: number;
  /** Serve simulated traffic for every Release (Pass), or none (Inconclusive). */
  served: boolean;
  scrapeInterval: PromDuration;
}

export async function measureLoad(
  api: KubernetesObjectApi,
  client: KubeClient,
  op: OperatorProcess,
  o: LoadOptions,
) {
  const intervalMs = parseDuration(o.interval);
  const app = await startAppMetrics({ tickMs: 1000 });
  const prom = await startPrometheus({ scrapeTargets: [app.target], scrapeInterval: o.scrapeInterval });
  const ns = await createNamespace('bench-analysis', api);
  const names = Array.from({ length: o.releases }, (_, i) => `load-${i}`);
  const drivers = new Map(names.map((n) => [n, new TrafficDriver(app, api, ns, n, RPS)]));
  const releases = await watchCollection<Release>(
    `/apis/cutover.dev/v1alpha1/namespaces/${ns}/releases`,
    (rel) => {
      if (o.served) drivers.get(rel.metadata?.name ?? '')?.follow(rel);
    },
  );
  const count = (pred: (r: Release) => boolean) => [...releases.objects.values()].filter(pred).length;
  try {
    await prom.waitForTargetsUp(30_000);
    await api.create(environment(ns));
    await api.create(
      rollbackPolicy(ns, 'load', {
        prometheus: { address: prom.url },
        interval: o.interval,
        window: WINDOW,
        failureLimit: 2,
        triggers: TRIGGERS,
      }),
    );
    const traffic = { mode: 'Replicas', steps: [50, 100], stepDuration: '24h' };
    const extra = { traffic, rollbackPolicyRef: { name: 'load' }, progressDeadline: '10m' };
    await forEachConcurrently(names, 16, async (name) => {
      await api.create(release(ns, name, { mode: 'Replicas', replicas: 0, extra }));
    });
    await waitFor(() => count((r) => r.status?.phase === 'Succeeded') === o.releases, {
      timeoutMs: 900_000,
      intervalMs: 500,
      description: `${o.releases} Releases at v1`,
    });
    await forEachConcurrently(names, 16, (name) => setVersion(client, ns, name, '2.0.0'));
    const verdict = o.served ? 'Pass' : 'Inconclusive';
    await waitFor(
      () =>
        count(
          (r) =>
            r.spec.version === '2.0.0' &&
            r.status?.phase === 'Shifting' &&
            r.status.analysis?.verdict === verdict,
        ) === o.releases,
      { timeoutMs: 900_000, intervalMs: 500, description: `${o.releases} Releases Shifting, ${verdict}` },
    );

    // Whole intervals, so the count of evaluations does not depend on where the window cuts.
    const windowMs = Math.max(1, Math.round((o.minutes * 60_000) / intervalMs)) * intervalMs;
    const before = await snapshot(op);
    // The measurement window itself, not a wait for a state; it ends early if a Release leaves Shifting.
    let left = 0;
    await waitFor(
      () => {
        left = o.releases - count((r) => r.status?.phase === 'Shifting');
        return left > 0 || performance.now() - before.at >= windowMs;
      },
      { timeoutMs: windowMs + 60_000, intervalMs: 1_000, description: 'the measurement window' },
    );
    if (left > 0) throw new Error(`${left} Releases left Shifting during the measurement window`);
    const after = await snapshot(op);

    const seconds = (after.at - before.at) / 1000;
    const cpu = after.cpuSeconds - before.cpuSeconds;
    const intervals = (seconds * 1000) / intervalMs;
    const evaluations = deltaBy(before, after, 'cutover_analysis_evaluations_total', 'result');
    const evaluated = Object.values(evaluations).reduce((a, b) => a + b, 0);
    const queries = deltaBy(before, after, 'cutover_analysis_query_duration_seconds_count', 'outcome');
    const queried = Object.values(queries).reduce((a, b) => a + b, 0);
    const lateness = histogramDelta(before, after, 'cutover_analysis_lateness_seconds');
    const queryTime = histogramDelta(before, after, 'cutover_analysis_query_duration_seconds');
    const reconcile = histogramDelta(before, after, 'cutover_reconcile_duration_seconds', {
      kind: 'Release',
    });
    const writes = deltaBy(before, after, 'cutover_api_writes_total', 'resource');
    const perMinute = (n: number) => round((n * 60) / seconds, 1);
    const mib = (bytes: number) => round(bytes / 2 ** 20, 1);
    return {
      releases: o.releases,
      interval: o.interval,
      window: WINDOW,
      triggers: TRIGGERS.map((t) => t.name),
      metrics: o.served ? `served (${RPS} req/s per Release)` : 'none',
      scrapeInterval: o.scrapeInterval,
      measuredSeconds: round(seconds, 1),
      intervals: round(intervals, 2),
      operatorCpuPercentOfCore: round((cpu / seconds) * 100, 1),
      // Everything the operator did in the window, per evaluation: the figure to scale by.
      operatorCpuMsPerEvaluation: round((cpu * 1000) / evaluated, 2),
      evaluationsPerInterval: round(evaluated / intervals, 1),
      evaluationsByResult: evaluations,
      // Each Release is due once per interval; fewer than this means some were evaluated less often.
      expectedPerInterval: o.releases,
      latenessSeconds: {
        resolution: 'bucket upper bounds of cutover_analysis_lateness_seconds',
        observations: lateness.at(-1)?.[1] ?? 0,
        p50: bucketQuantile(lateness, 0.5),
        p99: bucketQuantile(lateness, 0.99),
        max: bucketMax(lateness),
      },
      prometheusQueriesPerInterval: round(queried / intervals, 1),
      queriesPerEvaluation: round(queried / evaluated, 2),
      queriesByOutcome: queries,
      querySeconds: { p50: bucketQuantile(queryTime, 0.5), p99: bucketQuantile(queryTime, 0.99) },
      reconcileSeconds: { p50: bucketQuantile(reconcile, 0.5), p99: bucketQuantile(reconcile, 0.99) },
      statusWritesPerMinute: perMinute(writes['releases/status'] ?? 0),
      writesPerMinuteByResource: Object.fromEntries(
        Object.entries(writes).map(([k, v]) => [k, perMinute(v)]),
      ),
      rssMiB: mib(sum(after.metrics, 'process_resident_memory_bytes')),
      peakRssMiB: mib(peakRssOf(op.proc.child.pid ?? 0)),
      heapUsedMiB: mib(sum(after.metrics, 'nodejs_heap_size_used_bytes')),
    };
  } finally {
    releases.stop();
    await deleteNamespace(ns, api);
    await Promise.all([prom.stop(), app.close()]);
  }
}

export type LoadResult = Awaited<ReturnType<typeof measureLoad>>;
