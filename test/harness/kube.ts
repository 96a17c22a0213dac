// The local cluster as tests see it: the kubeconfig `make cluster-up` wrote,
// a real client on it, kubectl, and throwaway namespaces.
import {
  ApiException,
  KubeConfig,
  KubernetesObjectApi,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './wait.js';

const root = resolve(import.meta.dirname, '../..');

export function kubeconfigPath(): string {
  const path = process.env.KUBECONFIG ?? resolve(root, '.cluster/kubeconfig');
  if (!existsSync(path)) throw new Error(`no kubeconfig at ${path}: run \`make cluster-up\` first`);
  return path;
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

export function objectApi(kc = kubeConfig()): KubernetesObjectApi {
  return KubernetesObjectApi.makeApiClient(kc);
}

const run = promisify(execFile);

/** Runs kubectl against the local cluster; rejects with kubectl's stderr. */
export async function kubectl(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfigPath(), ...args], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(e.stderr?.trim() || e.message);
  }
}

let seq = 0;

/**
 * Creates a namespace that enforces the restricted Pod Security profile and
 * waits for its default ServiceAccount (pods cannot be created before it).
 */
export async function createNamespace(prefix: string, api = objectApi()): Promise<string> {
  const name = `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq++}`.slice(0, 63);
  await api.create({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'cutover.dev/test': 'true' },
    },
  } as KubernetesObject);
  await waitFor(
    async () => {
      await api.read({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'default', namespace: name },
      });
      return true;
    },
    { timeoutMs: 30_000, description: `default ServiceAccount in ${name}` },
  );
  return name;
}

export async function deleteNamespace(name: string, api = objectApi()): Promise<void> {
  try {
    await api.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } } as KubernetesObject);
  } catch {
    // already gone
  }
}

/**
 * Waits until no namespace is being deleted. A test whose operator watches
 * every namespace would otherwise also reconcile what an earlier test file
 * left terminating, and see its writes refused ("being terminated") or count
 * them as its own.
 */
export async function waitNoTerminatingNamespaces(timeoutMs = 120_000): Promise<void> {
  await waitFor(
    async () => {
      const out = await kubectl(
        'get',
        'namespaces',
        '-o',
        'jsonpath={.items[?(@.status.phase=="Terminating")].metadata.name}',
      );
      return out.trim() === '';
    },
    { timeoutMs, intervalMs: 500, description: 'namespaces of earlier tests deleted' },
  );
}

/** Applies `path` (crds/ by default) server-side as `fieldManager`, and waits until every CRD is Established. */
export async function installCrds(path = resolve(root, 'crds'), fieldManager = 'cutover'): Promise<void> {
  await kubectl('apply', '--server-side', '--field-manager', fieldManager, '-f', path);
  await kubectl('wait', '--for', 'condition=Established', '--timeout', '60s', '-f', path);
}

/** The policy config/admission installs (config/admission/approvals.yaml). */
export const APPROVALS_POLICY = 'cutover-approvals';

/**
 * Applies config/admission (server-side, so calling it again changes nothing)
 * and resolves once the apiserver enforces it. A new policy is picked up
 * asynchronously, so this proves it: a server-side dry run of a Release that
 * carries an approval under someone else's name must be refused by it.
 */
export async function installAdmission(api = objectApi()): Promise<void> {
  await installCrds();
  await kubectl(
    'apply',
    '--server-side',
    '--field-manager',
    'cutover',
    '-k',
    resolve(root, 'config/admission'),
  );
  const probe = {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: {
      name: 'admission-probe',
      namespace: 'default',
      annotations: { 'cutover.dev/approved-by': '0000000000:nobody-makes-this-request' },
    },
    spec: {
      environmentRef: { name: 'probe' },
      application: 'probe',
      version: '0.0.0',
      template: { spec: { containers: [{ name: 'app', image: 'example.com/probe:0' }] } },
    },
  };
  await waitFor(
    async () => {
      try {
        await api.create(probe as KubernetesObject, undefined, 'All');
        return false;
      } catch (err) {
        const body = err instanceof ApiException ? JSON.stringify(err.body) : '';
        if (err instanceof ApiException && err.code === 403 && body.includes(APPROVALS_POLICY)) return true;
        throw err;
      }
    },
    { timeoutMs: 30_000, description: `ValidatingAdmissionPolicy ${APPROVALS_POLICY} to be enforced` },
  );
}

