// The release flow end to end on the local cluster: v1 → v2 in each traffic
// mode, the HTTPRoute weights at each step, abort, the progress deadline and
// a newer version superseding a rollout in flight.
import { Watch, type KubernetesObject, type V1Deployment, type V1Service } from '@kubernetes/client-node';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  kubeConfig,
  kubectl,
  objectApi,
} from '../harness/kube.js';
import { startOperator, type OperatorProcess } from '../harness/operator.js';
import { waitFor } from '../harness/wait.js';
import { previewWeight, type HTTPRoute } from '../../operator/release/traffic/route.js';
import { environment, httpRoute, readRelease, release, setVersion } from './fixtures.js';

const api = objectApi();
let op: OperatorProcess;
let ns: string;

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('flow', api);
  await api.create(environment(ns));
  op = await startOperator({ leaseName: `flow-${process.pid}` });
  await op.waitReady();
});

afterAll(async () => {
  await op.stop();
  await deleteNamespace(ns, api);
});

const phaseOf = async (name: string) => (await readRelease(api, ns, name)).status?.phase;

async function waitPhase(name: string, phase: string, timeoutMs = 60_000) {
  await waitFor(async () => (await phaseOf(name)) === phase, {
    timeoutMs,
    description: `${name} to reach ${phase}`,
  });
}

async function deployment(name: string): Promise<V1Deployment | undefined> {
  try {
    return await api.read<V1Deployment & KubernetesObject>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns },
    });
  } catch {
    return undefined;
  }
}

/** Records every preview weight the route shows, as a watcher outside the operator sees it. */
async function recordWeights(
  app: string,
): Promise<{ weights: number[]; stop: () => void; route: () => HTTPRoute | undefined }> {
  const weights: number[] = [];
  let last: HTTPRoute | undefined;
  const req = await new Watch(kubeConfig()).watch(
    `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`,
    {},
    (_type: string, route: HTTPRoute) => {
      if (route.metadata?.name !== app) return;
      last = route;
      const w = previewWeight(route, app, `${app}-preview`) ?? -1;
      if (weights.at(-1) !== w) weights.push(w);
    },
    () => undefined,
  );
  return { weights, stop: () => req.abort(), route: () => last };
}

test('GatewayAPI: v1 → v2 reads weights 0, 10, 25, 50, 100; other rules untouched; old slot scaled to 0', async () => {
  const created = await api.create(httpRoute(ns, 'gw'));
  const otherRule = (created as HTTPRoute).spec?.rules?.[0];
  await api.create(release(ns, 'gw'));
  await waitPhase('gw', 'Succeeded');
  const v1 = await readRelease(api, ns, 'gw');
  expect(v1.status).toMatchObject({ activeSlot: 'blue', stableVersion: '1.0.0' });

  const rec = await recordWeights('gw');
  await setVersion(api, ns, 'gw', '2.0.0');
  await waitFor(async () => (await readRelease(api, ns, 'gw')).status?.stableVersion === '2.0.0', {
    timeoutMs: 60_000,
    description: 'v2 promoted',
  });
  rec.stop();
  expect(rec.weights.slice(0, 5)).toEqual([0, 10, 25, 50, 100]);
  const route = rec.route();
  expect(route?.spec?.rules?.[0]).toEqual(otherRule);
  const svc = await api.read<V1Service & KubernetesObject>({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'gw', namespace: ns },
  });
  expect(svc.spec?.selector).toEqual({ app: 'gw', slot: 'green' });
  await waitFor(async () => (await deployment('gw-blue'))?.spec?.replicas === 0, {
    timeoutMs: 20_000,
    description: 'the old slot scaled to zero after scaleDownDelay',
  });
  const v2 = await readRelease(api, ns, 'gw');
  expect(v2.status?.history?.map((h) => `${h.version}:${h.outcome}`)).toEqual([
    '2.0.0:Succeeded',
    '1.0.0:Succeeded',
  ]);
  expect(await kubectl('-n', ns, 'get', 'rel', 'gw', '--no-headers')).toMatch(
    /gw\s+dev\s+2\.0\.0\s+2\.0\.0\s+Succeeded\s+100/,
  );
});

test('Replicas: replica counts follow the weights, then the Service selects the new slot', async () => {
  await api.create(release(ns, 'rep', { mode: 'Replicas', replicas: 4 }));
  await waitPhase('rep', 'Succeeded');
  const seen = new Set<string>();
  const poll = setInterval(() => {
    void Promise.all([deployment('rep-green'), deployment('rep-blue')]).then(([g, b]) =>
      seen.add(`${g?.spec?.replicas ?? 0}/${b?.spec?.replicas ?? 0}`),
    );
  }, 50);
  try {
    await setVersion(api, ns, 'rep', '2.0.0');
    await waitFor(async () => (await readRelease(api, ns, 'rep')).status?.stableVersion === '2.0.0', {
      timeoutMs: 60_000,
      description: 'v2 promoted',
    });
  } finally {
    clearInterval(poll);
  }
  expect([...seen]).toEqual(expect.arrayContaining(['1/3', '2/2', '4/0']));
  const svc = await api.read<V1Service & KubernetesObject>({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'rep', namespace: ns },
  });
  expect(svc.spec?.selector).toEqual({ app: 'rep', slot: 'green' });
});

