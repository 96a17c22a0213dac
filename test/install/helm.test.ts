// The Helm chart against the local cluster: helm lint (with the values
// schema), `helm template | kubectl apply --dry-run=server` for the
// cluster-wide, the namespaced and the selector variant, the scoped variants'
// RBAC compared with config/rbac-namespaced and then applied and asked about
// (SubjectAccessReview), the image the Jobs get, the audit values (a Secret's
// URL, flags), and a real `helm install` whose operator Deployment becomes
// Available under the restricted profile.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import {
  AUDIT_DATABASE_URL_ENV,
  DEFAULT_BUFFER_SIZE,
  DEFAULT_RETENTION_DAYS,
} from '../../operator/audit/index.js';
import { createNamespace, deleteNamespace, installCrds, kubectl, objectApi } from '../harness/kube.js';
import {
  allowed,
  AUDIT_VALUES,
  CHART,
  ensureMonitoringCrds,
  exists,
  expectDeploymentUp,
  helm,
  helmOnCluster,
  keyOf,
  kubectlWithInput,
  operatorContainer,
  operatorImages,
  parseManifests,
  podSecurityRefusal,
  renderChart,
  root,
  type Manifest,
} from './tools.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
interface RbacRole extends Manifest {
  rules: Rule[];
}
interface RbacBinding extends Manifest {
  roleRef: { apiGroup: string; kind: string; name: string };
  subjects: unknown[];
}

const api = objectApi();
// The release namespace of the rendered variants, two watched namespaces, and one for the real install.
let releaseNs = '';
let watchedA = '';
let watchedB = '';
let installNs = '';
let removeMonitoringCrds: () => Promise<void> = async () => undefined;
/** Cluster-scoped objects the RBAC tests applied for real, removed after all. */
const appliedClusterObjects: Manifest[] = [];

const configObjects = (file: string): Manifest[] => parseManifests(readFileSync(resolve(root, file), 'utf8'));
const [roleYaml] = configObjects('config/rbac/role.yaml') as [RbacRole];
const [namespacedRole] = configObjects('config/rbac-namespaced/role.yaml') as [RbacRole];
const [namespacedBinding] = configObjects('config/rbac-namespaced/role_binding.yaml') as [RbacBinding];
const [selectorRole, selectorBinding] = configObjects('config/rbac-namespaced/namespace_selector.yaml') as [
  RbacRole,
  RbacBinding,
];
const namespaceSelector = { role: selectorRole, binding: selectorBinding };

function only<T extends Manifest>(objects: Manifest[], kind: string, namespace?: string): T[] {
  return objects.filter((m) => m.kind === kind && m.metadata.namespace === namespace) as T[];
}

/** The operator's cluster-wide RBAC (the approver ClusterRole is for people, not the operator). */
function operatorClusterRbac(objects: Manifest[]): Manifest[] {
  return objects.filter((m) => m.kind.startsWith('ClusterRole') && !m.metadata.name.endsWith('-approver'));
}

function operatorRoleNamespaces(objects: Manifest[]): string[] {
  return objects
    .filter((m) => m.kind === 'Role' && m.metadata.name.endsWith('-operator'))
    .map((m) => m.metadata.namespace ?? '')
    .sort();
}

function leaderElectionRoleNamespaces(objects: Manifest[]): string[] {
  return objects
    .filter((m) => m.kind === 'Role' && m.metadata.name.endsWith('-leader-election'))
    .map((m) => m.metadata.namespace ?? '');
}

/** Creates a render's ServiceAccount and RBAC objects, so the apiserver can be asked what they grant. */
async function applyRbac(objects: Manifest[]): Promise<void> {
  const rbac = objects.filter(
    (m) => m.kind === 'ServiceAccount' || m.apiVersion.startsWith('rbac.authorization.k8s.io/'),
  );
  appliedClusterObjects.push(...rbac.filter((m) => !m.metadata.namespace));
  await kubectlWithInput(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }), 'apply', '-f', '-');
}

/** Applies a render with --dry-run=server and expects the apiserver to accept every object of it. */
async function dryRunApply(text: string, objects: Manifest[]): Promise<void> {
  const out = await kubectlWithInput(text, 'apply', '--dry-run=server', '-f', '-');
  expect(out.split('\n').filter((l) => l.includes('(server dry run)'))).toHaveLength(objects.length);
}

