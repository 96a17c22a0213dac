// Promotion gates on the real control plane: a version goes dev-style staging
// → production only after it Succeeded in staging, soaked there, and two
// distinct people approved this very revision; an abort while waiting ends the
// rollout without touching anything; promotion across tenants is refused.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Release } from '../../operator/api/generated/index.js';
import {
  createNamespace,
  deleteNamespace,
  installAdmission,
  kubeconfigAs,
  kubectl,
  objectApi,
} from '../harness/kube.js';
import { runPlugin } from '../harness/plugin.js';
import { startOperator, type OperatorProcess } from '../harness/operator.js';
import { waitFor } from '../harness/wait.js';
import { API, readRelease, release, setVersion, waitPhase } from '../release/fixtures.js';

const api = objectApi();
let staging: string;
let production: string;
let foreign: string;
let op: OperatorProcess;

function environment(namespace: string, name: string, spec: Record<string, unknown>): KubernetesObject {
  return {
    apiVersion: API,
    kind: 'Environment',
    metadata: { name, namespace },
    spec: { defaults: { traffic: { steps: [50, 100], stepDuration: '1s' } }, ...spec },
  } as KubernetesObject;
}

function shop(namespace: string, env: string, version: string): KubernetesObject {
  const r = release(namespace, 'shop', { mode: 'Replicas', version, replicas: 1 });
  (r as Release).spec.environmentRef = { name: env };
  return r;
}

const ready = (r: Release) => r.status?.conditions?.find((c) => c.type === 'Ready');

/** `kubectl cutover approve` run by `user`, the cluster checking who that is. */
async function approve(ns: string, user: string): Promise<void> {
  const run = await runPlugin(['approve', 'shop', '-n', ns], { KUBECONFIG: await kubeconfigAs(user) });
  if (run.code !== 0) throw new Error(`approve as ${user}: ${run.stderr}`);
}

beforeAll(async () => {
  await installAdmission();
  staging = await createNamespace('gate-stg', api);
  production = await createNamespace('gate-prd', api);
  foreign = await createNamespace('gate-other', api);
  for (const [ns, tenant] of [
    [staging, 'shop'],
    [production, 'shop'],
    [foreign, 'other'],
  ] as const)
    await kubectl('label', 'namespace', ns, `cutover.dev/tenant=${tenant}`);
  // Who may approve is RBAC's business; who did is the admission policy's.
  await kubectl(
    '-n',
    production,
    'create',
    'rolebinding',
    'approvers',
    '--clusterrole',
    'cutover-approver',
    '--user',
    'alice',
    '--user',
    'bob',
  );
  await api.create(environment(staging, 'staging', { tier: 'staging' }));
  await api.create(
    environment(production, 'production', {
      tier: 'production',
      promotion: { from: { namespace: staging, name: 'staging' }, soak: '4s', approvals: 2 },
      config: {
        configMapRef: { name: 'shop-config' },
        rules: [{ key: 'LOG_LEVEL', enum: ['info', 'debug'] }],
      },
    }),
  );
  await kubectl('-n', production, 'create', 'configmap', 'shop-config', '--from-literal=LOG_LEVEL=loud');
  await api.create(
    environment(foreign, 'production', {
      tier: 'staging',
      promotion: { from: { namespace: staging, name: 'staging' } },
    }),
  );
  op = await startOperator();
  await op.waitReady();
});

afterAll(async () => {
  await op?.stop();
  for (const ns of [staging, production, foreign]) if (ns) await deleteNamespace(ns, api);
});

