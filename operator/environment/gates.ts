// Promotion gates: what must hold before a rollout touches anything. Policies
// as data, the way cert-manager writes them: an ordered list of small pure
// checks, evaluated until the first one that is not met. The Release plan
// consumes the result; the Environment owns the rules. Today the list holds
// the reference checks; config rules, promotion.from and soak, approvals and
// windows join it in this order.
import type { Environment } from '../api/generated/index.js';
import { firstBrokenRef, type RefCheck } from '../runtime/refs.js';

/** Where a blocked rollout waits, and why. */
export interface GateResult {
  phase: 'AwaitingApproval' | 'WaitingForWindow' | 'Pending';
  reason: string;
  message: string;
  /** Look again after this long even if nothing changes (a window that opens). */
  recheckAfterMs?: number;
  /** Blocked until a person acts (a missing reference), not merely waiting (a window). */
  stalled?: boolean;
}

/** A reference from the Release, and whether the cache holds its target. */
export interface Reference {
  name: string;
  found: boolean;
}

/** What the gates read: facts gathered while observing, nothing fetched here. */
export interface GateFacts {
  namespace: string;
  environment: Reference & { object?: Environment };
  rollbackPolicy?: Reference;
  backupPolicy?: Reference;
}

export type Gate = (facts: GateFacts, now: Date) => GateResult | undefined;

const references: Gate = (f) => {
  const ref = (kind: string, r: Reference | undefined): RefCheck[] =>
    r ? [{ kind, name: r.name, namespace: f.namespace, found: r.found }] : [];
  const broken = firstBrokenRef([
    ...ref('Environment', f.environment),
    ...ref('RollbackPolicy', f.rollbackPolicy),
    ...ref('BackupPolicy', f.backupPolicy),
  ]);
  return broken && { phase: 'Pending', reason: broken.reason, message: broken.message, stalled: true };
};

export const GATES: readonly Gate[] = [references];

/** The first gate that blocks the rollout, or undefined when every gate is open. */
export function evaluateGates(facts: GateFacts, now: Date, gates = GATES): GateResult | undefined {
  for (const gate of gates) {
    const result = gate(facts, now);
    if (result) return result;
  }
  return undefined;
}
