// The full backup a Release takes before a destructive contract migration: the
// BackupPolicy's own one-off Job (its storage, its database Secret, the
// cutover.dev/job=backup-full label), owned by the Release instead of the
// policy so it goes with the rollout and maps back to it. Pure.
import type { V1Job } from '@kubernetes/client-node';
import type { BackupPolicy, Release } from '../api/generated/index.js';
import { backupJob } from '../backup/objects.js';
import { ownerReference } from '../runtime/apply.js';
import { parseDuration } from '../runtime/duration.js';

/**
 * A backup copies the whole database, which takes longer than the statements
 * of a contract: the contract's timeout is used only when it is longer.
 */
export const MIN_BACKUP_DEADLINE_MS = 30 * 60_000;

export function backupDeadlineSeconds(rel: Release): number {
  const contract = rel.spec.migrations?.contract?.timeout;
  const ms = Math.max(MIN_BACKUP_DEADLINE_MS, contract ? parseDuration(contract) : 0);
  return Math.ceil(ms / 1000);
}

export function releaseBackupJob(
  rel: Release,
  bkp: BackupPolicy,
  name: string,
  revision: string,
  image: string,
): V1Job {
  const job = backupJob(bkp, 'full', name, image, {
    app: rel.spec.application,
    'cutover.dev/revision': revision,
  });
  return {
    ...job,
    metadata: { ...job.metadata, namespace: rel.metadata?.namespace, ownerReferences: [ownerReference(rel)] },
    spec: job.spec && { ...job.spec, activeDeadlineSeconds: backupDeadlineSeconds(rel) },
  };
}
