// Writes every kind makes to the objects it owns, beyond server-side apply
// (KubeClient.apply): scale, create-once-or-adopt-our-own, delete. Deterministic names make a restarted
// operator find what an earlier run created; the controller ownerReference is
// the proof that it is ours to touch.
import type { KubernetesObject } from '@kubernetes/client-node';
import { ApiError, type KubeClient, type ResourceRef } from './client.js';

export interface Owner {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; uid?: string };
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: true;
  blockOwnerDeletion: true;
}

export function ownerReference(owner: Owner): OwnerReference {
  return {
    apiVersion: owner.apiVersion ?? '',
    kind: owner.kind ?? '',
    name: owner.metadata?.name ?? '',
    uid: owner.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

type Owned = { metadata?: { ownerReferences?: Array<{ uid?: string; controller?: boolean }> } };

/** Whether `owner` is the controller of `obj` (by uid: a re-created owner of the same name is not). */
export function ownedBy(obj: Owned | undefined, owner: Owner): boolean {
  return (obj?.metadata?.ownerReferences ?? []).some((r) => r.controller && r.uid === owner.metadata?.uid);
}

export type Target = Omit<ResourceRef, 'subresource'> & { namespace: string; name: string };

/** Sets replicas through the scale subresource; an object already gone needs no scaling. */
export async function scale(client: KubeClient, target: Target, replicas: number): Promise<void> {
  await ignoreNotFound(client.patch({ ...target, subresource: 'scale' }, { spec: { replicas } }, 'merge'));
}

export async function remove(client: KubeClient, target: Target): Promise<void> {
  await ignoreNotFound(client.delete(target));
}

/**
 * Creates `obj` once. An object of that name that `owner` controls is one an
 * earlier run created before its status write was lost: adopted. Anyone
 * else's is refused, never taken over.
 */
export async function createOnce<T extends KubernetesObject>(
  client: KubeClient,
  target: Target,
  obj: T,
  owner: Owner,
): Promise<void> {
  try {
    await client.create(target, obj);
  } catch (err) {
    if (!(err instanceof ApiError && err.isConflict)) throw err;
    const existing = await client.get<T & Owned>(target);
    if (!ownedBy(existing, owner)) {
      throw new Error(`${obj.kind ?? 'object'} ${target.name} exists and is not owned by this ${owner.kind}`);
    }
  }
}

export async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiError && err.isNotFound)) throw err;
  }
}
