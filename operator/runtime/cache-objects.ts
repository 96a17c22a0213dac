// What the informer cache keeps of an object, and which of two copies of one
// object is newer.
import type { KubernetesObject, V1ManagedFieldsEntry } from '@kubernetes/client-node';

export type ManagedFieldsFilter = (entry: V1ManagedFieldsEntry) => boolean;

/**
 * Drops what no reconciler reads and what takes most of an object's memory:
 * managedFields (often half of it) and kubectl's last-applied copy of the spec.
 * Writes never send cached objects' metadata back except resourceVersion.
 * `keep` selects the managedFields entries an informer's readers need (drift
 * detection keeps other managers' spec entries, absent in the steady state).
 */
export function trimForCache(obj: KubernetesObject, keep?: ManagedFieldsFilter): KubernetesObject {
  const meta = obj.metadata;
  if (meta) {
    const kept = keep ? meta.managedFields?.filter(keep) : undefined;
    if (kept?.length) meta.managedFields = kept;
    else delete meta.managedFields;
    if (meta.annotations && LAST_APPLIED in meta.annotations) {
      const { [LAST_APPLIED]: _dropped, ...rest } = meta.annotations;
      meta.annotations = rest;
    }
  }
  return obj;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * resourceVersions are opaque strings to clients in general; the apiserver
 * backed by etcd hands out increasing integers, and only then do we compare.
 */
export function newer(a: KubernetesObject, b: KubernetesObject | undefined): boolean {
  const ra = a.metadata?.resourceVersion;
  const rb = b?.metadata?.resourceVersion;
  if (!ra || !/^\d+$/.test(ra)) return false;
  if (!rb) return b === undefined;
  return /^\d+$/.test(rb) && BigInt(ra) > BigInt(rb);
}
