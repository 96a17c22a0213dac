// What the install tests share: helm (built by test/helm/build.sh), the
// rendered manifests of both installs, the Prometheus Operator's CRDs for the
// monitoring objects, and the checks that an operator Deployment really came
// up under the restricted Pod Security profile.
import { ApiException, type KubernetesObject, type KubernetesObjectApi } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { buildTool } from '../harness/gitops.js';
import { installCrds, kubeconfigPath, kubectl } from '../harness/kube.js';
import { waitFor } from '../harness/wait.js';

export const root = resolve(import.meta.dirname, '../..');
export const CHART = resolve(root, 'charts/cutover');
export const KUSTOMIZE_DEFAULT = resolve(root, 'config/default');
const MONITORING_CRDS = resolve(root, 'test/install/monitoring-crds.yaml');
const run = promisify(execFile);

export interface Manifest extends KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

async function exec(file: string, args: string[], input?: string): Promise<string> {
  try {
    const child = run(file, args, { maxBuffer: 32 * 1024 * 1024, env: { ...process.env } });
    if (input !== undefined) child.child.stdin?.end(input);
    return (await child).stdout;
  } catch (err) {
    // helm lint reports what failed on stdout, the verdict on stderr.
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error([e.stderr?.trim(), e.stdout?.trim()].filter(Boolean).join('\n') || e.message);
  }
}

/** Runs helm; the first call builds it into the cache when it is not there yet (make deps does that). */
export async function helm(...args: string[]): Promise<string> {
  return exec(await buildTool('test/helm/build.sh'), args);
}

/** helm with the local cluster's kubeconfig. */
export async function helmOnCluster(...args: string[]): Promise<string> {
  return helm('--kubeconfig', kubeconfigPath(), ...args);
}

