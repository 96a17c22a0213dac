// Pending, AwaitingApproval, WaitingForWindow: the Environment's gates decide
// whether the rollout may touch anything. Nothing is acted on while one is shut.
import { evaluateGates } from '../../environment/gates.js';
import type { Builder } from './builder.js';
import { deploying } from './shift.js';

export function gate(b: Builder): Builder {
  const g = b.obs.gates && evaluateGates(b.obs.gates, b.now);
  if (g) {
    if (g.recheckAfterMs !== undefined) b.after(g.recheckAfterMs);
    b.phase(g.phase, g.reason, g.message);
    return g.stalled ? b.health({ state: 'Stalled', reason: g.reason, message: g.message }) : b;
  }
  return b.spec.expand
    ? b.phase('Migrating', 'ExpandMigrationStarting', 'running the expand migration before any traffic moves')
    : deploying(b);
}
