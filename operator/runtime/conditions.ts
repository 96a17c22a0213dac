// Conditions in the shape of metav1.Condition, and the kstatus trio
// (Ready / Reconciling / Stalled) that Flux, Argo CD and `kubectl wait` read.
// Pure functions: the same inputs always give the same status, so an unchanged
// object produces an unchanged status and no write.

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type ConditionInput = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

/**
 * Returns `conditions` with `next` set. lastTransitionTime moves only when the
 * status flips, so reason or message updates do not look like transitions.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: ConditionInput,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  const merged: Condition = {
    ...next,
    lastTransitionTime:
      prev && prev.status === next.status
        ? prev.lastTransitionTime
        : now.toISOString().replace(/\.\d+Z$/, 'Z'),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (i >= 0) list[i] = merged;
  else list.push(merged);
  return list;
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** The summary a reconciler reaches: done, still working, or stuck until someone acts. */
export type Health =
  | { state: 'Ready'; reason: string; message: string }
  | { state: 'Progressing'; reason: string; message: string }
  | { state: 'Stalled'; reason: string; message: string };

/** Sets Ready, Reconciling and Stalled consistently from one Health value. */
export function setHealth(
  conditions: readonly Condition[] | undefined,
  health: Health,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const { reason, message } = health;
  let list = setCondition(
    conditions,
    { type: 'Ready', status: health.state === 'Ready' ? 'True' : 'False', reason, message },
    generation,
    now,
  );
  list =
    health.state === 'Progressing'
      ? setCondition(list, { type: 'Reconciling', status: 'True', reason, message }, generation, now)
      : removeCondition(list, 'Reconciling');
  list =
    health.state === 'Stalled'
      ? setCondition(list, { type: 'Stalled', status: 'True', reason, message }, generation, now)
      : removeCondition(list, 'Stalled');
  return list;
}

/** Structural equality for JSON values; key order does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual(ao[k], bo[k]));
}
