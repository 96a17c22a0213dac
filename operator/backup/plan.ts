// BackupPolicy status as a pure function of the spec and what was observed.
import type { BackupPolicy, BackupPolicyStatus } from '../api/generated/index.js';
import { setHealth, type Health } from '../runtime/conditions.js';
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
    conditions: setHealth(prev.conditions, health, generation, now),
  };
}
