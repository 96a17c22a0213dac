// Promotion gates: what must hold before a rollout touches anything. Policies
// as data, the way cert-manager writes them: an ordered list of small pure
// checks, evaluated until the first one that is not met. The Release plan
// consumes the result; the Environment owns the rules. The order is the
// documented one: references → config → promotion.from and soak → approvals
// → window. Each gate reads only facts gathered while observing.
import type { Environment } from '../api/generated/index.js';
import { firstBrokenRef, type RefCheck } from '../runtime/refs.js';
import { summarizeViolations } from './config-rules.js';

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

/** One violated configuration rule. The message never holds a Secret's value. */
export interface ConfigViolation {
  key: string;
  message: string;
}

/** The Environment's configuration as the config gate sees it. */
export interface ConfigFacts {
  /** A referenced ConfigMap or Secret that does not exist: "ConfigMap \"shop-config\"". */
  missing?: string[];
  /** Every rule that failed, in rule order. */
  violations: ConfigViolation[];
  /** Hash of the data (ConfigMap and Secret), never the data. */
  hash?: string;
}

/** What promotion.from found in the source Environment. */
export interface PromotionFacts {
  /** The source Environment, namespace/name. */
  source: { namespace: string; name: string };
  /** Why the source cannot be used at all: missing, or another tenant's. */
  problem?: { reason: string; message: string };
  /** When the version (or revision) Succeeded there and has served since; absent when it has not. */
  succeededAt?: Date;
  /** What runs there instead, for the message. */
  runningThere?: string;
}

/** Approvals of the revision in progress, as the cluster recorded them. */
export interface ApprovalFacts {
  required: number;
  /** Distinct users who approved this revision. */
  approvers: string[];
  /** Who changed the version or template last (cutover.dev/changed-by), if recorded. */
  author?: string;
  forbidSelfApproval: boolean;
}

/** What the gates read: facts gathered while observing, nothing fetched here. */
export interface GateFacts {
  namespace: string;
  environment: Reference & { object?: Environment };
  rollbackPolicy?: Reference;
  backupPolicy?: Reference;
  /** Absent when the Environment sets no configuration. */
  config?: ConfigFacts;
  /** Absent when the Environment promotes from nowhere. */
  promotion?: PromotionFacts;
  /** Absent when no approval is required. */
  approvals?: ApprovalFacts;
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

const config: Gate = (f) => {
  const c = f.config;
  if (!c) return undefined;
  if (c.missing?.length) {
    const list = c.missing.join(' and ');
    return {
      phase: 'Pending',
      reason: 'ConfigNotFound',
      message: `${list} not found in namespace "${f.namespace}"`,
      stalled: true,
    };
  }
  if (c.violations.length === 0) return undefined;
  return {
    phase: 'Pending',
    reason: 'ConfigInvalid',
    message: summarizeViolations(c.violations),
    stalled: true,
  };
};

export const GATES: readonly Gate[] = [references, config];

/** The first gate that blocks the rollout, or undefined when every gate is open. */
export function evaluateGates(facts: GateFacts, now: Date, gates = GATES): GateResult | undefined {
  for (const gate of gates) {
    const result = gate(facts, now);
    if (result) return result;
  }
  return undefined;
}
