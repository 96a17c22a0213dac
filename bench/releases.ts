// Benchmark for the operator runtime (issue 3): 1,000 Releases created at
// once against the local cluster. Reports the time until all are Ready, the
// per-object create→Ready latency (p50/p99, seen by a watch), the reconcile
// duration histogram, the operator's RSS once settled, and API writes during a
// settled window that includes a forced full resync.
//
//   make bench            (or: tsx bench/releases.ts [--count 1000] [--settle-seconds 60])
import { Watch, type KubernetesObject } from '@kubernetes/client-node';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  apiserverRequests,
  createNamespace,
  deleteNamespace,
  installCrds,
  kubeConfig,
  objectApi,
} from '../test/harness/kube.js';
import { startOperator } from '../test/harness/operator.js';
import { waitFor } from '../test/harness/wait.js';
import { createAll, environment, release } from '../test/operator/fixtures.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    'settle-seconds': { type: 'string', default: '60' },
    workers: { type: 'string', default: '16' },
    // Extra flags for the operator's node, e.g. --node-args=--max-old-space-size=96 (space-separated).
    'node-args': { type: 'string', default: '' },
  },
});
const count = Number(values.count);
const settleMs = Number(values['settle-seconds']) * 1000;

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}

/** Quantile from a Prometheus histogram's cumulative buckets (upper bound of the bucket it falls in). */
function histogramQuantile(buckets: Array<[number, number]>, q: number): number {
  const total = buckets.at(-1)?.[1] ?? 0;
  for (const [le, c] of buckets) if (c >= q * total) return le;
  return Infinity;
}

/**
 * Where the RSS lives (Linux smaps): the V8 heap and malloc arenas are
 * anonymous mappings, [heap] is the main malloc arena, files are code.
 */
function rssByMapping(pid: number | undefined): Record<string, number> | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return undefined;
  }
  const kb: Record<string, number> = {};
  let name = 'anonymous';
  for (const line of text.split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const path = header[1] ?? '';
      name =
        path === ''
          ? 'anonymous'
          : path.startsWith('[')
            ? path
            : path.endsWith('/node')
              ? 'node binary'
              : 'other files';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) kb[name] = (kb[name] ?? 0) + Number(rss[1]);
  }
  return Object.fromEntries(Object.entries(kb).map(([k, v]) => [k, +(v / 1024).toFixed(1)]));
}

