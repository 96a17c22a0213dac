// What a watch scope costs and saves (issue 11): the operator's RSS and its
// open sockets to the apiserver, settled, when it watches every namespace and
// when it watches N namespaces (--namespaces, one list/watch per namespace and
// kind over HTTP/1.1, so one socket each). Every run has the same objects in
// the cluster: one Release in each of the N namespaces, plus --outside
// Releases in a namespace no scoped run watches.
//
//   tsx bench/scope.ts [--namespaces 1,10,50] [--outside 200]
import { readdirSync, readlinkSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createNamespace, deleteNamespace, installCrds, objectApi } from '../test/harness/kube.js';
import { startOperator, type OperatorProcess } from '../test/harness/operator.js';
import { waitFor } from '../test/harness/wait.js';
import { countReady, createAll, environment, release } from '../test/operator/fixtures.js';

const { values } = parseArgs({
  options: {
    namespaces: { type: 'string', default: '1,10,50' },
    outside: { type: 'string', default: '200' },
  },
});
const sizes = values.namespaces.split(',').map(Number);
const outside = Number(values.outside);
const api = objectApi();

function sockets(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;
}

/** RSS and sockets once the queue is empty and every informer is up, after a GC-friendly pause. */
async function settled(op: OperatorProcess, label: string): Promise<void> {
  await op.waitReady(120_000);
  await waitFor(async () => (await op.metric('cutover_workqueue_depth')) === 0, {
    timeoutMs: 300_000,
    description: 'an empty queue',
  });
  // RSS settles over a few GC cycles; sample it until two samples 5 s apart agree within 1 MiB.
  let last = 0;
  const rss = await waitFor(
    async () => {
      const now = await op.metric('process_resident_memory_bytes');
      const stable = Math.abs(now - last) < 1 << 20;
      last = now;
      return stable && now;
    },
    { timeoutMs: 120_000, intervalMs: 5000, description: 'RSS to settle' },
  );
  const mib = async (metric: string) => ((await op.metric(metric)) / 2 ** 20).toFixed(0).padStart(4);
  console.log(
    `${label.padEnd(28)} rss ${(rss / 2 ** 20).toFixed(0).padStart(4)} MiB  heap used ${await mib('nodejs_heap_size_used_bytes')} MiB  external ${await mib('nodejs_external_memory_bytes')} MiB  sockets ${sockets(op.proc.child.pid)}`,
  );
}

async function main(): Promise<void> {
  await installCrds();
  const created: string[] = [];
  const max = Math.max(...sizes);
  try {
    const far = await createNamespace('bench-scope-outside', api);
    created.push(far);
    await api.create(environment(far));
    await createAll(
      api,
      Array.from({ length: outside }, (_, i) => release(far, `out-${i}`)),
    );
    const watched: string[] = [];
    for (let i = 0; i < max; i++) {
      const ns = await createNamespace('bench-scope', api);
      created.push(ns);
      watched.push(ns);
      await api.create(environment(ns));
      await api.create(release(ns, 'web'));
    }
    for (const n of sizes) {
      const op = await startOperator({
        leaseName: `bench-scope-${process.pid}-${n}`,
        args: ['--namespaces', watched.slice(0, n).join(',')],
      });
      try {
        await settled(op, `--namespaces (${n})`);
      } finally {
        await op.stop();
      }
    }
    const op = await startOperator({ leaseName: `bench-scope-${process.pid}-all` });
    try {
      await waitFor(async () => (await countReady(api, far)) === outside, {
        timeoutMs: 600_000,
        description: 'the Releases outside every scope, reconciled by the cluster-wide operator',
      });
      await settled(op, `every namespace (${max + 1})`);
    } finally {
      await op.stop();
    }
  } finally {
    await Promise.all(created.map((ns) => deleteNamespace(ns, api)));
  }
}

await main();
