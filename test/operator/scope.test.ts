// The watch scope against the real local cluster: an operator started with
// --namespaces or --namespace-selector, holding only the namespaced RBAC of
// config/rbac-namespaced (a ServiceAccount token, not the admin kubeconfig),
// reconciles what is in scope and never writes anything outside it. "Never"
// is judged after the operator has proved it is working: a Release created in
// scope after the one out of scope gets reconciled first.
import type { KubernetesObject } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  kubeconfigForServiceAccount,
  kubectl,
  objectApi,
} from '../harness/kube.js';
import { operatorRefusal, startOperator, type OperatorProcess } from '../harness/operator.js';
import { waitFor } from '../harness/wait.js';
import { readRelease } from '../release/fixtures.js';
import { environment, readyReason, release } from './fixtures.js';

const root = resolve(import.meta.dirname, '../..');
const api = objectApi();
const namespaces: string[] = [];
const clusterObjects: KubernetesObject[] = [];
let op: OperatorProcess | undefined;
/** The operator's own namespace: its ServiceAccount and its lease, nothing it reconciles. */
let home: string;
let seq = 0;

async function namespace(prefix: string): Promise<string> {
  const ns = await createNamespace(prefix, api);
  namespaces.push(ns);
  return ns;
}

/** The objects of a config/ file, bound to our ServiceAccount; cluster-scoped ones renamed for this run. */
function manifests(file: string, namespace?: string): KubernetesObject[] {
  const docs = parseAllDocuments(readFileSync(join(root, file), 'utf8')).map(
    (d) =>
      d.toJS() as KubernetesObject & { subjects?: Array<{ namespace?: string }>; roleRef?: { name: string } },
  );
  const suffix = `-${process.pid}`;
  return docs.map((o) => {
    const cluster = o.kind?.startsWith('Cluster') === true;
    if (o.metadata) {
      if (cluster) o.metadata.name = `${o.metadata.name}${suffix}`;
      else o.metadata.namespace = namespace;
    }
    if (cluster && o.roleRef) o.roleRef.name = `${o.roleRef.name}${suffix}`;
    for (const s of o.subjects ?? []) s.namespace = home;
    return o;
  });
}

async function create(objects: KubernetesObject[]): Promise<void> {
  for (const o of objects) {
    await api.create(o);
    if (!o.metadata?.namespace) clusterObjects.push(o);
  }
}

/** The Role and RoleBinding a watched namespace needs. */
const grantIn = (ns: string) =>
  create([
    ...manifests('config/rbac-namespaced/role.yaml', ns),
    ...manifests('config/rbac-namespaced/role_binding.yaml', ns),
  ]);

async function startScoped(args: string[]): Promise<OperatorProcess> {
  op = await startOperator({
    kubeconfig: await kubeconfigForServiceAccount(home, 'cutover'),
    leaseNamespace: home,
    leaseName: `scope-${process.pid}-${seq++}`,
    args,
  });
  await op.waitReady();
  return op;
}

const reconciled = (ns: string, name: string, timeoutMs = 30_000) =>
  waitFor(async () => readyReason(await readRelease(api, ns, name)) !== undefined, {
    timeoutMs,
    description: `Release ${ns}/${name} to get a status`,
  });

/** Nothing the operator would have written: no status on the Release or the Environment, no Event. */
async function untouched(ns: string, name: string): Promise<void> {
  const rel = await readRelease(api, ns, name);
  expect(rel.status).toBeUndefined();
  const env = await api.read<KubernetesObject & { status?: unknown }>({
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Environment',
    metadata: { name: 'dev', namespace: ns },
  });
  expect(env.status).toBeUndefined();
  expect((await kubectl('-n', ns, 'get', 'events', '-o', 'name')).trim()).toBe('');
  const owned = await kubectl('-n', ns, 'get', 'deployments,services,jobs', '-o', 'name');
  expect(owned.trim()).toBe('');
}

