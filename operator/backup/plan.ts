// BackupPolicy status as a pure function of the spec and what was observed.
import { ENFORCED, NOT_IMPLEMENTED, notEnforcedMessage } from '../api/conditions.js';
import type { BackupPolicy, BackupPolicyStatus } from '../api/generated/index.js';
import { setCondition, setHealth, type Health } from '../runtime/conditions.js';
import { firstBrokenRef, type RefCheck } from '../runtime/refs.js';

export interface BackupPolicyObservation {
  /** Keys present in the database Secret; undefined when the Secret is missing. */
  secretKeys: readonly string[] | undefined;
  /** Whether the PVC exists; undefined when storage is not a PVC. */
  claimFound: boolean | undefined;
}

export function referenceChecks(bkp: BackupPolicy, obs: BackupPolicyObservation): RefCheck[] {
  const namespace = bkp.metadata?.namespace ?? '';
  const { name, key } = bkp.spec.databaseSecretRef;
  const checks: RefCheck[] = [
    {
      kind: 'Secret',
      name,
      namespace,
      found: obs.secretKeys !== undefined,
      problem: obs.secretKeys && !obs.secretKeys.includes(key) ? `has no key "${key}"` : undefined,
    },
  ];
  const claim = bkp.spec.storage?.pvc?.claimName;
  if (claim)
    checks.push({ kind: 'PersistentVolumeClaim', name: claim, namespace, found: obs.claimFound === true });
  return checks;
}

/**
 * What the spec asks for that nothing does yet. No backup runs at all today —
 * no CronJob, no on-demand backup before a destructive migration — so every
 * admitted policy has something here: spec.full is required.
 */
export function unenforcedParts(bkp: BackupPolicy): string[] {
  const { incremental, verify, retention, suspend } = bkp.spec;
  const parts = ['spec.full'];
  if (incremental) parts.push('spec.incremental');
  if (verify) parts.push('spec.verify');
  if (retention) parts.push('spec.retention');
  // suspend=true would read as "scheduled backups were running and now stop".
  if (suspend) parts.push('spec.suspend');
  return parts;
}

export function planBackupPolicyStatus(
  bkp: BackupPolicy,
  obs: BackupPolicyObservation,
  now: Date,
): BackupPolicyStatus {
  const prev = bkp.status ?? {};
  const health: Health = firstBrokenRef(referenceChecks(bkp, obs)) ?? {
    state: 'Ready',
    reason: 'ReferencesResolved',
    message: 'database Secret and storage found',
  };
  const generation = bkp.metadata?.generation;
  return {
    ...prev,
    observedGeneration: generation,
    conditions: setCondition(
      setHealth(prev.conditions, health, generation, now),
      {
        type: ENFORCED,
        status: 'False',
        reason: NOT_IMPLEMENTED,
        message: notEnforcedMessage(
          unenforcedParts(bkp),
          'no backup runs, on a schedule or before a destructive migration',
        ),
      },
      generation,
      now,
    ),
  };
}