async function main(): Promise<void> {
  await installCrds();
  const api = objectApi();
  // An earlier run's namespace (2,000 Services, 1,000 Deployments) takes a
  // minute or two to delete; measuring while it does would measure that too.
  await waitFor(
    async () => {
      const list = await api.list('v1', 'Namespace');
      return !list.items.some(
        (n) => n.metadata?.name?.startsWith('bench-releases-') && n.metadata.deletionTimestamp,
      );
    },
    { timeoutMs: 600_000, intervalMs: 2_000, description: 'earlier bench namespaces deleted' },
  );
  const ns = await createNamespace('bench-releases', api);
  const op = await startOperator({
    leaseName: `bench-${process.pid}`,
    args: ['--workers', values.workers],
    nodeArgs: values['node-args'].split(' ').filter(Boolean),
  });
  try {
    await op.waitReady();
    // Idle: informers synced on an empty namespace, start-up garbage collected.
    await new Promise((r) => setTimeout(r, 5_000));
    const idleRss = await op.metric('process_resident_memory_bytes');
    await createAll(api, [environment(ns)]);

    const createdAt = new Map<string, number>();
    const readyAt = new Map<string, number>();
    const watch = new Watch(kubeConfig());
    const req = await watch.watch(
      `/apis/cutover.dev/v1alpha1/namespaces/${ns}/releases`,
      {},
      (
        _phase: string,
        obj: KubernetesObject & { status?: { conditions?: Array<{ type: string; status: string }> } },
      ) => {
        const name = obj.metadata?.name ?? '';
        if (
          !readyAt.has(name) &&
          obj.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
        ) {
          readyAt.set(name, performance.now());
        }
      },
      () => undefined,
    );

    const queue = Array.from({ length: count }, (_, i) => release(ns, `bench-${i}`));
    const start = performance.now();
    // 32 clients at once; each object's clock starts when its create is sent.
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let o = queue.shift(); o; o = queue.shift()) {
          createdAt.set(o.metadata?.name ?? '', performance.now());
          await api.create(o);
        }
      }),
    );
    const created = performance.now();
    // The watch gives exact times. A list of every Release is a large response
    // the apiserver has to encode, and the cluster's CPU is what this benchmark
    // measures: one every 15 s is enough to catch what a dropped watch missed.
    let listedAt = performance.now();
    await waitFor(
      async () => {
        if (readyAt.size < count && performance.now() - listedAt > 15_000) {
          listedAt = performance.now();
          const list = await api.list<
            KubernetesObject & { status?: { conditions?: Array<{ type: string; status: string }> } }
          >('cutover.dev/v1alpha1', 'Release', ns);
          for (const r of list.items) {
            const name = r.metadata?.name ?? '';
            if (
              !readyAt.has(name) &&
              r.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
            ) {
              readyAt.set(name, performance.now());
            }
          }
        }
        return readyAt.size === count;
      },
      { timeoutMs: 900_000, intervalMs: 100, description: `${count} Releases Ready` },
    );
    const allReady = Math.max(...readyAt.values());
    req.abort();

    const latencies = [...readyAt.entries()]
      .map(([name, t]) => t - (createdAt.get(name) ?? start))
      .sort((a, b) => a - b);
    const metrics = await op.metrics();
    const buckets: Array<[number, number]> = [];
    for (const [series, v] of metrics) {
      const m = /^cutover_reconcile_duration_seconds_bucket\{(?=.*kind="Release").*le="([^"]+)"/.exec(series);
      if (m) buckets.push([m[1] === '+Inf' ? Infinity : Number(m[1]), v]);
    }
    buckets.sort((a, b) => a[0] - b[0]);

    await waitFor(async () => (await op.metric('cutover_workqueue_depth')) === 0, {
      timeoutMs: 60_000,
      description: 'queue drained',
    });
    // Settled window: writes by the operator and to cutover.dev at the apiserver, with a forced resync halfway.
    const opWritesBefore = await op.metric('cutover_api_writes_total');
    const apiWritesBefore = await apiserverRequests({ group: 'cutover.dev' });
    const windowStart = performance.now();
    await new Promise((r) => setTimeout(r, settleMs / 2));
    op.proc.child.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, settleMs / 2));
    const windowMs = performance.now() - windowStart;
    const opWrites = (await op.metric('cutover_api_writes_total')) - opWritesBefore;
    const apiWrites = (await apiserverRequests({ group: 'cutover.dev' })) - apiWritesBefore;
    const rss = await op.metric('process_resident_memory_bytes');
    const heap = await op.metric('nodejs_heap_size_used_bytes');
    const heapTotal = await op.metric('nodejs_heap_size_total_bytes');
    const external = await op.metric('nodejs_external_memory_bytes');
    // The kernel's high-water mark of the operator's RSS over its whole life (Linux).
    const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${op.proc.child.pid}/status`, 'utf8'))?.[1];
    const mib = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);
    const cpu = await op.metric('process_cpu_seconds_total');

    const result = {
      releases: count,
      workers: Number(values.workers),
      createSeconds: +((created - start) / 1000).toFixed(2),
      allReadySeconds: +((allReady - start) / 1000).toFixed(2),
      createToReadyMs: {
        p50: +quantile(latencies, 0.5).toFixed(1),
        p99: +quantile(latencies, 0.99).toFixed(1),
        max: +(latencies.at(-1) ?? NaN).toFixed(1),
      },
      reconcileSeconds: { p50: histogramQuantile(buckets, 0.5), p99: histogramQuantile(buckets, 0.99) },
      nodeArgs: values['node-args'] || undefined,
      idleRssMiB: mib(idleRss),
      peakRssMiB: peak ? mib(Number(peak) * 1024) : undefined,
      settledRssMiB: mib(rss),
      settledHeapMiB: mib(heap),
      settledHeapTotalMiB: mib(heapTotal),
      settledExternalMiB: mib(external),
      settledRssByMappingMiB: rssByMapping(op.proc.child.pid),
      operatorCpuSeconds: +cpu.toFixed(1),
      settledWindowSeconds: +(windowMs / 1000).toFixed(1),
      settledOperatorWrites: opWrites,
      settledApiserverWrites: apiWrites,
      writesPerSettledHour: Math.round((opWrites * 3_600_000) / windowMs),
    };
    console.log(JSON.stringify(result, null, 2));
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/releases.json', JSON.stringify(result, null, 2) + '\n');
  } finally {
    await op.stop();
    await deleteNamespace(ns, api);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
