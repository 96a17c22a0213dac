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
  b.set({ approvedBy: approvedBy.length > 0 ? approvedBy : undefined });
  if (g) {
    if (g.recheckAfterMs !== undefined) b.after(g.recheckAfterMs);
    b.phase(g.phase, g.reason, g.message);
    return g.stalled ? b.health({ state: 'Stalled', reason: g.reason, message: g.message }) : b;
  }
  // Entered in the call that started the rollout: its RolloutStarted Event already says where it goes.
  const quiet = { quiet: starting };
  if (!b.spec.expand) return deploying(b, quiet);
  return b.phase(
    'Migrating',
    'ExpandMigrationStarting',
    'running the expand migration before any traffic moves',
    quiet,
  );
}

/** Enforced=False, left by an older operator: every gate is evaluated now. */
export function enforcement(b: Builder): Builder {
  return b.set({ conditions: removeCondition(b.status.conditions, ENFORCED) });
}