/**
 * Sum of the apiserver's own apiserver_request_total over series matching
 * `labels` (code filtered by prefix when given), read from its /metrics.
 */
export async function apiserverRequests(
  labels: Record<string, string>,
  verbs: readonly string[] = ['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY'],
): Promise<number> {
  const text = await kubectl('get', '--raw', '/metrics');
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const body = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
    const l: Record<string, string> = {};
    for (const [, k = '', v = ''] of body.matchAll(/(\w+)="([^"]*)"/g)) l[k] = v;
    if (!verbs.includes(l.verb ?? '')) continue;
    if (
      Object.entries(labels).every(([k, v]) => (k === 'code' ? (l.code ?? '').startsWith(v) : l[k] === v))
    ) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

export interface DenyRule {
  name: string;
  /** Only requests for objects in this namespace are judged. */
  namespace: string;
  resources: string[];
  operations: string[];
  /** CEL over `object`, `request`…: the request is denied when this is false. */
  expression: string;
  message: string;
}

/**
 * A real ValidatingAdmissionPolicy (and its binding) that denies what `expression`
 * rejects in one namespace. It takes effect asynchronously: callers prove it
 * enforces before relying on it. Returns a function that removes both.
 */
export async function denyByAdmissionPolicy(rule: DenyRule, api = objectApi()): Promise<() => Promise<void>> {
  await api.create({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: rule.name },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: ['cutover.dev'],
            apiVersions: ['*'],
            operations: rule.operations,
            resources: rule.resources,
          },
        ],
      },
      validations: [{ expression: rule.expression, message: rule.message }],
    },
  } as KubernetesObject);
  await api.create({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: rule.name },
    spec: {
      policyName: rule.name,
      validationActions: ['Deny'],
      matchResources: {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': rule.namespace } },
      },
    },
  } as KubernetesObject);
  return async () => {
    await kubectl('delete', 'validatingadmissionpolicybinding', rule.name, '--ignore-not-found');
    await kubectl('delete', 'validatingadmissionpolicy', rule.name, '--ignore-not-found');
  };
}

/** Writes a kubeconfig that reaches `server` with a bearer token and returns its path. */
export function writeKubeconfig(
  cluster: { server: string; 'certificate-authority-data'?: string; 'insecure-skip-tls-verify'?: boolean },
  token: string,
): string {
  const path = join(mkdtempSync(join(tmpdir(), 'cutover-kubeconfig-')), 'kubeconfig');
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster }],
      users: [{ name: 'u', user: { token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'c',
    }),
  );
  return path;
}

/** The local cluster's server and CA, for kubeconfigs with other credentials. */
export async function clusterEndpoint(): Promise<{ server: string; 'certificate-authority-data'?: string }> {
  const view = JSON.parse(await kubectl('config', 'view', '--minify', '--raw', '-o', 'json')) as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority-data'?: string } }>;
  };
  const cluster = view.clusters[0]?.cluster;
  if (!cluster) throw new Error('the kubeconfig names no cluster');
  return cluster;
}

/** A kubeconfig that authenticates as ServiceAccount `namespace/name` with a one-hour token; returns its path. */
export async function kubeconfigForServiceAccount(namespace: string, name: string): Promise<string> {
  const token = (await kubectl('-n', namespace, 'create', 'token', name, '--duration', '1h')).trim();
  return writeKubeconfig(await clusterEndpoint(), token);
}

const impersonating = new Map<string, string>();

/** The admin's credentials impersonating `user`: what that person's own kubeconfig would authenticate as. */
export async function kubeconfigAs(user: string): Promise<string> {
  const known = impersonating.get(user);
  if (known) return known;
  const view = JSON.parse(await kubectl('config', 'view', '--minify', '--raw', '-o', 'json')) as {
    users: Array<{ user: Record<string, unknown> }>;
  };
  const entry = view.users[0];
  if (!entry) throw new Error('the admin kubeconfig names no user');
  entry.user.as = user;
  const path = join(mkdtempSync(join(tmpdir(), 'cutover-as-')), `${user}.kubeconfig`);
  writeFileSync(path, JSON.stringify(view));
  impersonating.set(user, path);
  return path;
}
