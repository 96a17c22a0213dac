// Cluster helpers for the analysis benchmark: a RollbackPolicy, version
// changes straight through the API (a kubectl process per patch would dominate
// at a thousand Releases), and a watch that keeps the latest copy of each object.
import { Watch, type KubernetesObject } from '@kubernetes/client-node';
import type { RollbackPolicySpec } from '../../operator/api/generated/index.js';
import { KubeClient } from '../../operator/runtime/client.js';
import { kubeConfigAccess } from '../../operator/runtime/kubeconfig.js';
import { kubeConfig } from '../../test/harness/kube.js';
import { API, template } from '../../test/release/fixtures.js';

export function rollbackPolicy(namespace: string, name: string, spec: RollbackPolicySpec): KubernetesObject {
  return {
    apiVersion: API,
    kind: 'RollbackPolicy',
    metadata: { name, namespace },
    spec,
  } as KubernetesObject;
}

export function benchClient(): KubeClient {
  return new KubeClient(kubeConfigAccess(kubeConfig()));
}

/** spec.version and the template with it: a new rollout. A merge patch, so it never conflicts. */
export async function setVersion(
  client: KubeClient,
  namespace: string,
  name: string,
  version: string,
): Promise<void> {
  await client.patch(
    { apiVersion: API, resource: 'releases', namespace, name },
    { spec: { version, template: template(version) } },
    'merge',
  );
}

/** Runs `fn` over `items` with `concurrency` workers. */
export async function forEachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}

export interface Watched<T> {
  /** The latest copy of each object by name, as the watch delivered it. */
  readonly objects: Map<string, T>;
  stop(): void;
}

/**
 * Watches a collection (e.g. `/apis/cutover.dev/v1alpha1/namespaces/x/releases`),
 * keeps the latest copy of each object and calls `onEvent` with each one and
 * the wall-clock time (ms) it arrived. A watch the server ends is started again.
 */
export async function watchCollection<T extends KubernetesObject>(
  path: string,
  onEvent: (obj: T, at: number) => void = () => undefined,
): Promise<Watched<T>> {
  const objects = new Map<string, T>();
  const watch = new Watch(kubeConfig());
  let stopped = false;
  let req: AbortController | undefined;
  const start = async (): Promise<void> => {
    req = await watch.watch(
      path,
      {},
      (type: string, obj: T) => {
        const at = Date.now();
        const name = obj.metadata?.name ?? '';
        if (type === 'DELETED') objects.delete(name);
        else objects.set(name, obj);
        onEvent(obj, at);
      },
      () => {
        // Not a wait for anything: a pause so a watch refused at once does not spin.
        if (!stopped) setTimeout(() => void start().catch(() => undefined), 1000);
      },
    );
  };
  await start();
  return {
    objects,
    stop() {
      stopped = true;
      req?.abort();
    },
  };
}