test('Service: the selector switches once, at 100 %', async () => {
  await api.create(release(ns, 'svc', { mode: 'Service' }));
  await waitPhase('svc', 'Succeeded');
  await setVersion(api, ns, 'svc', '2.0.0');
  await waitFor(async () => (await readRelease(api, ns, 'svc')).status?.stableVersion === '2.0.0', {
    timeoutMs: 60_000,
    description: 'v2 promoted',
  });
  const svc = await api.read<V1Service & KubernetesObject>({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'svc', namespace: ns },
  });
  expect(svc.spec?.selector).toEqual({ app: 'svc', slot: 'green' });
  // Service mode has one step, 100 %, however many the Release lists: the status is at its last one.
  expect((await readRelease(api, ns, 'svc')).status?.currentStep).toBe(0);
  expect((await readRelease(api, ns, 'svc')).status?.canaryWeight).toBe(100);
});

test('abort at 50 %: the weight is back to 0 at once and the Release is RolledBack', async () => {
  await api.create(httpRoute(ns, 'ab'));
  const traffic = { mode: 'GatewayAPI', httpRouteRef: { name: 'ab' }, steps: [50, 100], stepDuration: '60s' };
  await api.create(release(ns, 'ab', { extra: { traffic } }));
  await waitPhase('ab', 'Succeeded');
  const rec = await recordWeights('ab');
  await setVersion(api, ns, 'ab', '2.0.0');
  await waitFor(() => rec.weights.at(-1) === 50, { timeoutMs: 30_000, description: 'the 50 % step' });
  const t = performance.now();
  await kubectl('-n', ns, 'annotate', 'release', 'ab', 'cutover.dev/abort=test');
  await waitFor(() => rec.weights.at(-1) === 0, {
    timeoutMs: 5_000,
    intervalMs: 10,
    description: 'weight back to 0',
  });
  const ms = performance.now() - t;
  rec.stop();
  expect(ms).toBeLessThan(5_000);
  expect(rec.weights).toEqual([0, 50, 0]);
  await waitPhase('ab', 'RolledBack', 10_000);
  const rel = await readRelease(api, ns, 'ab');
  expect(rel.status).toMatchObject({ stableVersion: '1.0.0', activeSlot: 'blue', canaryWeight: 0 });
  expect(rel.status?.history?.[0]).toMatchObject({ version: '2.0.0', outcome: 'Aborted' });
  expect(rel.metadata?.annotations?.['cutover.dev/abort']).toBeUndefined();
  await waitFor(async () => (await deployment('ab-green'))?.spec?.replicas === 0, {
    timeoutMs: 10_000,
    description: 'the aborted slot scaled away',
  });
});

test('new-slot pods that never become Ready: the progress deadline fails the rollout and traffic stays', async () => {
  await api.create(httpRoute(ns, 'stuck'));
  await api.create(release(ns, 'stuck', { extra: { progressDeadline: '3s' } }));
  await waitPhase('stuck', 'Succeeded');
  const rec = await recordWeights('stuck');
  await setVersion(api, ns, 'stuck', '2.0.0', { 'cutover.dev/test-never-ready': 'true' });
  await waitPhase('stuck', 'Failed', 30_000);
  rec.stop();
  const rel = await readRelease(api, ns, 'stuck');
  expect(rel.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('ProgressDeadlineExceeded');
  expect(rec.weights.filter((w) => w > 0)).toEqual([]);
  expect(rel.status).toMatchObject({ stableVersion: '1.0.0', activeSlot: 'blue' });
});

test('a newer version applied mid-rollout supersedes it cleanly', async () => {
  await api.create(httpRoute(ns, 'sup'));
  await api.create(
    release(ns, 'sup', {
      extra: { traffic: { mode: 'GatewayAPI', httpRouteRef: { name: 'sup' }, stepDuration: '20s' } },
    }),
  );
  await waitPhase('sup', 'Succeeded');
  await setVersion(api, ns, 'sup', '2.0.0');
  await waitPhase('sup', 'Shifting', 30_000);
  await setVersion(api, ns, 'sup', '3.0.0');
  await kubectl('-n', ns, 'annotate', 'release', 'sup', 'cutover.dev/promote=now', '--overwrite');
  await waitFor(async () => (await readRelease(api, ns, 'sup')).status?.stableVersion === '3.0.0', {
    timeoutMs: 60_000,
    description: 'v3 promoted',
  });
  const rel = await readRelease(api, ns, 'sup');
  expect(rel.status?.history?.map((h) => `${h.version}:${h.outcome}`).slice(0, 2)).toEqual([
    '3.0.0:Succeeded',
    '2.0.0:Aborted',
  ]);
  const names = (await kubectl('-n', ns, 'get', 'deployments', '-l', 'app=sup', '-o', 'name'))
    .trim()
    .split('\n')
    .sort();
  expect(names).toEqual(['deployment.apps/sup-blue', 'deployment.apps/sup-green']);
});
