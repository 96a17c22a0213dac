// Benchmark for the release flow (issue 4) on the local cluster:
//  - operator overhead beyond the configured waits of a four-step rollout
//    (time from the version change to Succeeded, minus 4 × stepDuration);
//  - API writes per rollout, by verb and resource, against the minimum the
//    flow needs;
//  - abort annotation → HTTPRoute weight back at 0, p50/p99 over repeated aborts.
//
//   make bench   (or: tsx bench/rollout.ts [--rollouts 5] [--aborts 20])
import { Watch } from '@kubernetes/client-node';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  kubeConfig,
  objectApi,
} from '../test/harness/kube.js';
import { startOperator } from '../test/harness/operator.js';
import { waitFor } from '../test/harness/wait.js';
import { environment, httpRoute, readRelease, release, setVersion } from '../test/release/fixtures.js';
import { previewWeight, type HTTPRoute } from '../operator/release/traffic/route.js';
import { KubeClient } from '../operator/runtime/client.js';
import { kubeConfigAccess } from '../operator/runtime/kubeconfig.js';

const { values } = parseArgs({
  options: { rollouts: { type: 'string', default: '5' }, aborts: { type: 'string', default: '20' } },
});
const STEP_MS = 1000;

const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(q * xs.length) - 1)] ?? NaN;

async function main(): Promise<void> {
  await installCrds();
  const api = objectApi();
  const ns = await createNamespace('bench-rollout', api);
  await api.create(environment(ns));
  const op = await startOperator({ leaseName: `bench-rollout-${process.pid}` });
  try {
    await op.waitReady();

    // 1 + 2: full rollouts with 1 s steps.
    await api.create(httpRoute(ns, 'web'));
    await api.create(release(ns, 'web', { extra: { scaleDownDelay: '1s' } }));
    await waitFor(async () => (await readRelease(api, ns, 'web')).status?.phase === 'Succeeded', {
      timeoutMs: 60_000,
      description: 'v1',
    });
    const overheads: number[] = [];
    const writes: Array<Record<string, number>> = [];
    for (let i = 0; i < Number(values.rollouts); i++) {
      const version = `2.0.${i}`;
      const before = await writeCounts(op.metrics.bind(op));
      const t = performance.now();
      await setVersion(api, ns, 'web', version);
      await waitFor(
        async () => {
          const s = (await readRelease(api, ns, 'web')).status;
          return s?.phase === 'Succeeded' && s.stableVersion === version;
        },
        { timeoutMs: 60_000, intervalMs: 20, description: `rollout ${version}` },
      );
      overheads.push(performance.now() - t - 4 * STEP_MS);
      // Let the old slot's scale-down (after scaleDownDelay) land in this rollout's count.
      await waitFor(async () => (await readRelease(api, ns, 'web')).status?.scaleDownAt === undefined, {
        timeoutMs: 30_000,
        description: 'old slot scaled down',
      });
      await waitFor(async () => (await op.metric('cutover_workqueue_depth')) === 0, {
        timeoutMs: 10_000,
        description: 'idle',
      });
      const after = await writeCounts(op.metrics.bind(op));
      writes.push(
        Object.fromEntries(
          Object.entries(after)
            .map(([k, v]) => [k, v - (before[k] ?? 0)])
            .filter(([, v]) => v !== 0),
        ),
      );
    }

    // 3: abort latency.
    await api.create(httpRoute(ns, 'ab'));
    const traffic = {
      mode: 'GatewayAPI',
      httpRouteRef: { name: 'ab' },
      steps: [50, 100],
      stepDuration: '10m',
    };
    await api.create(release(ns, 'ab', { extra: { traffic } }));
    await waitFor(async () => (await readRelease(api, ns, 'ab')).status?.phase === 'Succeeded', {
      timeoutMs: 60_000,
      description: 'ab v1',
    });
    let weight = -1;
    let zeroAt = 0;
    const req = await new Watch(kubeConfig()).watch(
      `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`,
      { fieldSelector: 'metadata.name=ab' },
      (_t: string, r: HTTPRoute) => {
        weight = previewWeight(r, 'ab', 'ab-preview') ?? -1;
        if (weight === 0 && zeroAt === 0) zeroAt = performance.now();
      },
      () => undefined,
    );
    // The annotation goes through the API directly: a kubectl process start would dominate the figure.
    const client = new KubeClient(kubeConfigAccess(kubeConfig()));
    const aborts: number[] = [];
    for (let i = 0; i < Number(values.aborts); i++) {
      await setVersion(api, ns, 'ab', `2.0.${i}`);
      await waitFor(() => weight === 50, { timeoutMs: 30_000, intervalMs: 5, description: 'the 50 % step' });
      zeroAt = 0;
      const t = performance.now();
      await client.patch(
        { apiVersion: 'cutover.dev/v1alpha1', resource: 'releases', namespace: ns, name: 'ab' },
        { metadata: { annotations: { 'cutover.dev/abort': 'bench' } } },
        'merge',
      );
      await waitFor(() => zeroAt > 0, { timeoutMs: 10_000, intervalMs: 2, description: 'weight back to 0' });
      aborts.push(zeroAt - t);
      await waitFor(async () => (await readRelease(api, ns, 'ab')).status?.phase === 'RolledBack', {
        timeoutMs: 10_000,
        description: 'RolledBack',
      });
    }
    req.abort();

    const result = {
      rollouts: overheads.length,
      stepDurationMs: STEP_MS,
      overheadMs: { median: Math.round(quantile(overheads, 0.5)), max: Math.round(Math.max(...overheads)) },
      writesPerRollout: writes,
      abortToRouteMs: {
        n: aborts.length,
        p50: Math.round(quantile(aborts, 0.5)),
        p99: Math.round(quantile(aborts, 0.99)),
        max: Math.round(Math.max(...aborts)),
      },
    };
    console.log(JSON.stringify(result, null, 2));
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/rollout.json', JSON.stringify(result, null, 2) + '\n');
  } finally {
    await op.stop();
    await deleteNamespace(ns, api);
  }
}

async function writeCounts(metrics: () => Promise<Map<string, number>>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [series, v] of await metrics()) {
    const m = /^cutover_api_writes_total\{(.*)\}$/.exec(series);
    if (!m?.[1]) continue;
    const verb = /verb="([^"]+)"/.exec(m[1])?.[1] ?? '';
    const resource = /resource="([^"]+)"/.exec(m[1])?.[1] ?? '';
    out[`${verb} ${resource}`] = v;
  }
  return out;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
