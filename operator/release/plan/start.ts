// Where a rollout begins: a new revision (superseding one in flight) or a
// retry of the same revision after it failed.
import type { ReleaseStatus, Slot } from '../../api/generated/index.js';
import { jobName, otherSlot } from '../names.js';
import type { Builder } from './builder.js';
import { TERMINAL, iso } from './builder.js';
import { restoreStable } from './rollback.js';

/** A new revision: supersede whatever was in flight, then begin at Pending. */
export function startRollout(
  b: Builder,
  { quiet = false, gates }: { quiet?: boolean; gates?: 'open' | 'blocked' } = {},
): Builder {
  const { spec, status: prev } = b;
  // A rollout already rolling back has moved its traffic and written its history.
  const inFlight = prev.phase && !TERMINAL.includes(prev.phase) && prev.phase !== 'RollingBack';
  if (prev.revision && inFlight) supersede(b);
  const target: Slot = b.hasStable ? otherSlot(b.stable) : 'blue';
  b.set({
    revision: spec.revision,
    targetSlot: target,
    attempt: 0,
    startedAt: iso(b.now),
    currentStep: 0,
    canaryWeight: b.hasStable ? 0 : undefined,
    stepStartedAt: undefined,
    migrations: undefined,
    // A new revision is judged afresh: no breach count, no verification carried over.
    analysis: undefined,
    verification: undefined,
    backup: undefined,
    approvedBy: undefined,
    phase: undefined,
    // What the gates see now; the gate that opens records the configuration the rollout goes with.
    configHash: b.obs.gates?.config?.hash,
  });
  b.set({ migrations: migrationsFor(b, 0) });
  if (spec.revision === prev.stableRevision) {
    // Back to what the stable slot already runs: nothing to roll out.
    b.set({ targetSlot: prev.activeSlot, canaryWeight: 100, migrations: undefined });
    return b.phase(
      'Succeeded',
      'AlreadyStable',
      `version ${spec.version} is what the ${b.stable} slot serves`,
    );
  }
  const details = { slot: target, from: prev.stableVersion, gates };
  return b.phase('Pending', 'RolloutStarted', `rolling out ${spec.version} to the ${target} slot`, {
    quiet,
    details,
  });
}

export function retry(b: Builder): Builder {
  if (b.status.stableRevision === b.spec.revision) {
    const message = `${b.spec.version} already serves all traffic from the ${b.stable} slot: nothing to retry; roll forward with a new version`;
    return b.event('Warning', 'RetryRefused', message);
  }
  const attempt = (b.status.attempt ?? 0) + 1;
  b.set({
    attempt,
    currentStep: 0,
    canaryWeight: b.hasStable ? 0 : undefined,
    stepStartedAt: undefined,
    startedAt: iso(b.now),
    migrations: undefined,
    analysis: undefined,
    verification: undefined,
    backup: undefined,
  });
  b.set({ migrations: migrationsFor(b, attempt) });
  return b.phase('Pending', 'RetryRequested', `retrying ${b.spec.version} (attempt ${attempt + 1})`);
}

function migrationsFor(b: Builder, attempt: number): ReleaseStatus['migrations'] {
  const { spec } = b;
  const m: ReleaseStatus['migrations'] = {};
  if (spec.expand) m.expand = { phase: 'Pending', job: jobName(spec.app, 'expand', b.run, attempt) };
  if (spec.contract) m.contract = { phase: 'Pending', job: jobName(spec.app, 'contract', b.run, attempt) };
  return Object.keys(m).length ? m : undefined;
}

/** Superseded: traffic back to stable first, then drop what the old rollout left running. */
function supersede(b: Builder): void {
  const { status: prev } = b;
  if ((prev.canaryWeight ?? 0) > 0) restoreStable(b);
  for (const phase of ['expand', 'contract'] as const) {
    const m = prev.migrations?.[phase];
    if (m?.job && m.phase !== 'Succeeded' && m.phase !== 'Failed') b.act({ type: 'DeleteJob', name: m.job });
  }
  const v = prev.verification;
  if (v?.job && v.phase === 'Running') b.act({ type: 'DeleteJob', name: v.job });
  // The superseded version is what its slot was deployed with; the spec already names the new one.
  const version = b.obs.slots[b.target]?.version ?? `revision ${prev.revision ?? ''}`;
  b.record('Aborted', { version });
  b.event('Normal', 'Superseded', `rollout of ${version} superseded by ${b.spec.version}`, {
    superseded: version,
  });
}
