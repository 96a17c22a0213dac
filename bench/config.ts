// Benchmark for the config gate at scale (issue 10): 1,000 Releases in one
// Environment, of which `--settled` rolled out before its configuration broke
// and the rest wait at the config gate. Then three ConfigMap changes:
//
//   A. an unrelated key changes: the gate result of no Release changes.
//      Re-evaluated = every waiting Release reconciled since the change (the
//      operator's reconcile counter) and the queue drained. Writes expected: 0.
//   B. the violation changes (another bad value): every waiting Release's
//      gate message changes, no settled one's. Re-evaluated = every waiting
//      Release shows the new message (seen by a watch). Writes expected: one
//      per waiting Release, none for the settled ones.
//   C. the configuration is fixed: re-evaluated = every waiting Release has
//      left Pending (seen by a watch); their rollouts then go on.
//
// For each: seconds until re-evaluated, Release status writes, Event writes
// and reads of the ConfigMap's data, from the operator's own metrics.
//
//   tsx bench/config.ts [--count 1000] [--settled 200] [--workers 16]
import type { KubernetesObject } from '@kubernetes/client-node';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Release } from '../operator/api/generated/index.js';
import { createNamespace, deleteNamespace, installCrds, kubectl, objectApi } from '../test/harness/kube.js';
import { startOperator, type OperatorProcess } from '../test/harness/operator.js';
import { waitFor } from '../test/harness/wait.js';
import { createAll, release } from '../test/operator/fixtures.js';
import { configMap } from '../test/release/fixtures.js';
import { watchCollection } from './lib/kube.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    settled: { type: 'string', default: '200' },
    workers: { type: 'string', default: '16' },
  },
});
const count = Number(values.count);
const settled = Number(values.settled);
const waiting = count - settled;

const ENV = 'bench';
const CONFIG = 'bench-config';

function environment(namespace: string): KubernetesObject {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Environment',
    metadata: { name: ENV, namespace },
    spec: {
      tier: 'development',
      config: {
        configMapRef: { name: CONFIG },
        rules: [
          { key: 'POOL', type: 'integer', minimum: 1, maximum: 100 },
          { key: 'LOG_LEVEL', enum: ['debug', 'info', 'warn', 'error'] },
        ],
      },
    },
  } as KubernetesObject;
}

const stalledMessage = (r: Release): string | undefined =>
  r.status?.conditions?.find((c) => c.type === 'Stalled' && c.status === 'True')?.message;

interface Counters {
  releaseStatusWrites: number;
  environmentStatusWrites: number;
  eventWrites: number;
  configReads: number;
  releaseReconciles: number;
  operatorCpuSeconds: number;
}

async function counters(op: OperatorProcess): Promise<Counters> {
  return {
    releaseStatusWrites: await op.metric('cutover_api_writes_total', { resource: 'releases/status' }),
    environmentStatusWrites: await op.metric('cutover_api_writes_total', { resource: 'environments/status' }),
    eventWrites: await op.metric('cutover_api_writes_total', { resource: 'events' }),
    configReads: await op.metric('cutover_config_reads_total', { kind: 'ConfigMap' }),
    releaseReconciles: await op.metric('cutover_reconcile_total', { kind: 'Release' }),
    operatorCpuSeconds: await op.metric('process_cpu_seconds_total'),
  };
}

const diff = (a: Counters, b: Counters): Counters => ({
  releaseStatusWrites: b.releaseStatusWrites - a.releaseStatusWrites,
  environmentStatusWrites: b.environmentStatusWrites - a.environmentStatusWrites,
  eventWrites: b.eventWrites - a.eventWrites,
  configReads: b.configReads - a.configReads,
  releaseReconciles: b.releaseReconciles - a.releaseReconciles,
  operatorCpuSeconds: +(b.operatorCpuSeconds - a.operatorCpuSeconds).toFixed(2),
});