beforeAll(async () => {
  await installCrds();
  removeMonitoringCrds = await ensureMonitoringCrds();
  releaseNs = await createNamespace('helm', api);
  watchedA = await createNamespace('watched-a', api);
  watchedB = await createNamespace('watched-b', api);
  installNs = await createNamespace('helm-install', api);
});

afterAll(async () => {
  for (const m of appliedClusterObjects) await api.delete(m).catch(() => undefined);
  for (const ns of [releaseNs, watchedA, watchedB, installNs]) if (ns) await deleteNamespace(ns, api);
  await removeMonitoringCrds();
});

test('helm lint passes for both variants and the values schema refuses what the chart does not know', async () => {
  await helm('lint', '--strict', CHART);
  await helm('lint', '--strict', CHART, '--set-json', 'watchNamespaces=["a","b"]');
  await helm('lint', '--strict', CHART, '--set', 'namespaceSelector=cutover.dev/tenant=blue');
  await expect(helm('lint', '--strict', CHART, '--set', 'logLevel=loud')).rejects.toThrow(/logLevel/);
  await expect(helm('lint', '--strict', CHART, '--set', 'prometheusAddress=http://x')).rejects.toThrow(
    /prometheusAddress/,
  );
  await expect(
    helm('template', 'x', CHART, '--set-json', 'watchNamespaces=["a"]', '--set', 'namespaceSelector=a=b'),
  ).rejects.toThrow(/not both/);
  await expect(
    helm('template', 'x', CHART, '--set', 'leaderElection.enabled=false', '--set', 'replicas=2'),
  ).rejects.toThrow(/leaderElection/);
});

test('the default render is accepted by the apiserver (server-side dry run)', async () => {
  const ns = releaseNs;
  const { text, objects } = await renderChart('cutover-dry', ns);
  await dryRunApply(text, objects);
  // One ClusterRole holds every rule of config/rbac/role.yaml.
  const [clusterRole] = only<RbacRole>(objects, 'ClusterRole').filter((r) =>
    r.metadata.name.endsWith('-operator'),
  );
  expect(clusterRole?.rules).toEqual(roleYaml.rules);
  expect(operatorRoleNamespaces(objects)).toEqual([]);
  expect(operatorContainer(objects).args).toEqual([
    'operator',
    '--port=8080',
    `--lease-namespace=${ns}`,
    '--lease-name=cutover-dry-leader',
  ]);
});

test('watchNamespaces: config/rbac-namespaced in each watched namespace, nothing cluster-wide', async () => {
  const [ns, a, b] = [releaseNs, watchedA, watchedB];
  const release = 'cutover-scoped';
  const { text, objects } = await renderChart(release, ns, { watchNamespaces: [a, b] });
  await dryRunApply(text, objects);

  expect(operatorContainer(objects).args).toEqual([
    'operator',
    '--port=8080',
    `--lease-namespace=${ns}`,
    `--lease-name=${release}-leader`,
    `--namespaces=${a},${b}`,
  ]);
  // --namespaces reads each watched Namespace by name under the Role: no cluster-wide grant at all.
  expect(operatorClusterRbac(objects)).toEqual([]);
  for (const watched of [a, b]) {
    const [role] = only<RbacRole>(objects, 'Role', watched);
    expect(role?.metadata.name).toBe(`${release}-operator`);
    expect(role?.rules).toEqual(namespacedRole.rules);
    const [binding] = only<RbacBinding>(objects, 'RoleBinding', watched);
    expect(binding?.roleRef).toEqual({ ...namespacedBinding.roleRef, name: `${release}-operator` });
    expect(binding?.subjects).toEqual([{ kind: 'ServiceAccount', name: release, namespace: ns }]);
  }
  // No other namespace (the release's included) gets the operator's Role; the lease's stays in the release's.
  expect(operatorRoleNamespaces(objects)).toEqual([a, b].sort());
  expect(leaderElectionRoleNamespaces(objects)).toEqual([ns]);

  // What the apiserver grants the ServiceAccount once the objects exist.
  await applyRbac(objects);
  const sa = { namespace: ns, name: release };
  for (const watched of [a, b]) {
    expect(
      await allowed(sa, { verb: 'list', resource: 'releases', group: 'cutover.dev', namespace: watched }),
    ).toBe(true);
    for (const verb of ['get', 'watch'])
      expect(await allowed(sa, { verb, resource: 'namespaces', namespace: watched, name: watched })).toBe(
        true,
      );
  }
  expect(await allowed(sa, { verb: 'list', resource: 'namespaces' })).toBe(false);
  expect(await allowed(sa, { verb: 'list', resource: 'releases', group: 'cutover.dev', namespace: ns })).toBe(
    false,
  );
  expect(
    await allowed(sa, { verb: 'update', resource: 'leases', group: 'coordination.k8s.io', namespace: ns }),
  ).toBe(true);
});