async function expectCleanLog(): Promise<void> {
  if (!op) throw new Error('no operator');
  const log = await op.proc.logTail(256 * 1024);
  expect(log).not.toMatch(/forbidden|RBAC denies/i);
  expect(await op.metric('cutover_reconcile_errors_total')).toBe(0);
}

beforeAll(async () => {
  await installCrds();
  home = await namespace('scope-op');
  await create([
    ...manifests('config/rbac/service_account.yaml', home),
    ...manifests('config/rbac/leader_election_role.yaml', home),
  ]);
});

afterEach(async () => {
  await op?.stop();
  op = undefined;
});

afterAll(async () => {
  await Promise.all(namespaces.map((ns) => deleteNamespace(ns, api)));
  for (const o of clusterObjects) await api.delete(o).catch(() => undefined);
});

test('the namespaced Role carries the cluster-wide rules, but for reading its own Namespace; docs/runtime.md shows it', () => {
  const role = (text: string) => parseAllDocuments(text)[0]?.toJS() as { rules: unknown[] };
  const file = (path: string) => readFileSync(join(root, path), 'utf8');
  const namespaceRule = (verbs: string[]) => ({ apiGroups: [''], resources: ['namespaces'], verbs });
  expect(role(file('config/rbac-namespaced/role.yaml')).rules).toEqual(
    role(file('config/rbac/role.yaml')).rules.map((r) =>
      JSON.stringify(r) === JSON.stringify(namespaceRule(['list', 'watch']))
        ? namespaceRule(['get', 'watch'])
        : r,
    ),
  );
  const section = file('docs/runtime.md').split('## Watch scope')[1] ?? '';
  const shown = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  expect(role(shown)).toEqual(role(file('config/rbac-namespaced/role.yaml')));
});

const promoting = (ns: string, name: string, from: { namespace: string; name: string }): KubernetesObject =>
  ({
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Environment',
    metadata: { name, namespace: ns },
    spec: { tier: 'staging', promotion: { from } },
  }) as KubernetesObject;

const readyCondition = async (ns: string, name: string) =>
  (await readRelease(api, ns, name)).status?.conditions?.find((x) => x.type === 'Ready');

test('--namespaces a,e: reconciles a, never writes to b; promotion from b is refused as unwatched, from e checks tenant labels', async () => {
  const a = await namespace('scope-a');
  const b = await namespace('scope-b');
  const e = await namespace('scope-e');
  // b grants the operator everything: only the scope keeps it out.
  for (const ns of [a, b, e]) {
    await grantIn(ns);
    await api.create(environment(ns));
  }
  for (const ns of [a, b]) await api.create(release(ns, 'web'));
  await api.create(promoting(a, 'from-b', { namespace: b, name: 'dev' }));
  await api.create(release(a, 'shop', 'from-b'));
  await api.create(promoting(a, 'from-e', { namespace: e, name: 'dev' }));
  await api.create(release(a, 'api', 'from-e'));

  await startScoped(['--namespaces', `${a},${e}`]);
  await reconciled(a, 'web');
  // Proof of a working operator after b's Release existed: a later one in a.
  await api.create(release(a, 'later'));
  await reconciled(a, 'later');
  await untouched(b, 'web');

  const unwatched = await waitFor(
    async () => {
      const c = await readyCondition(a, 'shop');
      return c?.reason === 'PromotionSourceNotWatched' && c;
    },
    { timeoutMs: 30_000, description: `${a}/shop to name the unwatched promotion source` },
  );
  expect(unwatched.message).toContain(`"${b}", which this operator does not watch`);

  // The tenant labels of watched namespaces come from their Namespace objects,
  // read and watched under the namespaced Role: a label change wakes the Release.
  await waitFor(async () => (await readyCondition(a, 'api'))?.reason === 'CrossTenantPromotion', {
    timeoutMs: 30_000,
    description: `${a}/api to be held across tenants`,
  });
  await kubectl('label', 'namespace', a, e, `cutover.dev/tenant=t-${process.pid}`);
  const sameTenant = await waitFor(
    async () => {
      const c = await readyCondition(a, 'api');
      return c?.reason !== 'CrossTenantPromotion' && c;
    },
    { timeoutMs: 30_000, description: `${a}/api to pass the tenant check` },
  );
  expect(sameTenant.reason).toBe('NotPromoted');
  await expectCleanLog();
});

