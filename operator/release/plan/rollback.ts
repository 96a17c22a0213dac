// One way back for every cause: the abort annotation, a breach of the
// RollbackPolicy, a failed verification. Traffic returns to the stable slot
// first (one route patch, or the selector), then the failed slot is scaled
// away, then, when the policy asks and the contract has not started, the down
// migration of exactly what this revision's expand applied. RollingBack holds
// until the cluster shows all of it, and RolledBack says so.
import { jobName } from '../names.js';
import { scaleTo } from '../traffic/provider.js';
import type { Builder } from './builder.js';
import { iso } from './builder.js';
import type { RollbackRequest } from './types.js';

const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/** How long the cache may trail our own writes before a missing effect is written again. */
const RESETTLE_MS = 5_000;

/** After promotion and before the contract: the previous slot is still scaled up and becomes stable again. */
const PROMOTED: readonly string[] = ['Baking', 'BackingUp', 'Contracting'];

export function rollBack(b: Builder, req: RollbackRequest): Builder {
  const contract = b.status.migrations?.contract?.phase;
  // A contract Job that exists has started, even if the status write that said so was lost.
  const started = contract === 'Running' || contract === 'Succeeded' || contract === 'Failed';
  if (started || b.obs.jobs.contract) {
    return freeze(
      b,
      req,
      'ContractApplied',
      'the contract migration has started: shifting traffic back would run the old version on the contracted schema',
    );
  }
  if (PROMOTED.includes(b.status.phase ?? '')) {
    // A first rollout has no previous slot: scaling the only one away would be an outage.
    if (!b.obs.slots[b.idle]?.revision) {
      return freeze(b, req, 'NoPreviousVersion', 'there is no previous version to roll back to');
    }
    unpromote(b);
  }
  // Traffic goes back at once when the stable slot has a pod to take it; otherwise (Replicas
  // mode at 100 %) it is scaled up first and RollingBack switches once it is ready.
  const switched = !fallback(b) || stableReady(b);
  if (switched) {
    restoreStable(b);
    // The failed slot goes; on a first rollout nothing else serves, and nothing should from it.
    if (b.stable !== b.target || !b.hasStable) b.act({ type: 'ScaleSlot', slot: b.target, replicas: 0 });
  } else {
    b.act(...scaleTo(b.view, b.stable, b.spec.replicas));
  }
  for (const m of ['expand', 'contract'] as const) {
    const job = b.status.migrations?.[m];
    if (job?.job && job.phase === 'Running') b.act({ type: 'DeleteJob', name: job.job });
  }
  const verification = b.status.verification;
  if (verification?.job && verification.phase === 'Running')
    b.act({ type: 'DeleteJob', name: verification.job });
  // Decided now and kept in status, so a policy edited mid-rollback changes nothing.
  if (wantsDown(b)) {
    b.migration('down', {
      phase: 'Pending',
      job: jobName(b.spec.app, 'down', b.run, b.status.attempt ?? 0),
    });
  }
  const { cause, reason, trigger, value, threshold } = req;
  b.set({
    // Still the canary's share while the switch waits for the stable slot.
    canaryWeight: !b.hasStable ? undefined : switched ? 0 : b.status.canaryWeight,
    // Within the schema's limits: a status write the API server refuses would stall the rollback itself.
    rollback: {
      cause,
      reason: clip(reason, 1024),
      metric: trigger && clip(trigger, 63),
      value: value && clip(value, 64),
      threshold: threshold && clip(threshold, 64),
      at: iso(b.now),
    },
  });
  // A decision to roll back must survive a crash between the traffic patch and the status write.
  if (cause !== 'Aborted') b.commitFirst();
  const details = { cause, trigger, value, threshold, to: b.stable };
  return b
    .record(cause === 'Aborted' ? 'Aborted' : 'RolledBack', { cause })
    .phase('RollingBack', cause, `${reason}; traffic is going back to the ${b.stable} slot`, { details });
}

/**
 * Aborted while a gate held it: nothing was deployed, migrated or moved, so
 * there is nothing to take back; the stable slot serves as before.
 */
export function abandon(b: Builder, req: RollbackRequest): Builder {
  b.set({
    canaryWeight: b.hasStable ? 0 : undefined,
    rollback: { cause: req.cause, reason: clip(req.reason, 1024), at: iso(b.now) },
  });
  const serving = b.hasStable
    ? `${b.status.stableVersion ?? 'the stable version'} still serves`
    : 'nothing was deployed';
  return b
    .record('Aborted', { cause: req.cause })
    .phase(
      'RolledBack',
      req.cause,
      `${req.reason} while waiting at a gate; nothing had been touched, ${serving}`,
      { details: { cause: req.cause } },
    );
}

