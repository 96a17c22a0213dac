// Promotion gates: what must hold before a rollout touches anything. Policies
// as data, the way cert-manager writes them: an ordered list of small pure
// checks, evaluated until the first one that is not met. The Release plan
// consumes the result; the Environment owns the rules. The order is the
// documented one: references → config → promotion.from and soak → approvals
// → window. Each gate reads only facts gathered while observing.
import type { Environment } from '../api/generated/index.js';
import { firstBrokenRef, type RefCheck } from '../runtime/refs.js';
import { formatDuration } from '../runtime/duration.js';
import { describeNextOpening, windowState } from './window.js';
import { summarizeViolations } from './config-rules.js';

/** The phases in which the gates hold a rollout that has touched nothing yet. */
export const GATE_PHASES: readonly string[] = ['Pending', 'AwaitingApproval', 'WaitingForWindow'];

/** Whether a Release waits at a gate: only then do the gates' inputs concern it. */
export const atGate = (phase: string | undefined): boolean => GATE_PHASES.includes(phase ?? 'Pending');

export type GateName = 'references' | 'config' | 'promotion' | 'approvals' | 'window';

/** Where a blocked rollout waits, and why. */
export interface GateResult {
  /** Which gate holds it, for the audit trail. */
  gate: GateName;
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
  /** Why the target, though found, cannot serve a rollout (a RollbackPolicy with no Prometheus address). */
  problem?: { reason: string; message: string };
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
  /** The version (or revision) that must have Succeeded there. */
  wanted: string;
  soakMs: number;
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

/** A gate's hold on the rollout; evaluateGates says which gate it is. */
export type Gate = (facts: GateFacts, now: Date) => Omit<GateResult, 'gate'> | undefined;

const references: Gate = (f) => {
  const ref = (kind: string, r: Reference | undefined): RefCheck[] =>
    r
      ? [
          {
            kind,
            name: r.name,
            namespace: f.namespace,
            found: r.found,
            problem: r.problem?.message,
            problemReason: r.problem?.reason,
          },
        ]
      : [];
  const broken = firstBrokenRef([
    ...ref('Environment', f.environment),
    ...ref('RollbackPolicy', f.rollbackPolicy),
    ...ref('BackupPolicy', f.backupPolicy),
  ]);
  return (
    broken && {
      phase: 'Pending',
      reason: broken.reason,
      message: broken.message,
      stalled: true,
    }
  );
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

const where = (s: PromotionFacts['source']) => `${s.namespace}/${s.name}`;

/** The same version (or revision) Succeeded in the source Environment, and has served there for the soak. */
const promotion: Gate = (f, now) => {
  const p = f.promotion;
  if (!p) return undefined;
  if (p.problem) return { phase: 'Pending', ...p.problem, stalled: true };
  if (!p.succeededAt) {
    const there = p.runningThere ? ` (it runs ${p.runningThere} there)` : '';
    return {
      phase: 'Pending',
      reason: 'NotPromoted',
      message: `${p.wanted} has not Succeeded in Environment ${where(p.source)}${there}`,
    };
  }
  const ends = p.succeededAt.getTime() + p.soakMs;
  const remaining = ends - now.getTime();
  if (remaining <= 0) return undefined;
  // Instants, not a countdown: status holds nothing that moves with the clock.
  return {
    phase: 'Pending',
    reason: 'Soaking',
    message: `${p.wanted} Succeeded in Environment ${where(p.source)} at ${p.succeededAt.toISOString()}; its ${formatDuration(p.soakMs)} soak ends at ${new Date(ends).toISOString()}`,
    recheckAfterMs: remaining,
  };
};

/** Approvals that count: distinct, for this revision, and not by its author when the Environment forbids that. */
export function countedApprovers(a: ApprovalFacts): string[] {
  return a.forbidSelfApproval ? a.approvers.filter((u) => u !== a.author) : a.approvers;
}

const approvals: Gate = (f) => {
  const a = f.approvals;
  if (!a || a.required === 0) return undefined;
  const env = f.environment.name;
  if (a.forbidSelfApproval && !a.author)
    return {
      phase: 'AwaitingApproval',
      reason: 'AuthorUnknown',
      message: `Environment ${env} forbids approving one's own change, and no cutover.dev/changed-by records who changed this Release; set it in the change that sets the version`,
    };
  const counted = countedApprovers(a);
  if (counted.length >= a.required) return undefined;
  const by = counted.length > 0 ? ` (${counted.join(', ')})` : '';
  const self =
    a.author && a.approvers.includes(a.author) && a.forbidSelfApproval
      ? `; ${a.author} changed it and cannot approve it`
      : '';
  return {
    phase: 'AwaitingApproval',
    reason: 'AwaitingApproval',
    message: `${counted.length} of ${a.required} approvals${by}${self}; approve with kubectl cutover approve`,
  };
};

/** Windows say when a rollout may start; one that started inside may finish after the close. */
const window: Gate = (f, now) => {
  const windows = f.environment.object?.spec.promotion?.windows ?? [];
  const state = windowState(windows, now);
  if (!state || ('open' in state && state.open)) return undefined;
  const env = f.environment.name;
  if ('invalid' in state)
    return {
      phase: 'WaitingForWindow',
      reason: 'InvalidWindow',
      message: `Environment ${env} spec.promotion.${state.invalid}`,
      stalled: true,
    };
  return {
    phase: 'WaitingForWindow',
    reason: 'WaitingForWindow',
    message: describeNextOpening(state),
    // At least a second: never a hot loop on a boundary.
    recheckAfterMs: Math.max(1000, state.opensAt.getTime() - now.getTime()),
  };
};

export const GATES: ReadonlyArray<readonly [GateName, Gate]> = [
  ['references', references],
  ['config', config],
  ['promotion', promotion],
  ['approvals', approvals],
  ['window', window],
];

/** The first gate that blocks the rollout, or undefined when every gate is open. */
export function evaluateGates(facts: GateFacts, now: Date, gates = GATES): GateResult | undefined {
  for (const [gate, check] of gates) {
    const result = check(facts, now);
    if (result) return { gate, ...result };
  }
  return undefined;
}