test('--namespace-selector: watches what matches, picks up a namespace labelled later, lets go of one unlabelled, takes it back intact', async () => {
  const label = 'cutover.dev/scope-test';
  const group = `blue-${process.pid}`;
  const c = await namespace('scope-c');
  const d = await namespace('scope-d');
  await create(manifests('config/rbac-namespaced/namespace_selector.yaml'));
  await grantIn(c);
  await grantIn(d);
  await kubectl('label', 'namespace', c, `${label}=${group}`);
  for (const ns of [c, d]) {
    await api.create(environment(ns));
    await api.create(release(ns, 'web'));
  }

  await startScoped(['--namespace-selector', `${label}=${group}`]);
  await reconciled(c, 'web');
  await api.create(release(c, 'later'));
  await reconciled(c, 'later');
  await untouched(d, 'web');

  // Labelled while the operator runs: its Releases are listed and reconciled.
  await kubectl('label', 'namespace', d, `${label}=${group}`);
  await reconciled(d, 'web');

  // c/web settled: the Ready condition a namespace rejoining must not disturb.
  const settled = await waitFor(
    async () => {
      const rel = await readRelease(api, c, 'web');
      return rel.status?.phase === 'Succeeded' && rel.status.conditions?.find((x) => x.type === 'Ready');
    },
    { timeoutMs: 30_000, description: `${c}/web to settle` },
  );

  // Unlabelled: nothing there is written any more, while d still is.
  await kubectl('label', 'namespace', c, `${label}-`);
  await waitFor(async () => (await op?.proc.logTail(256 * 1024))?.includes(`"removed":["${c}"]`), {
    timeoutMs: 30_000,
    description: `the operator to let go of ${c}`,
  });
  await api.create(release(c, 'after'));
  await api.create(release(d, 'later'));
  await reconciled(d, 'later');
  expect((await readRelease(api, c, 'after')).status).toBeUndefined();

  // Labelled again: c/after rolls out. c/web, reconciled in the same breath,
  // never saw its Releases listed without its Deployments (which would read as
  // "deleted": Drifted, Ready=False/SlotUnavailable, then back).
  await kubectl('label', 'namespace', c, `${label}=${group}`);
  await waitFor(async () => (await readRelease(api, c, 'after')).status?.phase === 'Succeeded', {
    timeoutMs: 30_000,
    description: `${c}/after to roll out once ${c} is back in scope`,
  });
  const web = await readRelease(api, c, 'web');
  expect(web.status?.conditions?.find((x) => x.type === 'Ready')).toEqual(settled);
  expect(web.status?.conditions?.find((x) => x.type === 'Drifted')).toBeUndefined();
  const warnings = await kubectl(
    '-n',
    c,
    'get',
    'events',
    '-o',
    'jsonpath={.items[*].reason}',
    '--field-selector',
    'type=Warning,involvedObject.name=web',
  );
  expect(warnings.trim()).toBe('');
  await expectCleanLog();
});

test('bad scope flags: a clear message and a non-zero exit before anything starts', async () => {
  expect(await operatorRefusal(['--namespaces', ''])).toEqual({
    code: 2,
    stderr: 'cutover operator: --namespaces: no namespace given (omit the flag to watch every namespace)\n',
  });
  expect((await operatorRefusal(['--namespaces', 'a', '--namespace-selector', 'x=y'])).stderr).toMatch(
    /exclude each other/,
  );
  expect((await operatorRefusal(['--namespace-selector', 'tier in prod'])).stderr).toMatch(
    /--namespace-selector: label selector "tier in prod": expected '\(' after "tier in"/,
  );
  expect((await operatorRefusal(['--namespaces', 'Shop'])).code).toBe(2);
});
