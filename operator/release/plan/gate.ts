// Pending, AwaitingApproval, WaitingForWindow: the Environment's gates decide
// whether the rollout may touch anything. Nothing is acted on while one is shut.
import { ENFORCED } from '../../api/conditions.js';
import { countedApprovers, evaluateGates, type GateResult } from '../../environment/gates.js';
import { removeCondition } from '../../runtime/conditions.js';
import type { Builder } from './builder.js';
import { deploying } from './shift.js';

/** The first gate that is shut, if any. */
export const shutGate = (b: Builder) => b.obs.gates && evaluateGates(b.obs.gates, b.now);

/** `starting`: entered in the call that started the rollout, whose gates it already evaluated (`shut`). */
export function gate(
  b: Builder,
  { starting = false, shut: g = shutGate(b) }: { starting?: boolean; shut?: GateResult } = {},
): Builder {
  // Who approved stays on record for the rest of the rollout; a new revision clears it.
  const approvals = b.obs.gates?.approvals;
  const approvedBy = approvals ? countedApprovers(approvals) : [];
  if (approvals) approved(b, approvedBy, approvals.required);
  b.set({ approvedBy: approvedBy.length > 0 ? approvedBy : undefined });
  if (g) {
    if (g.recheckAfterMs !== undefined) b.after(g.recheckAfterMs);
    // Stalled set at once, not after a Progressing that would move its transition time on every call.
    const health = g.stalled
      ? { state: 'Stalled' as const, reason: g.reason, message: g.message }
      : undefined;
    const before = b.status.conditions?.find((c) => c.type === 'Ready')?.reason;
    const stays = b.status.phase === g.phase;
    const details = { gate: g.gate };
    b.phase(g.phase, g.reason, g.message, { health, details });
    // Held in the same phase for a new reason (a soak that became a configuration error): said once.
    if (stays && before !== g.reason) b.event(g.stalled ? 'Warning' : 'Normal', g.reason, g.message, details);
    return b;
  }
  // The configuration this rollout goes with is the one its gates passed.
  const hash = b.obs.gates?.config?.hash;
  if (hash !== undefined) b.set({ configHash: hash });
  // Entered in the call that started the rollout: its RolloutStarted Event already says where it goes.
  const quiet = { quiet: starting };
  if (!starting) {
    const by = approvedBy.length > 0 ? `; approved by ${approvedBy.join(', ')}` : '';
    b.event('Normal', 'GatesPassed', `every gate of the rollout of ${b.spec.version} is open${by}`, {
      approvedBy: approvedBy.join(',') || undefined,
    });
  }
  if (!b.spec.expand) return deploying(b, quiet);
  return b.phase(
    'Migrating',
    'ExpandMigrationStarting',
    'running the expand migration before any traffic moves',
    quiet,
  );
}

/** One Event per approver newly counted for this revision, naming them: who approved is the audit's question. */
function approved(b: Builder, counted: readonly string[], required: number): void {
  const before = new Set(b.status.approvedBy ?? []);
  counted.forEach((approver, i) => {
    if (before.has(approver)) return;
    const of = `${i + 1} of ${required} approval${required === 1 ? '' : 's'}`;
    b.event('Normal', 'Approved', `${approver} approved the rollout of ${b.spec.version} (${of})`, {
      approver,
      approvals: i + 1,
      required,
    });
  });
}

/** Enforced=False, left by an older operator: every gate is evaluated now. */
export function enforcement(b: Builder): Builder {
  return b.set({ conditions: removeCondition(b.status.conditions, ENFORCED) });
}
