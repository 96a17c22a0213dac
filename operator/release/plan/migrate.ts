// Expand before any traffic moves, contract after the bake: one Job each,
// under a name fixed by the revision and attempt, so a restarted operator
// finds the Job an earlier run created instead of starting a second one.
import { jobName } from '../names.js';
import type { Builder } from './builder.js';
import { iso } from './builder.js';
import { deploying } from './shift.js';
import { succeeded } from './promote.js';
import type { MigrationPhase } from './types.js';

export function migrate(b: Builder, phase: MigrationPhase): Builder {
  const name = b.status.migrations?.[phase]?.job ?? jobName(b.spec.app, phase, b.run, b.status.attempt ?? 0);
  const job = b.obs.jobs[phase];
  const running = {
    state: 'Progressing',
    reason: `${phase === 'expand' ? 'Expand' : 'Contract'}MigrationRunning`,
    message: `Job ${name} is running`,
  } as const;
  const details = { migration: phase, job: name };
  if (!job) {
    if (phase === 'expand' && refuseExpand(b)) return b;
    // Again while the cache has not shown the Job yet (creation is create-once): said the first time.
    if (b.status.migrations?.[phase]?.phase !== 'Running')
      b.event('Normal', 'MigrationJobCreated', `the ${phase} migration runs in Job ${name}`, details);
    b.migration(phase, { phase: 'Running', job: name, startedAt: iso(b.now) });
    return b.act({ type: 'CreateJob', kind: phase, name, run: b.run }).health(running);
  }
  if (!job.ownedByUs) {
    const message = `Job ${name} exists but is not owned by this Release; refusing to adopt it`;
    b.migration(phase, { phase: 'Failed', message });
    return b.record('Failed').phase('Failed', 'JobNotOwned', message, { details });
  }
  if (job.state === 'Running') return b.migration(phase, { phase: 'Running', job: name }).health(running);
  const finishedAt = b.status.migrations?.[phase]?.finishedAt ?? iso(b.now);
  if (job.state === 'Failed') {
    const message = `${phase} migration Job ${name} failed: ${job.message ?? 'no message'}`;
    b.migration(phase, { phase: 'Failed', finishedAt, message });
    if (phase === 'contract') {
      // The new version keeps serving: traffic stays, and the failure is loud.
      b.condition({ type: 'Degraded', status: 'True', reason: 'ContractFailed', message });
      return b.record('Failed').phase('Failed', 'ContractFailed', message, { details });
    }
    return b
      .record('Failed')
      .phase('Failed', 'ExpandFailed', `${message}; no traffic was moved`, { details });
  }
  b.migration(phase, { phase: 'Succeeded', finishedAt });
  b.event('Normal', 'MigrationSucceeded', `${phase} migration Job ${name} succeeded`, details);
  return phase === 'contract' ? succeeded(b) : deploying(b);
}

/** The expand lint's verdict, before any Job exists: true when the rollout must not go on. */
function refuseExpand(b: Builder): boolean {
  const lint = b.obs.expandLint;
  if (lint && 'unreadable' in lint) {
    b.after(30_000).health({ state: 'Stalled', reason: 'MigrationsUnreadable', message: lint.unreadable });
    return true;
  }
  if (lint && 'invalid' in lint) {
    const message = `the expand migrations are not a valid migration set: ${lint.invalid}; no Job was created`;
    b.migration('expand', { phase: 'Failed', job: undefined, message });
    b.record('Failed').phase('Failed', 'InvalidMigrations', message);
    return true;
  }
  if (lint && lint.findings.length > 0) {
    const message = `destructive statements in the expand migration (move them to contract): ${lint.findings.join('; ')}`;
    b.migration('expand', { phase: 'Failed', job: undefined, message });
    b.record('Failed').phase('Failed', 'DestructiveExpandMigration', message);
    return true;
  }
  return false;
}