test('namespaceSelector: list/watch namespaces cluster-wide, the Role bound in each labelled namespace', async () => {
  const [ns, a, b] = [releaseNs, watchedA, watchedB];
  const release = 'cutover-selected';
  const { text, objects } = await renderChart(release, ns, { namespaceSelector: 'cutover.dev/tenant=blue' });
  await dryRunApply(text, objects);
  expect(operatorContainer(objects).args).toContain('--namespace-selector=cutover.dev/tenant=blue');

  const clusterRbac = operatorClusterRbac(objects);
  expect(clusterRbac.map(keyOf).sort()).toEqual(
    [
      `ClusterRole//${release}-operator`,
      `ClusterRole//${release}-namespace-selector`,
      `ClusterRoleBinding//${release}-namespace-selector`,
    ].sort(),
  );
  const [selectorRole] = only<RbacRole>(clusterRbac, 'ClusterRole').filter((r) =>
    r.metadata.name.endsWith('-namespace-selector'),
  );
  expect(selectorRole?.rules).toEqual(namespaceSelector.role.rules);
  const [selectorBinding] = only<RbacBinding>(clusterRbac, 'ClusterRoleBinding');
  expect(selectorBinding?.roleRef).toEqual({
    ...namespaceSelector.binding.roleRef,
    name: `${release}-namespace-selector`,
  });
  expect(selectorBinding?.subjects).toEqual([{ kind: 'ServiceAccount', name: release, namespace: ns }]);
  // The namespaced Role's rules, for RoleBindings in matching namespaces; nothing binds them cluster-wide.
  const [operatorRole] = only<RbacRole>(clusterRbac, 'ClusterRole').filter((r) =>
    r.metadata.name.endsWith('-operator'),
  );
  expect(operatorRole?.rules).toEqual(namespacedRole.rules);
  expect(operatorRoleNamespaces(objects)).toEqual([]);
  expect(leaderElectionRoleNamespaces(objects)).toEqual([ns]);

  // As docs/install.md says: label a namespace, bind the ClusterRole there.
  await applyRbac(objects);
  await kubectl('label', 'namespace', a, 'cutover.dev/tenant=blue');
  await kubectl(
    '-n',
    a,
    'create',
    'rolebinding',
    `${release}-operator`,
    `--clusterrole=${release}-operator`,
    `--serviceaccount=${ns}:${release}`,
  );
  const sa = { namespace: ns, name: release };
  for (const verb of ['list', 'watch'])
    expect(await allowed(sa, { verb, resource: 'namespaces' })).toBe(true);
  expect(await allowed(sa, { verb: 'patch', resource: 'deployments', group: 'apps', namespace: a })).toBe(
    true,
  );
  expect(await allowed(sa, { verb: 'get', resource: 'namespaces', namespace: a, name: a })).toBe(true);
  expect(await allowed(sa, { verb: 'patch', resource: 'deployments', group: 'apps', namespace: b })).toBe(
    false,
  );
  expect(await allowed(sa, { verb: 'list', resource: 'secrets', namespace: ns })).toBe(false);
});

