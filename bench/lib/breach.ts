// Part A: a breach of the RollbackPolicy → the HTTPRoute's preview weight at 0.
//
// A handful of GatewayAPI Releases sit at their 10 % step with a canary that
// answers 20 % of its requests with a 500, scraped every second by a real
// Prometheus. The policy (interval 1s, window 5s, failureLimit 2) rolls each
// back; the figure is the time from status.rollback.at (the clock reading of
// the deciding reconcile, taken before its queries and written before the
// route patch) to the moment a watch on the HTTPRoute sees the weight at 0.
// Each Release then gets the next version, as bad as the last, and so on.
import type { KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import type { Release } from '../../operator/api/generated/index.js';
import { previewServiceName, stableServiceName } from '../../operator/release/names.js';
import { previewWeight, type HTTPRoute } from '../../operator/release/traffic/route.js';
import type { KubeClient } from '../../operator/runtime/client.js';
import { startAppMetrics } from '../../test/harness/app-metrics.js';
import { createNamespace, deleteNamespace } from '../../test/harness/kube.js';
import { startPrometheus } from '../../test/harness/prometheus.js';
import { TrafficDriver } from '../../test/harness/traffic.js';
import { waitFor } from '../../test/harness/wait.js';
import { environment, httpRoute, release } from '../../test/release/fixtures.js';
import { rollbackPolicy, setVersion, watchCollection, type Watched } from './kube.js';
import { quantile, round } from './stats.js';

/** The first traffic step, where every rollout of this part is caught. */
const STEP = 10;
/** Requests per second to each Release; the canary gets its step's share, 10 req/s. */
const RPS = 100;
const ERROR_RATIO = 0.2;
const CYCLE_TIMEOUT_MS = 60_000;

export interface BreachOptions {
  /** Rollbacks to measure in all. */
  breaches: number;
  /** Releases that take turns; each is rolled out and back breaches / releases times. */
  releases: number;
}

export interface BreachResult {
  breaches: number;
  releases: number;
  policy: { interval: string; window: string; failureLimit: number; trigger: string };
  canary: { rps: number; errorRatio: number };
  /** status.rollback.at → the HTTPRoute watch sees the preview weight at 0. */
  rollbackToRouteMs: { p50: number; p99: number; max: number };
  /** status.rollback.at → the Release watch sees that status (the write before the route patch). */
  rollbackToStatusMs: { p50: number; p99: number; max: number };
  /** The 10 % step seen on the route → status.rollback.at: detection, set by interval, window and failureLimit. */
  stepToRollbackMs: { p50: number; max: number };
}

interface RouteState {
  weight: number;
  /** Wall-clock ms of the last change to STEP and of the last change from above 0 to 0. */
  stepAt: number;
  zeroAt: number;
}

export async function measureBreaches(
  api: KubernetesObjectApi,
  client: KubeClient,
  o: BreachOptions,
): Promise<BreachResult> {
  const policy = { interval: '1s', window: '5s', failureLimit: 2 };
  const app = await startAppMetrics();
  const prom = await startPrometheus({ scrapeTargets: [app.target], scrapeInterval: '1s' });
  const ns = await createNamespace('bench-breach', api);
  const watches: Array<Watched<unknown>> = [];
  try {
    await prom.waitForTargetsUp(30_000);
    await api.create(environment(ns));
    await api.create(
      rollbackPolicy(ns, 'breach', {
        prometheus: { address: prom.url },
        ...policy,
        triggers: [{ name: 'errors', builtin: 'ErrorRate', threshold: '1%' }],
      }),
    );

    const names = Array.from({ length: Math.min(o.releases, o.breaches) }, (_, i) => `breach-${i}`);
    const drivers = new Map(names.map((n) => [n, new TrafficDriver(app, api, ns, n, RPS)]));
    const routes = new Map<string, RouteState>();
    // When the Release watch first showed each rollback, by status.rollback.at.
    const statusSeen = new Map<string, number>();

    watches.push(
      await watchCollection<HTTPRoute & KubernetesObject>(
        `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`,
        (route, at) => {
          const name = route.metadata?.name ?? '';
          const weight = previewWeight(route, stableServiceName(name), previewServiceName(name)) ?? -1;
          const prev = routes.get(name) ?? { weight: -1, stepAt: 0, zeroAt: 0 };
          if (weight === prev.weight) return;
          routes.set(name, {
            weight,
            stepAt: weight === STEP ? at : prev.stepAt,
            zeroAt: weight === 0 && prev.weight > 0 ? at : prev.zeroAt,
          });
        },
      ),
    );
    const releases = await watchCollection<Release>(
      `/apis/cutover.dev/v1alpha1/namespaces/${ns}/releases`,
      (rel, at) => {
        // The simulated users follow the split the status reports.
        drivers.get(rel.metadata?.name ?? '')?.follow(rel);
        const rollbackAt = rel.status?.rollback?.at;
        if (rollbackAt && !statusSeen.has(rollbackAt)) statusSeen.set(rollbackAt, at);
      },
    );
    watches.push(releases);

    for (const name of names) {
      await api.create(httpRoute(ns, name));
      const traffic = {
        mode: 'GatewayAPI',
        httpRouteRef: { name },
        steps: [STEP, 50, 100],
        stepDuration: '10m',
      };
      await api.create(
        release(ns, name, { replicas: 1, extra: { traffic, rollbackPolicyRef: { name: 'breach' } } }),
      );
    }
    await waitFor(() => names.every((n) => releases.objects.get(n)?.status?.phase === 'Succeeded'), {
      timeoutMs: 60_000,
      description: 'every Release at v1',
    });

    const toRoute: number[] = [];
    const toStatus: number[] = [];
    const detection: number[] = [];
    // Each Release runs its own rollouts one after the other; the Releases run side by side.
    await Promise.all(
      names.map(async (name, i) => {
        const cycles = Math.floor(o.breaches / names.length) + (i < o.breaches % names.length ? 1 : 0);
        const driver = drivers.get(name);
        for (let c = 0; c < cycles; c++) {
          const version = `2.${c}.0`;
          const previous = releases.objects.get(name)?.status?.rollback?.at;
          driver?.behave(version, { errorRatio: ERROR_RATIO });
          await setVersion(client, ns, name, version);
          await waitFor(() => routes.get(name)?.weight === STEP, {
            timeoutMs: CYCLE_TIMEOUT_MS,
            intervalMs: 20,
            description: `${name} ${version} at the ${STEP} % step`,
          });
          const rollback = await waitFor(
            () => {
              const r = releases.objects.get(name)?.status?.rollback;
              const route = routes.get(name);
              return (
                r?.at !== undefined &&
                r.at !== previous &&
                route !== undefined &&
                route.zeroAt > route.stepAt &&
                ([r, route] as const)
              );
            },
            { timeoutMs: CYCLE_TIMEOUT_MS, intervalMs: 5, description: `${name} ${version} rolled back` },
          );
          const [r, route] = rollback;
          if (r.cause !== 'AnalysisFailed') throw new Error(`${name} ${version} rolled back for ${r.cause}`);
          const at = Date.parse(r.at ?? '');
          toRoute.push(route.zeroAt - at);
          toStatus.push((statusSeen.get(r.at ?? '') ?? NaN) - at);
          detection.push(at - route.stepAt);
          await waitFor(() => releases.objects.get(name)?.status?.phase === 'RolledBack', {
            timeoutMs: CYCLE_TIMEOUT_MS,
            description: `${name} ${version} RolledBack`,
          });
        }
      }),
    );

    const ms = (xs: number[]) => ({
      p50: round(quantile(xs, 0.5)),
      p99: round(quantile(xs, 0.99)),
      max: round(Math.max(...xs)),
    });
    return {
      breaches: toRoute.length,
      releases: names.length,
      policy: { ...policy, trigger: 'ErrorRate > 1%' },
      canary: { rps: (RPS * STEP) / 100, errorRatio: ERROR_RATIO },
      rollbackToRouteMs: ms(toRoute),
      rollbackToStatusMs: ms(toStatus),
      stepToRollbackMs: { p50: round(quantile(detection, 0.5)), max: round(Math.max(...detection)) },
    };
  } finally {
    for (const w of watches) w.stop();
    await deleteNamespace(ns, api);
    await Promise.all([prom.stop(), app.close()]);
  }
}
