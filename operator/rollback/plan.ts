// RollbackPolicy status: the schema already rejects malformed triggers, so a
// policy that was admitted is ready to be evaluated.
import type { RollbackPolicy, RollbackPolicyStatus } from '../api/generated/index.js';
import { setHealth } from '../runtime/conditions.js';

export function planRollbackPolicyStatus(rbp: RollbackPolicy, now: Date): RollbackPolicyStatus {
  const prev = rbp.status ?? {};
  const generation = rbp.metadata?.generation;
  const n = rbp.spec.triggers.length;
  return {
    ...prev,
    observedGeneration: generation,
    conditions: setHealth(
      prev.conditions,
      { state: 'Ready', reason: 'Accepted', message: `${n} trigger${n === 1 ? '' : 's'}` },
      generation,
      now,
    ),
  };
}
