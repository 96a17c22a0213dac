// Promotion and what follows it: the new slot serves everything, the bake
// holds before the contract migration, BackingUp takes a full backup between
// them when the contract is destructive, and the previous slot is scaled away
// once scaleDownDelay has passed.
import type { ReleaseStatusBackup } from '../../api/generated/index.js';
import { sizeQuantity } from '../../backup/plan.js';
import { removeCondition } from '../../runtime/conditions.js';
import { jobName } from '../names.js';
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
  // A first rollout's start was not news (see planRelease): its start time is said here.
  const startedAt = b.status.startedAt;
  return b
    .record('Succeeded')
    .phase(
      'Succeeded',
      'RolloutSucceeded',
      `${b.spec.version} serves all traffic from the ${b.stable} slot`,
      {
        details: { slot: b.stable, startedAt },
      },
    );
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

/** Status.message and condition messages stay within the schema's limit. */
const MESSAGE_LIMIT = 4096;

/**
 * BackingUp: a contract that removes or reshapes data waits for a full backup
 * with the BackupPolicy's storage and database Secret, in a Job of its own
 * under a name fixed by the run and the backup attempt, so a restarted
 * operator adopts the Job an earlier run created. A contract that is not
 * destructive passes straight through (no status write of its own).
 *
 * A failed backup holds the rollout here, Stalled: nothing irreversible ran,
 * the new version serves everything and the previous slot is still up, so
 * the analysis can still roll back; cutover.dev/retry takes a new backup.
 */
export function backUp(b: Builder): Builder {
  const contract = b.obs.contract;
  const backup = b.status.backup;
  if (backup?.phase === 'Succeeded') return contracting(b, backup);
  // A backup under way is followed to its end even if the contract has since been found harmless.
  if (!backup?.job && !contract?.destructive) return contracting(b, backup);
  const policy = backup?.policy ?? b.obs.backupPolicy?.name;
  const why = contract?.why ?? 'the contract migration';
  // The Environment may be where the BackupPolicy comes from: without it, "no
  // policy" is unknown, not a decision to run the contract without a backup.
  if (!policy && b.obs.gates?.environment.found === false) {
    const message = `Environment ${b.obs.gates.environment.name} not found: the destructive contract migration waits until it is known whether a BackupPolicy applies`;
    b.phase('BackingUp', 'EnvironmentNotFound', message);
    return b.after(30_000).health({ state: 'Stalled', reason: 'EnvironmentNotFound', message });
  }
  if (!policy) {
    // Said once: the phase moves on in this same call.
    b.event(
      'Warning',
      'ContractWithoutBackup',
      `the contract migration is destructive (${why}) and no BackupPolicy applies: it runs without a backup`,
    );
    return contracting(b, backup);
  }
  const attempt = backup?.attempt ?? 0;
  const name = backup?.job ?? jobName(b.spec.app, 'backup', b.run, attempt);
  const base: ReleaseStatusBackup = { ...backup, policy, job: name, attempt };
  // Decided: only a retry takes a new one, whatever became of the Job.
  if (backup?.phase === 'Failed') return backupFailed(b, base, backup.message ?? 'the backup failed');
  const job = b.obs.jobs.backup;
  if (job && !job.ownedByUs)
    return backupFailed(b, base, `Job ${name} exists but is not owned by this Release; refusing to adopt it`);
  if (!job || job.state === 'Running') {
    if (!job && b.obs.backupPolicy?.found === false) {
      const message = `BackupPolicy ${policy} not found: the destructive contract migration waits for a backup with it`;
      b.phase('BackingUp', 'BackupPolicyNotFound', message);
      return b.after(30_000).health({ state: 'Stalled', reason: 'BackupPolicyNotFound', message });
    }
    b.set({ backup: { ...base, phase: 'Running', startedAt: backup?.startedAt ?? iso(b.now) } });
    // Again while the cache has not shown it yet: creation is create-once.
    if (!job) b.act({ type: 'CreateJob', kind: 'backup', name, policy });
    b.phase(
      'BackingUp',
      'BackupStarting',
      `taking a full backup with BackupPolicy ${policy} before the destructive contract migration (${why})`,
      { details: { policy, job: name } },
    );
    return b.health({ state: 'Progressing', reason: 'BackupRunning', message: `Job ${name} is running` });
  }
  const finishedAt = backup?.finishedAt ?? iso(b.now);
  const report = job.report;
  if (job.state === 'Failed' || report?.ok === false) {
    const cause = report?.error ?? job.message ?? 'no message';
    return backupFailed(b, { ...base, finishedAt }, `backup Job ${name} failed: ${cause}`);
  }
  b.set({
    backup: {
      ...base,
      phase: 'Succeeded',
      finishedAt,
      id: report?.id,
      size: report?.size === undefined ? undefined : sizeQuantity(report.size),
      // Exit 0 is the command's word that the backup is complete; only its id is unknown.
      message: report ? undefined : 'the Job succeeded without a report: the backup id is unknown',
    },
  });
  return contracting(b, b.status.backup);
}

function contracting(b: Builder, backup: Readonly<ReleaseStatusBackup> | undefined): Builder {
  const taken = backup?.phase === 'Succeeded' ? `backup ${backup.id ?? '(id unknown)'} taken; ` : '';
  const details = backup?.phase === 'Succeeded' && backup.id ? { backup: backup.id } : undefined;
  return b.phase('Contracting', 'ContractMigrationStarting', `${taken}running the contract migration`, {
    details,
  });
}

/** Stays in BackingUp: no contract, no traffic change; the Warning once, when the backup turns Failed. */
function backupFailed(b: Builder, base: ReleaseStatusBackup, message: string): Builder {
  const msg = message.slice(0, MESSAGE_LIMIT);
  const first = b.status.backup?.phase !== 'Failed';
  b.set({ backup: { ...base, phase: 'Failed', finishedAt: base.finishedAt ?? iso(b.now), message: msg } });
  b.phase('BackingUp', 'BackupFailed', msg, { quiet: true });
  if (first) {
    b.event(
      'Warning',
      'BackupFailed',
      `${msg}; the contract migration waits and ${b.spec.version} keeps serving; annotate cutover.dev/retry to take a new backup`.slice(
        0,
        MESSAGE_LIMIT,
      ),
      { policy: base.policy, job: base.job },
    );
  }
  return b.health({ state: 'Stalled', reason: 'BackupFailed', message: msg });
}

/** cutover.dev/retry while a failed backup holds the rollout: a new Job (-rN), the policy resolved afresh. */
export function retryBackup(b: Builder): Builder {
  const attempt = (b.status.backup?.attempt ?? 0) + 1;
  b.set({ backup: { attempt } });
  b.after(0);
  return b.event(
    'Normal',
    'BackupRetried',
    `taking a new backup before the contract migration (attempt ${attempt + 1})`,
  );
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
 * spec.replicas changed after the rollout: not a new revision, so the serving
 * slot is resized here. A size someone else set is drift, not this: it names
 * a manager, and a scale to zero is caught by value (drift/observe.ts).
 */
export function resize(b: Builder): Builder {
  const live = b.obs.slots[b.stable];
  const foreign = b.obs.drift?.some(
    (d) => d.role === 'active' && d.changes.some((c) => c.path === 'spec.replicas'),
  );
  if (!live || foreign || live.replicas === b.spec.replicas) return b;
  b.act({ type: 'ScaleSlot', slot: b.stable, replicas: b.spec.replicas });
  return b.event(
    'Normal',
    'Resized',
    `the ${b.stable} slot is scaled to ${b.spec.replicas} replicas (spec.replicas)`,
  );
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
