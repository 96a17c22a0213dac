// RollbackPolicy status. The schema already rejects malformed triggers, so an
// admitted policy is Ready in the sense that its spec is accepted. Nothing
// evaluates it yet: no code queries Prometheus, so Ready must not claim the
// server is reachable, and Enforced=False says the policy never acts.
import { ENFORCED, NOT_IMPLEMENTED, notEnforcedMessage } from '../api/conditions.js';
import type { RollbackPolicy, RollbackPolicyStatus } from '../api/generated/index.js';
import { setCondition, setHealth } from '../runtime/conditions.js';

export function planRollbackPolicyStatus(rbp: RollbackPolicy, now: Date): RollbackPolicyStatus {
  const prev = rbp.status ?? {};
  const generation = rbp.metadata?.generation;
  const n = rbp.spec.triggers.length;
  const triggers = `${n} trigger${n === 1 ? '' : 's'}`;
  const conditions = setHealth(
    prev.conditions,
    {
      state: 'Ready',
      reason: 'Accepted',
      message: `${triggers} accepted; Prometheus is not queried yet`,
    },
    generation,
    now,
  );
  return {
    ...prev,
    observedGeneration: generation,
    conditions: setCondition(
      conditions,
      {
        type: ENFORCED,
        status: 'False',
        reason: NOT_IMPLEMENTED,
        message: notEnforcedMessage(
          [
            `spec.triggers (${triggers})`,
            'spec.failureLimit',
            'spec.onInconclusive',
            'spec.database.onRollback',
          ],
          'nothing queries Prometheus, so no Release is rolled back automatically',
        ),
      },
      generation,
      now,
    ),
  };
}