/** The expand ran (or may have, partly), and the policy asks for its down migration. */
function wantsDown(b: Builder): boolean {
  const expand = b.status.migrations?.expand?.phase;
  // Only the built-in runner knows which versions a revision applied; an image-based expand was refused up front.
  const ran = expand === 'Running' || expand === 'Succeeded';
  return (b.obs.analysis?.downMigrations ?? false) && b.spec.expandFiles && ran;
}

/**
 * No way back: after the contract started (old code on a contracted schema is
 * worse than the new code misbehaving), or with no previous version. A
 * person's abort is refused and the rollout goes on; a breach of the policy
 * freezes it: traffic stays, the Release fails loudly.
 */
function freeze(b: Builder, req: RollbackRequest, reason: string, why: string): Builder {
  const message = `${req.reason}; ${why}, so traffic stays on ${b.spec.version}; roll forward with a new version`;
  const details = { cause: req.cause, trigger: req.trigger };
  if (req.cause === 'Aborted') {
    b.event('Warning', reason, message, details);
    return b.health({ state: 'Stalled', reason, message });
  }
  b.condition({ type: 'Degraded', status: 'True', reason, message });
  return b.record('Failed', { cause: req.cause }).phase('Failed', reason, message, { details });
}

/** There is a stable slot, other than the failed one, to go back to. */
const fallback = (b: Builder): boolean => b.hasStable && b.stable !== b.target;

/** The stable slot has a ready pod: moving traffic there is not an outage. */
const stableReady = (b: Builder): boolean => (b.obs.slots[b.stable]?.available ?? 0) > 0;

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

/** RollingBack: done when traffic is on the stable slot, the failed slot asks for no pods, and any down migration ran. */
export function finishRollback(b: Builder): Builder {
  const cause = b.status.rollback?.cause ?? 'Aborted';
  if (fallback(b)) {
    if (!stableReady(b)) {
      // Waiting for the stable slot's pods (the Deployment's status brings us back).
      b.act(...scaleTo(b.view, b.stable, b.spec.replicas));
      return b.after(RESETTLE_MS);
    }
    const target = b.obs.slots[b.target];
    const pending = [
      ...b.traffic.rollBack(b.view),
      ...(target && target.replicas > 0 ? [{ type: 'ScaleSlot' as const, slot: b.target, replicas: 0 }] : []),
    ];
    // The schema may follow only once no pod of the failed version is still serving from it.
    if (pending.length === 0 && (target?.available ?? 0) > 0) return b.after(RESETTLE_MS);
    if (pending.length > 0) {
      // The switch that waited for the stable slot goes now; anything else is resent after a grace period.
      const deferred = (b.status.canaryWeight ?? 0) > 0;
      const waited = b.since(b.status.phaseStartedAt);
      if (deferred || waited >= RESETTLE_MS)
        b.act(...pending)
          .set({ canaryWeight: 0 })
          .after(RESETTLE_MS);
      else b.after(RESETTLE_MS - waited);
      return b;
    }
  }
  const done = `rolled back to the ${b.stable} slot (${b.status.stableVersion ?? 'no stable version'})`;
  const down = b.status.migrations?.down;
  if (!down?.job || down.phase === 'Succeeded' || down.phase === 'Failed')
    return b.phase('RolledBack', cause, done, { details: { cause } });
  return downMigration(b, down.job, cause, done);
}

/** Traffic is back and the failed slot gone: now the schema may follow. */
function downMigration(b: Builder, name: string, cause: string, done: string): Builder {
  const job = b.obs.jobs.down;
  // The rolled-back version: a newer spec may already be waiting for this to finish.
  const version = b.status.history?.[0]?.version ?? b.spec.version;
  const details = { cause, migration: 'down', job: name };
  if (!job) {
    if (b.status.migrations?.down?.phase === 'Pending') {
      b.migration('down', { phase: 'Running', startedAt: iso(b.now) });
      b.event(
        'Normal',
        'DownMigrationStarting',
        `Job ${name} rolls back what the expand of ${version} applied`,
        { migration: 'down', job: name },
      );
    }
    return b.act({ type: 'CreateJob', kind: 'down', name, run: b.run });
  }
  if (!job.ownedByUs) {
    const message = `Job ${name} exists but is not owned by this Release; the down migration did not run`;
    b.migration('down', { phase: 'Failed', message });
    return b.phase('RolledBack', 'DownMigrationFailed', `${done}; ${message}`, { details });
  }
  if (job.state === 'Running') return b;
  const finishedAt = iso(b.now);
  if (job.state === 'Failed') {
    const message = `down migration Job ${name} failed: ${job.message ?? 'no message'}; the expanded schema stays (the old version works with it)`;
    b.migration('down', { phase: 'Failed', finishedAt, message });
    return b.phase('RolledBack', 'DownMigrationFailed', `${done}; ${message}`, { details });
  }
  b.migration('down', { phase: 'Succeeded', finishedAt });
  return b.phase('RolledBack', cause, `${done}; the down migration of ${version} ran`, { details });
}
