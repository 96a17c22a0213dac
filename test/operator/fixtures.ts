// Small valid objects for operator tests, and ways to read their status.
import type { KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import type { Release } from '../../operator/api/generated/index.js';

export function environment(namespace: string, name = 'dev'): KubernetesObject {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Environment',
    metadata: { name, namespace },
    spec: { tier: 'development' },
  } as KubernetesObject;
}

export function release(namespace: string, name: string, env = 'dev', version = '1.0.0'): KubernetesObject {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: { name, namespace },
    spec: {
      environmentRef: { name: env },
      application: name,
      version,
      // No pods: these tests are about the runtime, not about slots becoming available.
      replicas: 0,
      template: { spec: { containers: [{ name: 'app', image: `example.com/${name}:${version}` }] } },
    },
  } as KubernetesObject;
}

export async function createAll(api: KubernetesObjectApi, objects: KubernetesObject[], concurrency = 16) {
  const queue = [...objects];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let o = queue.shift(); o; o = queue.shift()) await api.create(o);
    }),
  );
}

export function readyReason(rel: {
  status?: { conditions?: Array<{ type: string; status: string; reason: string }> };
}) {
  const c = rel.status?.conditions?.find((x) => x.type === 'Ready');
  return c ? `${c.status}/${c.reason}` : undefined;
}

export async function listReleases(api: KubernetesObjectApi, namespace: string): Promise<Release[]> {
  const list = await api.list<Release>('cutover.dev/v1alpha1', 'Release', namespace);
  return list.items;
}

export async function countReady(api: KubernetesObjectApi, namespace: string): Promise<number> {
  return (await listReleases(api, namespace)).filter((r) => readyReason(r)?.startsWith('True/')).length;
}
