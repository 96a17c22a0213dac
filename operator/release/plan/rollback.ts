// One way back for every cause: the abort annotation today, failed analysis
// and verification next. Traffic returns to the stable slot first (one route
// patch, or the selector), then the failed slot is scaled away; RollingBack
// holds until the cluster shows both, and RolledBack says so.
import type { Builder } from './builder.js';
import { iso } from './builder.js';
import type { RollbackRequest } from './types.js';

/** How long the cache may trail our own writes before a missing effect is written again. */
const RESETTLE_MS = 5_000;

export function rollBack(b: Builder, req: RollbackRequest): Builder {
  const contract = b.status.migrations?.contract?.phase;
  if (contract === 'Running' || contract === 'Succeeded' || contract === 'Failed') {
    // Old code on a contracted schema is worse than the new code misbehaving.
    const message = `${req.reason}; the contract migration has run: shifting traffic back would run the old version on the contracted schema; roll forward with a new version instead`;
    b.event('Warning', 'ContractApplied', message);
    return b.health({ state: 'Stalled', reason: 'ContractApplied', message });
  }
  if (b.status.phase === 'Baking') unpromote(b);
  restoreStable(b);
  if (b.hasStable && b.stable !== b.target) b.act({ type: 'ScaleSlot', slot: b.target, replicas: 0 });
  for (const m of ['expand', 'contract'] as const) {
    const job = b.status.migrations?.[m];
    if (job?.job && job.phase === 'Running') b.act({ type: 'DeleteJob', name: job.job });
  }
  const { cause, reason, trigger, value, threshold } = req;
  b.set({
    canaryWeight: b.hasStable ? 0 : undefined,
    rollback: { cause, reason, metric: trigger, value, threshold, at: iso(b.now) },
  });
  return b
    .record(cause === 'Aborted' ? 'Aborted' : 'RolledBack', { cause })
    .phase('RollingBack', cause, `${reason}; traffic is going back to the ${b.stable} slot`);
}

/** The stable slot takes all traffic, in the way of the Release's traffic mode. */
export function restoreStable(b: Builder): void {
  if (b.hasStable && b.stable !== b.target) b.act(...b.traffic.rollBack(b.view));
}

/**
 * During the bake the new slot is already the stable one; the previous slot,
 * still scaled up for instant rollback, becomes stable again.
 */
function unpromote(b: Builder): void {
  const failed = b.stable;
  const previous = b.idle;
  const slot = b.obs.slots[previous];
  b.set({
    activeSlot: previous,
    targetSlot: failed,
    stableVersion: slot?.version ?? b.status.stableVersion,
    stableRevision: slot?.revision ?? b.status.stableRevision,
    scaleDownAt: undefined,
  });
}

/** RollingBack: done when traffic is on the stable slot and the failed slot asks for no pods. */
export function finishRollback(b: Builder): Builder {
  const cause = b.status.rollback?.cause ?? 'Aborted';
  const done = `rolled back to the ${b.stable} slot (${b.status.stableVersion ?? 'no stable version'})`;
  if (!b.hasStable || b.stable === b.target) return b.phase('RolledBack', cause, done);
  const target = b.obs.slots[b.target];
  const pending = [
    ...b.traffic.rollBack(b.view),
    ...(target && target.replicas > 0 ? [{ type: 'ScaleSlot' as const, slot: b.target, replicas: 0 }] : []),
  ];
  if (pending.length === 0) return b.phase('RolledBack', cause, done);
  const waited = b.since(b.status.phaseStartedAt);
  if (waited >= RESETTLE_MS) b.act(...pending).after(RESETTLE_MS);
  else b.after(RESETTLE_MS - waited);
  return b;
}