async function main(): Promise<void> {
  await installCrds();
  const api = objectApi();
  const ns = await createNamespace('bench-config', api);
  const op = await startOperator({
    leaseName: `bench-config-${process.pid}`,
    args: ['--workers', values.workers],
  });
  const watched = await watchCollection<Release>(`/apis/cutover.dev/v1alpha1/namespaces/${ns}/releases`);
  const all = () => [...watched.objects.values()];
  const held = () => all().filter((r) => r.status?.phase === 'Pending' && stalledMessage(r));
  const patch = (data: Record<string, string>) =>
    kubectl('-n', ns, 'patch', 'configmap', CONFIG, '--type', 'merge', '-p', JSON.stringify({ data }));
  const drained = async () => (await op.metric('cutover_workqueue_depth')) === 0;
  try {
    await op.waitReady();
    await createAll(api, [configMap(ns, CONFIG, { POOL: '10', LOG_LEVEL: 'info' }), environment(ns)]);
    await createAll(
      api,
      Array.from({ length: settled }, (_, i) => release(ns, `settled-${i}`, ENV)),
      32,
    );
    await waitFor(() => all().filter((r) => r.status?.phase === 'Succeeded').length === settled, {
      timeoutMs: 600_000,
      intervalMs: 200,
      description: `${settled} settled Releases`,
    });
    await patch({ POOL: '0' });
    await createAll(
      api,
      Array.from({ length: waiting }, (_, i) => release(ns, `held-${i}`, ENV)),
      32,
    );
    await waitFor(async () => held().length === waiting && (await drained()), {
      timeoutMs: 600_000,
      intervalMs: 200,
      description: `${waiting} Releases held at the config gate`,
    });

    // A: nothing any gate reads changes.
    let before = await counters(op);
    let start = performance.now();
    await patch({ UNRELATED: 'x' });
    await waitFor(
      async () => (await counters(op)).releaseReconciles - before.releaseReconciles >= waiting && drained(),
      { timeoutMs: 120_000, intervalMs: 50, description: 'every held Release re-evaluated (A)' },
    );
    const a = { seconds: (performance.now() - start) / 1000, ...diff(before, await counters(op)) };

    // B: another violation: every held Release's message changes, no settled one's.
    before = await counters(op);
    start = performance.now();
    await patch({ POOL: '500' });
    await waitFor(
      () => held().filter((r) => stalledMessage(r)?.includes('above the maximum')).length === waiting,
      {
        timeoutMs: 120_000,
        intervalMs: 20,
        description: 'every held Release showing the new violation (B)',
      },
    );
    const bSeconds = (performance.now() - start) / 1000;
    await waitFor(drained, { timeoutMs: 60_000, description: 'queue drained (B)' });
    const b = { seconds: bSeconds, ...diff(before, await counters(op)) };

    // C: fixed: every held Release leaves the gate.
    before = await counters(op);
    start = performance.now();
    await patch({ POOL: '20' });
    await waitFor(() => all().filter((r) => r.status?.phase === 'Pending').length === 0, {
      timeoutMs: 120_000,
      intervalMs: 20,
      description: 'every held Release released (C)',
    });
    const c = { seconds: (performance.now() - start) / 1000, ...diff(before, await counters(op)) };

    const round = (x: { seconds: number } & Counters) => ({ ...x, seconds: +x.seconds.toFixed(2) });
    const result = {
      releases: count,
      workers: Number(values.workers),
      loadAverage1m: +(loadavg()[0] ?? 0).toFixed(2),
      settled,
      heldAtGate: waiting,
      unrelatedChange: round(a),
      violationChanged: round(b),
      fixed: { ...round(c), note: 'status writes include the rollouts that start at once' },
    };
    console.log(JSON.stringify(result, null, 2));
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/config.json', JSON.stringify(result, null, 2) + '\n');
  } finally {
    watched.stop();
    await op.stop();
    await deleteNamespace(ns, api);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
