// The config gate on the local cluster: every violation listed at once on the
// Environment and on the waiting Release, fixing the ConfigMap releases the
// gate within 5 s without touching the Release, no Secret value in status,
// Events or the operator's log; and rolloutOnChange, where a ConfigMap change
// alone rolls out and the history keeps both hashes.
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import type { Environment, Release } from '../../operator/api/generated/index.js';
import { createNamespace, deleteNamespace, installCrds, kubectl, objectApi } from '../harness/kube.js';
import { startOperator, type OperatorProcess } from '../harness/operator.js';
import { waitFor } from '../harness/wait.js';
import { API, configMap, readRelease, release, secret } from '../release/fixtures.js';

const api = objectApi();
let op: OperatorProcess;
let ns: string;

/** In the Secret only: must never appear in status, Events or logs. */
const SECRET_VALUE = 'hunter2-Sup3rSecret-pw';

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('config', api);
  op = await startOperator({ leaseName: `config-${process.pid}` });
  await op.waitReady();
});

afterAll(async () => {
  await op.stop();
  await deleteNamespace(ns, api);
});

function environment(name: string, config: NonNullable<Environment['spec']['config']>): KubernetesObject {
  return {
    apiVersion: API,
    kind: 'Environment',
    metadata: { name, namespace: ns },
    spec: { tier: 'development', config, defaults: { traffic: { stepDuration: '1s' } } },
  } as KubernetesObject;
}

const readEnv = (name: string) =>
  api.read<Environment>({ apiVersion: API, kind: 'Environment', metadata: { name, namespace: ns } });

const condition = (o: { status?: { conditions?: Array<{ type: string }> } }, type: string) =>
  o.status?.conditions?.find((c) => c.type === type) as
    { type: string; status: string; reason: string; message: string } | undefined;

async function patchConfigMap(name: string, data: Record<string, string>): Promise<void> {
  await kubectl('-n', ns, 'patch', 'configmap', name, '--type', 'merge', '-p', JSON.stringify({ data }));
}

const RULES = [
  { key: 'DATABASE_URL', required: true, pattern: '^postgres(ql)?://' },
  { key: 'DATABASE_POOL_SIZE', type: 'integer' as const, minimum: 1, maximum: 100 },
  { key: 'LOG_LEVEL', enum: ['debug', 'info', 'warn', 'error'] },
  { key: 'REQUEST_TIMEOUT', type: 'duration' as const },
  { key: 'API_TOKEN', required: true },
];

