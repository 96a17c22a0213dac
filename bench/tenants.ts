// Benchmark for tenant isolation at scale (issue 10): T tenants, each with a
// staging and a production namespace labelled cutover.dev/tenant=<tenant>,
// an Environment in each (production promotes from its tenant's staging,
// across namespaces), and one Release per namespace. Plus one namespace of a
// foreign tenant promoting from tenant 0, which must stay refused.
// Reports the time until every production Release Succeeded after its staging
// one, the operator's RSS, and API writes.
//
//   tsx bench/tenants.ts [--tenants 500]     (2 × tenants namespaces)
import type { KubernetesObject } from '@kubernetes/client-node';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Release } from '../operator/api/generated/index.js';
import { installCrds, kubectl, objectApi } from '../test/harness/kube.js';
import { startOperator } from '../test/harness/operator.js';
import { waitFor } from '../test/harness/wait.js';
import { createAll, release } from '../test/operator/fixtures.js';

const { values } = parseArgs({ options: { tenants: { type: 'string', default: '500' } } });
const tenants = Number(values.tenants);
const api = objectApi();
const prefix = `bench-tenant-${Date.now().toString(36)}`;

const nsOf = (t: number, stage: 'stg' | 'prd') => `${prefix}-${t}-${stage}`;

function namespace(name: string, tenant: string): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'cutover.dev/tenant': tenant } },
  };
}

function environment(ns: string, name: string, spec: Record<string, unknown>): KubernetesObject {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Environment',
    metadata: { name, namespace: ns },
    spec: { tier: 'staging', ...spec },
  } as KubernetesObject;
}

async function phases(): Promise<Map<string, number>> {
  const list = await api.list<Release>('cutover.dev/v1alpha1', 'Release');
  const counts = new Map<string, number>();
  for (const r of list.items) {
    if (!r.metadata?.namespace?.startsWith(prefix)) continue;
    const key = `${r.metadata.namespace.endsWith('-prd') ? 'prd' : r.metadata.namespace.endsWith('-stg') ? 'stg' : 'foreign'}:${r.status?.conditions?.find((c) => c.type === 'Ready')?.reason ?? 'none'}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

async function main(): Promise<void> {
  await installCrds();
  const foreign = `${prefix}-foreign`;
  const t0 = performance.now();
  const namespaces: KubernetesObject[] = [namespace(foreign, 'someone-else')];
  for (let t = 0; t < tenants; t++)
    namespaces.push(namespace(nsOf(t, 'stg'), `t${t}`), namespace(nsOf(t, 'prd'), `t${t}`));
  await createAll(api, namespaces);
  const envs: KubernetesObject[] = [
    environment(foreign, 'production', {
      promotion: { from: { namespace: nsOf(0, 'stg'), name: 'staging' } },
    }),
  ];
  for (let t = 0; t < tenants; t++) {
    envs.push(environment(nsOf(t, 'stg'), 'staging', {}));
    envs.push(
      environment(nsOf(t, 'prd'), 'production', {
        promotion: { from: { namespace: nsOf(t, 'stg'), name: 'staging' } },
      }),
    );
  }
  await createAll(api, envs);
  console.log(
    `${namespaces.length} namespaces and ${envs.length} Environments in ${Math.round(performance.now() - t0)} ms`,
  );

  const op = await startOperator({ args: ['--workers', '16'] });
  try {
    await op.waitReady(60_000);
    const writesBefore = await op.metric('cutover_api_writes_total');
    // Production first: every one is held until its staging Release Succeeded.
    const releases: KubernetesObject[] = [release(foreign, 'web', 'production')];
    for (let t = 0; t < tenants; t++) releases.push(release(nsOf(t, 'prd'), 'web', 'production'));
    await createAll(api, releases);
    await waitFor(async () => ((await phases()).get('prd:NotPromoted') ?? 0) === tenants || false, {
      timeoutMs: 600_000,
      intervalMs: 2000,
      description: 'every production Release held by promotion.from',
    });
    const start = performance.now();
    const staging: KubernetesObject[] = [];
    for (let t = 0; t < tenants; t++) staging.push(release(nsOf(t, 'stg'), 'web', 'staging'));
    await createAll(api, staging);
    const counts = await waitFor(
      async () => {
        const c = await phases();
        return (c.get('prd:RolloutSucceeded') ?? 0) === tenants ? c : false;
      },
      { timeoutMs: 900_000, intervalMs: 1000, description: 'every production Release Succeeded' },
    );
    const promotedMs = performance.now() - start;
    const rss = await op.metric('process_resident_memory_bytes');
    const writes = (await op.metric('cutover_api_writes_total')) - writesBefore;
    const result = {
      tenants,
      namespaces: namespaces.length,
      promotedAllSeconds: Math.round(promotedMs / 100) / 10,
      rssMiB: Math.round(rss / 1048576),
      apiWrites: writes,
      foreign: [...counts.entries()].filter(([k]) => k.startsWith('foreign')),
    };
    console.log(JSON.stringify(result, null, 2));
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/tenants.json', `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await op.stop();
    const names = namespaces.map((n) => n.metadata?.name ?? '');
    await kubectl('delete', 'namespace', '--wait=false', ...names).catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
