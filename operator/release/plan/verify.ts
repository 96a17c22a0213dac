// Verifying: the new slot is available behind <app>-preview and no traffic
// has moved. One verification Job per revision and attempt, under a fixed
// name, runs the user's suite against it; its failure rolls the rollout back
// before any user saw the new version.
import { jobName } from '../names.js';
import { preview } from '../traffic/provider.js';
import type { Builder } from './builder.js';
import { iso } from './builder.js';
import { rollBack } from './rollback.js';
import { firstStep } from './shift.js';

export function verifying(b: Builder): Builder {
  const name = jobName(b.spec.app, 'verify', b.run, b.status.attempt ?? 0);
  b.set({ verification: { phase: 'Pending', job: name } });
  return b.phase(
    'Verifying',
    'Verifying',
    `verifying ${b.spec.version} through Service ${b.spec.app}-preview with Job ${name}`,
  );
}

export function verify(b: Builder): Builder {
  const name = b.status.verification?.job ?? jobName(b.spec.app, 'verify', b.run, b.status.attempt ?? 0);
  b.act(...preview(b.view, b.target));
  const job = b.obs.jobs.verify;
  if (!job) {
    if (b.status.verification?.phase !== 'Running')
      b.set({ verification: { phase: 'Running', job: name, startedAt: iso(b.now) } });
    return b.act({ type: 'CreateJob', kind: 'verify', name, slot: b.target });
  }
  if (!job.ownedByUs) {
    const message = `Job ${name} exists but is not owned by this Release; refusing to adopt it`;
    b.set({ verification: { ...b.status.verification, phase: 'Failed', message } });
    return b.record('Failed').phase('Failed', 'JobNotOwned', message);
  }
  if (job.state === 'Running') return b;
  const finishedAt = iso(b.now);
  if (job.state === 'Failed') {
    const message = `verification Job ${name} failed: ${(job.message ?? 'no message').slice(0, 900)}`;
    b.set({ verification: { ...b.status.verification, phase: 'Failed', finishedAt, message } });
    return rollBack(b, { cause: 'VerificationFailed', reason: `${message}; no traffic was moved` });
  }
  b.set({ verification: { ...b.status.verification, phase: 'Succeeded', finishedAt } });
  b.event('Normal', 'Verified', `verification Job ${name} passed`);
  return firstStep(b);
}