test('all violations at once; fixing the ConfigMap releases the gate within 5 s; no Secret value anywhere', async () => {
  await api.create(
    configMap(ns, 'shop-config', { DATABASE_POOL_SIZE: '500', LOG_LEVEL: 'loud', REQUEST_TIMEOUT: 'soon' }),
  );
  await api.create(secret(ns, 'shop-secrets', { DATABASE_URL: `mysql://admin:${SECRET_VALUE}@db/shop` }));
  await api.create(
    environment('gated', {
      configMapRef: { name: 'shop-config' },
      secretRef: { name: 'shop-secrets' },
      rules: RULES,
    }),
  );
  await api.create(release(ns, 'shop', { mode: 'Service', extra: { environmentRef: { name: 'gated' } } }));

  const allKeys = ['DATABASE_URL', 'DATABASE_POOL_SIZE', 'LOG_LEVEL', 'REQUEST_TIMEOUT', 'API_TOKEN'];
  const held = await waitFor(
    async () => {
      const r = await readRelease(api, ns, 'shop');
      return condition(r, 'Stalled')?.reason === 'ConfigInvalid' && r;
    },
    { timeoutMs: 30_000, description: 'the Release held at the config gate' },
  );
  expect(held.status?.phase).toBe('Pending');
  const stalled = condition(held, 'Stalled');
  expect(stalled?.message).toMatch(/^5 configuration rules violated: /);
  for (const key of allKeys) expect(stalled?.message).toContain(`${key}: `);
  // Nothing was touched while held.
  await expect(
    api.read({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'shop-blue', namespace: ns } }),
  ).rejects.toThrow();

  const env = await waitFor(
    async () => {
      const e = await readEnv('gated');
      return e.status?.configErrors?.length === 5 && e.status.waiting?.length === 1 && e;
    },
    { timeoutMs: 10_000, description: 'the Environment listing every violation and the waiting Release' },
  );
  expect(env.status?.configErrors?.map((c) => c.key)).toEqual(allKeys);
  expect(condition(env, 'ConfigValid')).toMatchObject({ status: 'False', reason: 'ConfigInvalid' });
  expect(env.status?.waiting).toEqual([
    { name: 'shop', phase: 'Pending', reason: 'ConfigInvalid', message: stalled?.message },
  ]);
  // The Secret's key is named, its value is not; a ConfigMap value may be quoted.
  expect(env.status?.configErrors?.[0]?.message).toMatch(/^the value \(from the Secret, not shown\) /);
  expect(env.status?.configErrors?.[2]?.message).toContain('"loud"');

  // Fix everything through the ConfigMap (it wins over the Secret) and time the release.
  const before = await readRelease(api, ns, 'shop');
  await patchConfigMap('shop-config', {
    DATABASE_URL: 'postgres://db/shop',
    DATABASE_POOL_SIZE: '20',
    LOG_LEVEL: 'info',
    REQUEST_TIMEOUT: '30s',
    API_TOKEN: 'public-id',
  });
  const fixedAt = performance.now();
  await waitFor(async () => (await readRelease(api, ns, 'shop')).status?.phase !== 'Pending', {
    timeoutMs: 5_000,
    intervalMs: 50,
    description: 'the gate to open within 5 s of the ConfigMap fix',
  });
  const releasedMs = performance.now() - fixedAt;
  expect(releasedMs).toBeLessThan(5_000);
  const after = await readRelease(api, ns, 'shop');
  // The Release itself was not touched: same spec, same generation, same annotations.
  expect(after.metadata?.generation).toBe(before.metadata?.generation);
  expect(after.spec).toEqual(before.spec);
  expect(after.metadata?.annotations).toEqual(before.metadata?.annotations);

  await waitFor(async () => (await readRelease(api, ns, 'shop')).status?.phase === 'Succeeded', {
    timeoutMs: 60_000,
    description: 'the released rollout to succeed',
  });
  const done = await readRelease(api, ns, 'shop');
  expect(done.status?.configHash).toMatch(/^[0-9a-f]{16}$/);
  expect(done.status?.history?.[0]).toMatchObject({
    outcome: 'Succeeded',
    configHash: done.status?.configHash,
    revision: done.status?.revision,
  });
  const fixed = await waitFor(
    async () => {
      const e = await readEnv('gated');
      return condition(e, 'ConfigValid')?.status === 'True' && !!e.status?.releases?.[0]?.succeededAt && e;
    },
    { timeoutMs: 10_000, description: 'the Environment to see the fix and the success' },
  );
  expect(fixed.status?.configErrors).toBeUndefined();
  expect(fixed.status?.waiting).toBeUndefined();
  expect(fixed.status?.releases).toEqual([
    {
      name: 'shop',
      application: 'shop',
      version: '1.0.0',
      phase: 'Succeeded',
      succeededAt: done.status?.history?.[0]?.finishedAt,
    },
  ]);

  // No Secret value in any status, Event or log line.
  const statuses = JSON.stringify([held.status, env.status, done.status, fixed.status]);
  expect(statuses).not.toContain(SECRET_VALUE);
  const events = JSON.parse(await kubectl('-n', ns, 'get', 'events', '-o', 'json')) as {
    items: Array<{ reason?: string; message?: string; involvedObject?: { name?: string } }>;
  };
  expect(events.items.some((e) => e.involvedObject?.name === 'shop')).toBe(true);
  expect(JSON.stringify(events.items)).not.toContain(SECRET_VALUE);
  const log = await op.proc.logTail(4 * 1024 * 1024);
  expect(log.length).toBeGreaterThan(0);
  expect(log).not.toContain(SECRET_VALUE);
  expect(log).not.toContain('hunter2');
});

test('rolloutOnChange: a ConfigMap change alone rolls out, pods carry the hash, history keeps both', async () => {
  await api.create(configMap(ns, 'web-config', { LOG_LEVEL: 'info' }));
  await api.create(
    environment('rolling', {
      configMapRef: { name: 'web-config' },
      rolloutOnChange: true,
      rules: [{ key: 'LOG_LEVEL', enum: ['debug', 'info'] }],
    }),
  );
  await api.create(release(ns, 'web', { mode: 'Service', extra: { environmentRef: { name: 'rolling' } } }));
  const first = await waitFor(
    async () => {
      const r = await readRelease(api, ns, 'web');
      return r.status?.phase === 'Succeeded' && r;
    },
    { timeoutMs: 60_000, description: 'the first rollout' },
  );
  const h1 = first.status?.configHash ?? '';
  expect(h1).toMatch(/^[0-9a-f]{16}$/);
  const slot = (name: string) =>
    api.read<V1Deployment & KubernetesObject>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns },
    });
  expect((await slot('web-blue')).spec?.template.metadata?.annotations?.['cutover.dev/config-hash']).toBe(h1);

  await patchConfigMap('web-config', { LOG_LEVEL: 'debug' });
  const second = await waitFor(
    async () => {
      const r: Release = await readRelease(api, ns, 'web');
      const st = r.status;
      return st?.phase === 'Succeeded' && st.configHash !== h1 && st.activeSlot === 'green' && r;
    },
    { timeoutMs: 60_000, description: 'the configuration change rolled out to the other slot' },
  );
  const h2 = second.status?.configHash ?? '';
  expect(second.metadata?.generation).toBe(first.metadata?.generation);
  expect(second.status?.revision).not.toBe(first.status?.revision);
  expect((await slot('web-green')).spec?.template.metadata?.annotations?.['cutover.dev/config-hash']).toBe(
    h2,
  );
  expect(second.status?.history?.map((h) => [h.outcome, h.configHash, h.revision])).toEqual([
    ['Succeeded', h2, second.status?.revision],
    ['Succeeded', h1, first.status?.revision],
  ]);
});
