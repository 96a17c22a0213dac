// Promotion and what follows it: the new slot serves everything, the bake
// holds before the contract migration, BackingUp sits between them, and the
// previous slot is scaled away once scaleDownDelay has passed.
import { removeCondition } from '../../runtime/conditions.js';
import { analyse } from './analysis.js';
import type { Builder } from './builder.js';
import { iso } from './builder.js';

/** The target slot becomes the stable one at 100 %. */
export function promote(b: Builder): Builder {
  const { spec } = b;
  const previous = b.hasStable && b.stable !== b.target;
  b.act(...b.traffic.promote(b.view));
  b.set({
    activeSlot: b.target,
    stableVersion: spec.version,
    stableRevision: spec.revision,
    canaryWeight: 100,
    currentStep: spec.steps.length - 1,
    scaleDownAt: previous ? iso(new Date(b.now.getTime() + spec.scaleDownDelayMs)) : undefined,
  });
  if (previous) b.after(spec.scaleDownDelayMs);
  if (spec.contract) {
    b.after(spec.contract.afterMs);
    return b.phase('Baking', 'Promoted', `${spec.version} promoted; baking before the contract migration`);
  }
  return succeeded(b);
}

export function succeeded(b: Builder): Builder {
  // Rolled forward: whatever degraded an earlier rollout is behind us.
  b.set({ conditions: removeCondition(b.status.conditions, 'Degraded') });
  return b
    .record('Succeeded')
    .phase('Succeeded', 'RolloutSucceeded', `${b.spec.version} serves all traffic from the ${b.stable} slot`);
}

/**
 * Baking: the new version serves everything; the analysis goes on, and the
 * contract waits for a pass. The previous slot stays scaled up until the
 * rollout succeeds, whatever scaleDownDelay says: until the contract, a
 * rollback is a traffic switch to pods that are already running.
 */
export function bake(b: Builder): Builder {
  const wait = (b.spec.contract?.afterMs ?? 0) - b.since(b.status.phaseStartedAt);
  const verdict = analyse(b, { dueAt: wait > 0 ? undefined : b.now.getTime() + wait, final: true });
  if (verdict === 'stopped') return b;
  if (wait > 0) return b.after(wait);
  if (verdict === 'hold') return b;
  return backUp(b);
}

/**
 * BackingUp: the place for the backup a destructive contract migration needs.
 * Backups are not built yet, so the phase passes straight through (no status
 * write of its own) to the contract migration.
 */
export function backUp(b: Builder): Builder {
  return b.phase('Contracting', 'ContractMigrationStarting', 'running the contract migration');
}

/** Steady state: scale the previous slot away once scaleDownDelay has passed. */
export function settleOldSlot(b: Builder): Builder {
  const at = b.status.scaleDownAt;
  if (!at) return b;
  const wait = Date.parse(at) - b.now.getTime();
  if (wait > 0) return b.after(wait);
  if ((b.obs.slots[b.idle]?.replicas ?? 0) > 0) {
    b.act({ type: 'ScaleSlot', slot: b.idle, replicas: 0 });
    b.event('Normal', 'ScaledDown', `the ${b.idle} slot is scaled to zero after scaleDownDelay`);
  }
  return b.set({ scaleDownAt: undefined });
}

/**
 * Failed with the contract Job still running (a breach froze the rollout
 * mid-contract): the Job is left to finish, and status says how it ended.
 */
export function followContract(b: Builder): Builder {
  const contract = b.status.migrations?.contract;
  const job = b.obs.jobs.contract;
  if (contract?.phase !== 'Running' || !job || job.state === 'Running') return b;
  const finishedAt = iso(b.now);
  if (job.state === 'Failed')
    return b.migration('contract', { phase: 'Failed', finishedAt, message: job.message ?? 'the Job failed' });
  return b.migration('contract', { phase: 'Succeeded', finishedAt });
}