/** kubectl on the local cluster with `input` on its stdin. */
export async function kubectlWithInput(input: string, ...args: string[]): Promise<string> {
  return exec('kubectl', ['--kubeconfig', kubeconfigPath(), ...args], input);
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`unparsable manifest: ${doc.errors[0]?.message ?? ''}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

/** `kubectl kustomize <dir>`: a client-side render, no cluster needed. */
async function kustomize(dir: string): Promise<{ text: string; objects: Manifest[] }> {
  const text = await exec('kubectl', ['kustomize', dir]);
  return { text, objects: parseManifests(text) };
}

/** `kubectl kustomize config/default`. */
export async function kustomizeDefault(): Promise<{ text: string; objects: Manifest[] }> {
  return kustomize(KUSTOMIZE_DEFAULT);
}

/**
 * Renders a user's overlay, written into a directory of its own.
 * `resources` and `components` are absolute paths: kustomize refuses those,
 * so they are made relative to that directory.
 */
export async function kustomizeOverlay(overlay: {
  resources: string[];
  components?: string[];
  [field: string]: unknown;
}): Promise<Manifest[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-overlay-'));
  try {
    const local = (paths: string[]): string[] => paths.map((p) => relative(dir, p));
    const kustomization = {
      ...overlay,
      resources: local(overlay.resources),
      ...(overlay.components ? { components: local(overlay.components) } : {}),
    };
    writeFileSync(join(dir, 'kustomization.yaml'), stringify(kustomization));
    return (await kustomize(dir)).objects;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface OperatorContainer {
  name: string;
  args: string[];
  image: string;
  env: Array<{ name: string; value?: string; valueFrom?: unknown }>;
}

/** The operator container of a render's Deployment (both installs render one). */
export function operatorContainer(objects: Manifest[]): OperatorContainer {
  const deployment = objects.find((m) => m.kind === 'Deployment') as
    (Manifest & { spec: { template: { spec: { containers: OperatorContainer[] } } } }) | undefined;
  const container = deployment?.spec.template.spec.containers.find((c) => c.name === 'operator');
  if (!container) throw new Error('no operator container rendered');
  return container;
}

/** The operator container's image and the image its migration and backup Jobs get (CUTOVER_IMAGE). */
export function operatorImages(objects: Manifest[]): { image?: string; env?: string } {
  const container = operatorContainer(objects);
  return { image: container.image, env: container.env.find((e) => e.name === 'CUTOVER_IMAGE')?.value };
}

/** The chart's audit values with everything set: a Secret's URL, retention and buffer off their defaults. */
export const AUDIT_VALUES = {
  databaseUrlSecret: { name: 'cutover-audit-db', key: 'url' },
  retentionDays: 730,
  bufferSize: 50000,
};

/** `helm template` of the chart; `values` are --set-json pairs (key=JSON). */
export async function renderChart(
  release: string,
  namespace: string,
  values: Record<string, unknown> = {},
  extra: string[] = [],
): Promise<{ text: string; objects: Manifest[] }> {
  const sets = Object.entries(values).flatMap(([k, v]) => ['--set-json', `${k}=${JSON.stringify(v)}`]);
  const text = await helm('template', release, CHART, '--namespace', namespace, ...sets, ...extra);
  return { text, objects: parseManifests(text) };
}

export function keyOf(m: Manifest): string {
  return `${m.kind}/${m.metadata.namespace ?? ''}/${m.metadata.name}`;
}

export async function exists(api: KubernetesObjectApi, m: Manifest): Promise<boolean> {
  try {
    await api.read({
      apiVersion: m.apiVersion,
      kind: m.kind,
      metadata: { name: m.metadata.name, namespace: m.metadata.namespace },
    } as Manifest);
    return true;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return false;
    throw err;
  }
}

/**
 * Installs the cut-down PodMonitor and PrometheusRule CRDs unless the cluster
 * has them, and waits until they are served. Returns a function that removes
 * them again if this call installed them.
 */
export async function ensureMonitoringCrds(): Promise<() => Promise<void>> {
  const names = ['podmonitors.monitoring.coreos.com', 'prometheusrules.monitoring.coreos.com'];
  const present = await kubectl('get', 'crd', ...names, '--ignore-not-found', '-o', 'name');
  if (present.trim().split('\n').filter(Boolean).length === names.length) return async () => undefined;
  await installCrds(MONITORING_CRDS, 'cutover-test');
  return async () => {
    await kubectl('delete', '--ignore-not-found', '--wait=true', '-f', MONITORING_CRDS);
  };
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface Workload {
  metadata: { name: string; uid?: string; ownerReferences?: Array<{ uid: string }> };
  spec?: { replicas?: number };
  status?: { availableReplicas?: number; readyReplicas?: number; conditions?: Condition[]; phase?: string };
}

async function getJson<T>(...args: string[]): Promise<T> {
  return JSON.parse(await kubectl('get', ...args, '-o', 'json')) as T;
}

/**
 * Waits until Deployment `name` is Available with every replica available,
 * then proves the pods behind it were admitted: its ReplicaSets report no
 * ReplicaFailure (which is where a Pod Security rejection shows), no
 * FailedCreate Event names them, and the pods exist, Running and Ready.
 */
export async function expectDeploymentUp(namespace: string, name: string): Promise<void> {
  const { deployment, failure } = await waitFor(
    async () => {
      const d = await getJson<Workload>('deployment', name, '-n', namespace);
      const conditions = d.status?.conditions ?? [];
      // The Deployment carries its ReplicaSet's ReplicaFailure (a pod the apiserver
      // refused, Pod Security included): no point waiting any longer.
      const refused = conditions.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
      if (refused) return { deployment: d, failure: `${refused.reason ?? ''}: ${refused.message ?? ''}` };
      const available = conditions.some((c) => c.type === 'Available' && c.status === 'True');
      const want = d.spec?.replicas ?? 1;
      return available && (d.status?.availableReplicas ?? 0) === want
        ? { deployment: d, failure: '' }
        : false;
    },
    { timeoutMs: 90_000, description: `Deployment ${namespace}/${name} to be Available` },
  );
  expect(failure).toBe('');
  const want = deployment.spec?.replicas ?? 1;
  const sets = (await getJson<{ items: Workload[] }>('replicasets', '-n', namespace)).items.filter((rs) =>
    rs.metadata.ownerReferences?.some((o) => o.uid === deployment.metadata.uid),
  );
  expect(sets.length).toBeGreaterThan(0);
  for (const rs of sets) {
    expect(rs.status?.conditions?.filter((c) => c.type === 'ReplicaFailure') ?? []).toEqual([]);
  }
  const events = (
    await getJson<{ items: Array<{ reason: string; message: string; involvedObject: { name: string } }> }>(
      'events',
      '-n',
      namespace,
    )
  ).items.filter((e) => e.reason === 'FailedCreate');
  expect(events.map((e) => `${e.involvedObject.name}: ${e.message}`)).toEqual([]);
  const setUids = new Set(sets.map((rs) => rs.metadata.uid));
  const pods = (await getJson<{ items: Workload[] }>('pods', '-n', namespace)).items.filter((p) =>
    p.metadata.ownerReferences?.some((o) => setUids.has(o.uid)),
  );
  expect(pods).toHaveLength(want);
  for (const pod of pods) {
    expect(pod.status?.phase).toBe('Running');
    expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  }
}

/**
 * A privileged pod, refused by the apiserver in a namespace that enforces the
 * restricted profile: proof that an admitted pod there passed the profile
 * rather than met no check at all. Resolves with the refusal's message.
 */
export async function podSecurityRefusal(namespace: string): Promise<string> {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'pod-security-probe', namespace },
    spec: {
      containers: [{ name: 'c', image: 'example.com/probe:1', securityContext: { privileged: true } }],
    },
  };
  try {
    await kubectlWithInput(JSON.stringify(pod), 'create', '--dry-run=server', '-f', '-');
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  return '';
}

export interface Access {
  verb: string;
  resource: string;
  group?: string;
  namespace?: string;
  name?: string;
}

/** Whether the apiserver's authorizer lets ServiceAccount `sa` do `access` (a SubjectAccessReview). */
export async function allowed(sa: { namespace: string; name: string }, access: Access): Promise<boolean> {
  const review = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: `system:serviceaccount:${sa.namespace}:${sa.name}`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`, 'system:authenticated'],
      resourceAttributes: { ...access, group: access.group ?? '' },
    },
  };
  const out = await kubectlWithInput(JSON.stringify(review), 'create', '-f', '-', '-o', 'json');
  return (JSON.parse(out) as { status?: { allowed?: boolean } }).status?.allowed === true;
}
