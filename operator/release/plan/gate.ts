// Pending, AwaitingApproval, WaitingForWindow: the Environment's gates decide
// whether the rollout may touch anything. Nothing is acted on while one is shut.
import { ENFORCED, NOT_IMPLEMENTED, notEnforcedMessage } from '../../api/conditions.js';
import { evaluateGates, type GateResult } from '../../environment/gates.js';
import { unenforcedGates } from '../../environment/plan.js';
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
  if (g) {
    if (g.recheckAfterMs !== undefined) b.after(g.recheckAfterMs);
    // Stalled set at once, not after a Progressing that would move its transition time on every call.
    const health = g.stalled
      ? { state: 'Stalled' as const, reason: g.reason, message: g.message }
      : undefined;
    return b.phase(g.phase, g.reason, g.message, { health });
  }
  // The configuration this rollout goes with is the one its gates passed.
  const hash = b.obs.gates?.config?.hash;
  if (hash !== undefined) b.set({ configHash: hash });
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

/**
 * Enforced=False while this Release relies on something the operator does not
 * do yet: gates of its Environment that nothing evaluates.
 * Derived from the specs of the Release and its Environment, so it costs no
 * status write of its own.
 */
export function enforcement(b: Builder): Builder {
  const facts = b.obs.gates;
  if (!facts) return b;
  const env = facts.environment.object;
  const parts = env ? unenforcedGates(env) : [];
  const gates = parts.map((p) => `Environment ${env?.metadata?.name ?? ''} ${p}`);
  if (gates.length === 0) return b.set({ conditions: removeCondition(b.status.conditions, ENFORCED) });
  return b.condition({
    type: ENFORCED,
    status: 'False',
    reason: NOT_IMPLEMENTED,
    message: notEnforcedMessage(gates),
  });
}