test('the Jobs image follows the operator image: CUTOVER_IMAGE is the container image', async () => {
  const { objects } = await renderChart('cutover-image', releaseNs, {
    image: { repository: 'registry.example/team/cutover', tag: '9.9.9-rc.1' },
  });
  expect(operatorImages(objects)).toEqual({
    image: 'registry.example/team/cutover:9.9.9-rc.1',
    env: 'registry.example/team/cutover:9.9.9-rc.1',
  });
  const defaults = operatorImages((await renderChart('cutover-image', releaseNs)).objects);
  const chart = parse(readFileSync(resolve(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string };
  expect(defaults).toEqual({
    image: `ghcr.io/cutover/cutover:${chart.appVersion}`,
    env: `ghcr.io/cutover/cutover:${chart.appVersion}`,
  });
});

test('prometheus.address: CUTOVER_PROMETHEUS_ADDRESS when set, nothing by default, a non-http URL refused', async () => {
  const address = (objects: Manifest[]) =>
    operatorContainer(objects).env.filter((e) => e.name === 'CUTOVER_PROMETHEUS_ADDRESS');
  const set = await renderChart('cutover-prom', releaseNs, {
    prometheus: { address: 'http://prometheus-operated.monitoring:9090' },
  });
  expect(address(set.objects)).toEqual([
    { name: 'CUTOVER_PROMETHEUS_ADDRESS', value: 'http://prometheus-operated.monitoring:9090' },
  ]);
  expect(operatorContainer(set.objects).args.some((a) => a.startsWith('--prometheus-address'))).toBe(false);
  await dryRunApply(set.text, set.objects);
  expect(address((await renderChart('cutover-prom', releaseNs)).objects)).toEqual([]);
  await expect(
    helm('lint', '--strict', CHART, '--set', 'prometheus.address=prometheus.monitoring:9090'),
  ).rejects.toThrow(/prometheus.address/);
});

test('audit values: the database URL from a Secret, retention and buffer as flags, nothing at the defaults', async () => {
  await helm('lint', '--strict', CHART, '--set-json', `audit=${JSON.stringify(AUDIT_VALUES)}`);
  const { text, objects } = await renderChart('cutover-audit', releaseNs, { audit: AUDIT_VALUES });
  await dryRunApply(text, objects);
  expect(operatorContainer(objects).args.slice(-2)).toEqual([
    '--audit-retention-days=730',
    '--audit-buffer-size=50000',
  ]);
  expect(operatorContainer(objects).env.filter((e) => e.name === AUDIT_DATABASE_URL_ENV)).toEqual([
    { name: AUDIT_DATABASE_URL_ENV, valueFrom: { secretKeyRef: { name: 'cutover-audit-db', key: 'url' } } },
  ]);

  // The chart's defaults are the operator's, and said by neither flag nor env.
  const values = parse(readFileSync(resolve(CHART, 'values.yaml'), 'utf8')) as {
    audit: { retentionDays: number; bufferSize: number };
  };
  expect([values.audit.retentionDays, values.audit.bufferSize]).toEqual([
    DEFAULT_RETENTION_DAYS,
    DEFAULT_BUFFER_SIZE,
  ]);
  for (const variant of [
    {},
    { audit: { retentionDays: DEFAULT_RETENTION_DAYS, bufferSize: DEFAULT_BUFFER_SIZE } },
  ]) {
    const container = operatorContainer((await renderChart('cutover-audit', releaseNs, variant)).objects);
    expect(container.args.filter((a) => a.startsWith('--audit-'))).toEqual([]);
    expect(container.env.map((e) => e.name)).not.toContain(AUDIT_DATABASE_URL_ENV);
  }

  // The URL itself has no value to go in, and half a Secret reference is refused.
  await expect(
    helm('lint', '--strict', CHART, '--set', 'audit.databaseUrl=postgres://db.example/audit'),
  ).rejects.toThrow(/databaseUrl/);
  await expect(
    helm('template', 'x', CHART, '--set', 'audit.databaseUrlSecret.name=cutover-audit-db'),
  ).rejects.toThrow(/both name and key/);
  await expect(helm('lint', '--strict', CHART, '--set', 'audit.retentionDays=0')).rejects.toThrow(
    /retentionDays/,
  );
});

test('helm install brings the operator up under the restricted profile; helm uninstall removes it', async () => {
  const ns = installNs;
  const release = 'cutover-it';
  const { objects } = await renderChart(release, ns);
  // The release's cluster-scoped objects must be new, or the uninstall below would take someone else's.
  for (const m of objects.filter((o) => !o.metadata.namespace))
    expect([keyOf(m), await exists(api, m)]).toEqual([keyOf(m), false]);

  await helmOnCluster('install', release, CHART, '--namespace', ns);
  try {
    expect(await podSecurityRefusal(ns)).toMatch(/violates PodSecurity "restricted/);
    await expectDeploymentUp(ns, `${release}-operator`);
    for (const m of objects) expect([keyOf(m), await exists(api, m)]).toEqual([keyOf(m), true]);
  } finally {
    await helmOnCluster('uninstall', release, '--namespace', ns, '--wait', '--timeout', '60s');
  }
  for (const m of objects) expect([keyOf(m), await exists(api, m)]).toEqual([keyOf(m), false]);
});
