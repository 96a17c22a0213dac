// One owner per application in a namespace: <app>-blue, <app>-green, <app> and
// <app>-preview can only follow one Release. Pure: from the cached owned
// objects and the Releases naming the same application.
//
// The first Release to own the application keeps it: the one that controls
// its objects, or, before any exist, the oldest (creationTimestamp, then
// name). Any other is held at Pending and touches nothing. When the owner is
// deleted, its objects go with it (garbage collection, background by
// default): the next one waits until they are gone, since an object cannot
// have two controllers, and then starts from scratch.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Release, ReleaseStatus } from '../api/generated/index.js';
import { setHealth, type Health } from '../runtime/conditions.js';

export const APPLICATION_TAKEN = 'ApplicationTaken';

export type Claim = { held: false } | { held: true; health: Health; requeueAfterMs: number; event?: string };

const TAKEN_RECHECK_MS = 60_000;
const COLLECTING_RECHECK_MS = 2_000;

/**
 * Whether `rel` may act on its application's objects. `objects`: the cached
 * slot Deployments and Services by their names; `contenders`: the Releases
 * of the namespace naming the same application (read only when the objects
 * do not already say it is ours).
 */
export function claimApplication(
  rel: Release,
  objects: ReadonlyArray<KubernetesObject | undefined>,
  contenders: () => readonly Release[],
): Claim {
  const uid = rel.metadata?.uid;
  const owners = new Map<string, string>();
  for (const o of objects) {
    for (const r of o?.metadata?.ownerReferences ?? []) {
      if (r.controller && r.kind === 'Release') owners.set(r.uid, r.name);
    }
  }
  if (owners.size === 1 && uid !== undefined && owners.has(uid)) return { held: false };
  const app = rel.spec.application;
  const all = contenders();
  const live = all.filter((r) => owners.has(r.metadata?.uid ?? ''));
  const first = oldest(live);
  if (first && first.metadata?.uid !== uid) return taken(app, first);
  const dead = [...owners].filter(([u]) => !all.some((r) => r.metadata?.uid === u));
  if (dead.length > 0) {
    const names = [...new Set(dead.map(([, n]) => n))].join(', ');
    const message = `objects of application ${app} still belong to deleted Release ${names}; waiting for the garbage collector to remove them`;
    return {
      held: true,
      requeueAfterMs: COLLECTING_RECHECK_MS,
      health: { state: 'Progressing', reason: 'WaitingForGarbageCollection', message },
    };
  }
  if (first) return { held: false };
  const winner = oldest(all.filter((r) => !r.metadata?.deletionTimestamp));
  return winner && winner.metadata?.uid !== uid ? taken(app, winner) : { held: false };
}

function taken(app: string, owner: Release): Claim {
  const message = `application ${app} belongs to Release ${owner.metadata?.name ?? ''} in this namespace; this Release changes nothing while it does`;
  return {
    held: true,
    requeueAfterMs: TAKEN_RECHECK_MS,
    health: { state: 'Stalled', reason: APPLICATION_TAKEN, message },
    event: message,
  };
}

function oldest(list: readonly Release[]): Release | undefined {
  const key = (r: Release) => `${r.metadata?.creationTimestamp ? String(r.metadata.creationTimestamp) : ''}`;
  return [...list].sort((a, b) => {
    const ta = Date.parse(key(a)) || 0;
    const tb = Date.parse(key(b)) || 0;
    if (ta !== tb) return ta - tb;
    return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
  })[0];
}

/** The status of a held Release: Pending, with the claim's health; nothing else moves. */
export function heldStatus(
  current: ReleaseStatus,
  claim: Extract<Claim, { held: true }>,
  generation: number,
  now: Date,
): ReleaseStatus {
  const phaseStartedAt = current.phase === 'Pending' ? current.phaseStartedAt : now.toISOString();
  return {
    ...current,
    observedGeneration: generation,
    phase: 'Pending',
    phaseStartedAt,
    conditions: setHealth(current.conditions, claim.health, generation, now),
  };
}
