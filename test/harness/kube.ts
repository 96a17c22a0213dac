// The local cluster as tests see it: the kubeconfig `make cluster-up` wrote,
// a real client on it, kubectl, and throwaway namespaces.
import { KubeConfig, KubernetesObjectApi, type KubernetesObject } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
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

/** Applies crds/ (server-side) and waits until every CRD is Established. */
export async function installCrds(): Promise<void> {
  await kubectl('apply', '--server-side', '--field-manager', 'cutover', '-f', resolve(root, 'crds'));
  await kubectl('wait', '--for', 'condition=Established', '--timeout', '60s', '-f', resolve(root, 'crds'));
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