test('config, promotion.from, soak and approvals hold production in that order, then let it go', async () => {
  // Production first. The config gate comes before promotion.from: its ConfigMap is wrong.
  await api.create(shop(production, 'production', '1.0.0'));
  const invalid = await waitPhase(api, production, 'shop', 'Pending', 'ConfigInvalid');
  expect(ready(invalid)?.message).toContain('LOG_LEVEL');
  await kubectl(
    '-n',
    production,
    'patch',
    'configmap',
    'shop-config',
    '--type',
    'merge',
    '-p',
    '{"data":{"LOG_LEVEL":"info"}}',
  );
  // Nothing has Succeeded in staging yet.
  const held = await waitPhase(api, production, 'shop', 'Pending', 'NotPromoted');
  expect(ready(held)?.message).toBe(
    `version 1.0.0 with this pod template has not Succeeded in Environment ${staging}/staging`,
  );
  // Nothing touched while held.
  expect((await kubectl('-n', production, 'get', 'deploy,svc,jobs', '-o', 'name')).trim()).toBe('');

  await api.create(shop(staging, 'staging', '1.0.0'));
  await waitPhase(api, staging, 'shop', 'Succeeded');
  // The staging success wakes production, which then serves out the soak.
  const soaking = await waitPhase(api, production, 'shop', 'Pending', 'Soaking', 10_000);
  expect(ready(soaking)?.message).toMatch(
    /Succeeded in Environment .*\/staging at \S+; its 4s soak ends at \S+Z$/,
  );

  const awaiting = await waitPhase(api, production, 'shop', 'AwaitingApproval', 'AwaitingApproval', 15_000);
  expect(ready(awaiting)?.message).toBe('0 of 2 approvals; approve with kubectl cutover approve');

  await approve(production, 'alice');
  await approve(production, 'alice');
  const once = await waitFor(
    async () => {
      const r = await readRelease(api, production, 'shop');
      return r.status?.approvedBy?.length ? r : false;
    },
    { timeoutMs: 10_000, description: 'alice counted' },
  );
  // The same person twice counts once.
  expect(once.status?.approvedBy).toEqual(['alice']);
  expect(once.status?.phase).toBe('AwaitingApproval');
  expect(ready(once)?.message).toBe('1 of 2 approvals (alice); approve with kubectl cutover approve');

  await approve(production, 'bob');
  const done = await waitPhase(api, production, 'shop', 'Succeeded', undefined, 60_000);
  expect(done.status?.approvedBy).toEqual(['alice', 'bob']);
  expect(done.status?.stableVersion).toBe('1.0.0');
});

test('approvals of one version do not carry to the next, and an abort while waiting touches nothing', async () => {
  await setVersion(api, staging, 'shop', '2.0.0');
  await waitPhase(api, staging, 'shop', 'Succeeded');
  await setVersion(api, production, 'shop', '2.0.0');
  const awaiting = await waitPhase(api, production, 'shop', 'AwaitingApproval', 'AwaitingApproval', 20_000);
  // alice and bob approved 1.0.0; 2.0.0 is a new revision.
  expect(awaiting.status?.approvedBy).toBeUndefined();
  expect(ready(awaiting)?.message).toBe('0 of 2 approvals; approve with kubectl cutover approve');
  const before = await kubectl(
    '-n',
    production,
    'get',
    'deploy',
    '-o',
    'jsonpath={range .items[*]}{.metadata.name}={.spec.replicas} {end}',
  );

  await kubectl('-n', production, 'annotate', 'release', 'shop', 'cutover.dev/abort=true');
  const aborted = await waitPhase(api, production, 'shop', 'RolledBack');
  expect(ready(aborted)?.message).toBe(
    'rollout of 2.0.0 aborted on request while waiting at a gate; nothing had been touched, 1.0.0 still serves',
  );
  expect(aborted.status?.history?.[0]).toMatchObject({ version: '2.0.0', outcome: 'Aborted' });
  expect(
    await kubectl(
      '-n',
      production,
      'get',
      'deploy',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.spec.replicas} {end}',
    ),
  ).toBe(before);
});

test('promotion from another tenant is refused with a condition', async () => {
  // What staging serves by now: only the tenant stands in the way.
  await api.create(shop(foreign, 'production', '2.0.0'));
  const refused = await waitPhase(api, foreign, 'shop', 'Pending', 'CrossTenantPromotion');
  expect(refused.status?.conditions?.find((c) => c.type === 'Stalled')?.status).toBe('True');
  expect(ready(refused)?.message).toBe(
    `promotion.from crosses namespaces, which needs the same cutover.dev/tenant label on both: namespace ${foreign} is tenant "other", namespace ${staging} is tenant "shop"`,
  );
  // Relabelled into the tenant, it goes on: the namespace watch wakes it.
  await kubectl('label', '--overwrite', 'namespace', foreign, 'cutover.dev/tenant=shop');
  await waitPhase(api, foreign, 'shop', 'Succeeded', undefined, 30_000);
});

test('a Release naming a missing Environment gets a condition, not a crash', async () => {
  const lost = shop(staging, 'nowhere', '1.0.0');
  lost.metadata = { ...lost.metadata, name: 'lost' };
  (lost as Release).spec.application = 'lost';
  await api.create(lost);
  const r = await waitFor(
    async () => {
      const rel = await readRelease(api, staging, 'lost');
      return ready(rel)?.reason === 'EnvironmentNotFound' ? rel : false;
    },
    { timeoutMs: 10_000, description: 'EnvironmentNotFound' },
  );
  expect(ready(r)?.message).toBe(`Environment "nowhere" not found in namespace "${staging}"`);
  expect(await op.ready()).toBe(true);
});
