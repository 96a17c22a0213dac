// Benchmark for drift correction (issue 10) on the local cluster: a settled
// Release in an Environment with drift.mode Correct, its active slot scaled
// down through the scale subresource (what `kubectl scale` does) 100 times,
// alternating a scale to 1 (the manager is named) and to 0 (no manager is
// recorded, found from the value); the time from the scale request to the
// watch showing spec.replicas restored, p50/p99.
//
//   make bench   (or: tsx bench/drift.ts [--drifts 100])
import { Watch, type KubernetesObject, type V1Deployment } from '@kubernetes/client-node';
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
import { environment, httpRoute, readRelease, release } from '../test/release/fixtures.js';
import { KubeClient } from '../operator/runtime/client.js';
import { kubeConfigAccess } from '../operator/runtime/kubeconfig.js';
import { quantile, round } from './lib/stats.js';

const { values } = parseArgs({ options: { drifts: { type: 'string', default: '100' } } });
const REPLICAS = 2;

async function main(): Promise<void> {
  await installCrds();
  const api = objectApi();
  const ns = await createNamespace('bench-drift', api);
  const env = environment(ns) as KubernetesObject & { spec: Record<string, unknown> };
  await api.create({ ...env, spec: { ...env.spec, drift: { mode: 'Correct' } } } as KubernetesObject);
  const op = await startOperator({ leaseName: `bench-drift-${process.pid}` });
  try {
    await op.waitReady();
    await api.create(httpRoute(ns, 'web'));
    await api.create(release(ns, 'web', { replicas: REPLICAS }));
    await waitFor(async () => (await readRelease(api, ns, 'web')).status?.phase === 'Succeeded', {
      timeoutMs: 60_000,
      description: 'web Succeeded',
    });

    let replicas = -1;
    let restoredAt = 0;
    // Only a version after the scale's own counts: a late event of the previous round must not end this one.
    let after = 0n;
    let lastRv = 0n;
    const req = await new Watch(kubeConfig()).watch(
      `/apis/apps/v1/namespaces/${ns}/deployments`,
      { fieldSelector: 'metadata.name=web-blue' },
      (_t: string, d: V1Deployment) => {
        replicas = d.spec?.replicas ?? -1;
        const rv = BigInt(d.metadata?.resourceVersion ?? '0');
        lastRv = rv;
        if (replicas === REPLICAS && rv > after && after > 0n && restoredAt === 0)
          restoredAt = performance.now();
      },
      () => undefined,
    );
    await waitFor(() => replicas === REPLICAS, { timeoutMs: 10_000, description: 'the watch' });
    // Through the API, not a kubectl process, whose start-up would dominate the figure.
    const client = new KubeClient(kubeConfigAccess(kubeConfig()));
    const scale = (to: number) =>
      client.request<KubernetesObject>('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/web-blue/scale`, {
        body: { spec: { replicas: to } },
        contentType: 'application/merge-patch+json',
        query: { fieldManager: 'kubectl' },
      });
    const samples: number[] = [];
    const drifts = Number(values.drifts);
    for (let i = 0; i < drifts; i++) {
      restoredAt = 0;
      after = 0n;
      const t = performance.now();
      const scaled = await scale(i % 2);
      after = BigInt(scaled.metadata?.resourceVersion ?? '0');
      // Restored before the scale's own response came back: counted now (a little late, never early).
      if (replicas === REPLICAS && lastRv > after) restoredAt = performance.now();
      await waitFor(() => restoredAt > 0, {
        timeoutMs: 10_000,
        intervalMs: 2,
        description: `drift ${i} restored`,
      });
      samples.push(restoredAt - t);
      // The next drift starts from a settled Release: Drifted back to False.
      await waitFor(
        async () =>
          (await readRelease(api, ns, 'web')).status?.conditions?.find((c) => c.type === 'Drifted')
            ?.status === 'False',
        { timeoutMs: 10_000, description: 'Drifted=False' },
      );
    }
    req.abort();
    const result = {
      drifts: samples.length,
      scaleToRestoredMs: {
        p50: round(quantile(samples, 0.5)),
        p99: round(quantile(samples, 0.99)),
        max: round(Math.max(...samples)),
      },
      driftTotal: await op.metric('cutover_drift_total', { kind: 'Deployment', mode: 'Correct' }),
    };
    console.log(JSON.stringify(result, null, 2));
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/drift.json', JSON.stringify(result, null, 2) + '\n');
  } finally {
    await op.stop();
    await deleteNamespace(ns, api);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
