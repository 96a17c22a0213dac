// The Helm chart against the local cluster: helm lint (with the values
// schema), `helm template | kubectl apply --dry-run=server` for the
// cluster-wide and the namespaced variant, the namespaced variant's RBAC
// checked against the apiserver's own discovery, and a real `helm install`
// whose operator Deployment becomes Available under the restricted profile.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { createNamespace, deleteNamespace, installCrds, kubectl, objectApi } from '../harness/kube.js';
import {
  CHART,
  ensureMonitoringCrds,
  exists,
  expectDeploymentUp,
  helm,
  helmOnCluster,
  keyOf,
  kubectlWithInput,
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
interface OperatorDeployment extends Manifest {
  spec: { template: { spec: { containers: Array<{ args: string[] }> } } };
}

const api = objectApi();
// The release namespace of the rendered variants, two watched namespaces, and one for the real install.
let releaseNs = '';
let watchedA = '';
let watchedB = '';
let installNs = '';
let removeMonitoringCrds: () => Promise<void> = async () => undefined;

const roleYaml = parse(readFileSync(resolve(root, 'config/rbac/role.yaml'), 'utf8')) as { rules: Rule[] };

function only<T extends Manifest>(objects: Manifest[], kind: string, namespace?: string): T[] {
  return objects.filter((m) => m.kind === kind && m.metadata.namespace === namespace) as T[];
}

function operatorArgs(objects: Manifest[]): string[] {
  const [deployment] = only<OperatorDeployment>(objects, 'Deployment', objects[0]?.metadata.namespace);
  return deployment?.spec.template.spec.containers[0]?.args ?? [];
}

/** Resource names ("deployments.apps", "pods") the apiserver serves, by scope. */
async function servedResources(namespaced: boolean): Promise<Set<string>> {
  const text = await kubectl('api-resources', `--namespaced=${namespaced}`, '-o', 'name');
  return new Set(text.split('\n').filter(Boolean));
}

/** A rule's resources as discovery names them: subresources (releases/status) count as their resource. */
function qualified(rule: Rule): string[] {
  return rule.apiGroups.flatMap((g) =>
    rule.resources.map((r) => {
      const resource = r.split('/')[0] ?? r;
      return g === '' ? resource : `${resource}.${g}`;
    }),
  );
}

function operatorRoleNamespaces(objects: Manifest[]): string[] {
  return objects
    .filter((m) => m.kind === 'Role' && m.metadata.name.endsWith('-operator'))
    .map((m) => m.metadata.namespace ?? '')
    .sort();
}

async function dryRunApply(text: string): Promise<string> {
  return kubectlWithInput(text, 'apply', '--dry-run=server', '-f', '-');
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
  const out = await dryRunApply(text);
  expect(out.split('\n').filter((l) => l.includes('(server dry run)'))).toHaveLength(objects.length);
  // One ClusterRole holds every rule of config/rbac/role.yaml.
  const [clusterRole] = only<RbacRole>(objects, 'ClusterRole').filter((r) =>
    r.metadata.name.endsWith('-operator'),
  );
  expect(clusterRole?.rules).toEqual(roleYaml.rules);
  expect(operatorRoleNamespaces(objects)).toEqual([]);
  expect(operatorArgs(objects)).toEqual([
    'operator',
    '--port=8080',
    `--lease-namespace=${ns}`,
    '--lease-name=cutover-dry-leader',
  ]);
});

test('watchNamespaces: a Role per watched namespace, only cluster-scoped rules in the ClusterRole', async () => {
  const [ns, a, b] = [releaseNs, watchedA, watchedB];
  const { text, objects } = await renderChart('cutover-scoped', ns, { watchNamespaces: [a, b] });
  const out = await dryRunApply(text);
  expect(out.split('\n').filter((l) => l.includes('(server dry run)'))).toHaveLength(objects.length);

  expect(operatorArgs(objects)).toContain(`--namespaces=${a},${b}`);
  const namespaced = await servedResources(true);
  const clusterScoped = await servedResources(false);
  const [clusterRole] = only<RbacRole>(objects, 'ClusterRole').filter(
    (r) => r.metadata.name === 'cutover-scoped-operator',
  );
  const clusterRules = clusterRole?.rules ?? [];
  expect(clusterRules.length).toBeGreaterThan(0);
  for (const resource of clusterRules.flatMap(qualified))
    expect([resource, clusterScoped.has(resource)]).toEqual([resource, true]);

  for (const watched of [a, b]) {
    const [role] = only<RbacRole>(objects, 'Role', watched);
    expect(role?.metadata.name).toBe('cutover-scoped-operator');
    const [binding] = only<Manifest & { subjects: unknown[] }>(objects, 'RoleBinding', watched);
    expect(binding?.subjects).toEqual([{ kind: 'ServiceAccount', name: 'cutover-scoped', namespace: ns }]);
    // Role rules name only namespaced resources (httproutes included: the cluster serves Gateway API).
    for (const resource of (role?.rules ?? []).flatMap(qualified)) {
      expect([resource, namespaced.has(resource)]).toEqual([resource, true]);
    }
    // Between them, the Role and the ClusterRole grant exactly config/rbac/role.yaml.
    const union = [...(role?.rules ?? []), ...clusterRules];
    expect(union).toHaveLength(roleYaml.rules.length);
    expect(union).toEqual(expect.arrayContaining(roleYaml.rules));
  }
  // No other namespace (the release's included) gets the operator's Role.
  expect(operatorRoleNamespaces(objects)).toEqual([a, b].sort());
});

test('namespaceSelector: passed to the operator, RBAC stays one ClusterRole', async () => {
  const { objects } = await renderChart('cutover-selected', releaseNs, {
    namespaceSelector: 'cutover.dev/tenant=blue',
  });
  expect(operatorArgs(objects)).toContain('--namespace-selector=cutover.dev/tenant=blue');
  const [clusterRole] = only<RbacRole>(objects, 'ClusterRole').filter((r) =>
    r.metadata.name.endsWith('-operator'),
  );
  expect(clusterRole?.rules).toEqual(roleYaml.rules);
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
