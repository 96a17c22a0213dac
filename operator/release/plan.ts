// The Release state machine, as a pure function of the Release and what the
// reconciler observed. At this stage it resolves references; the rollout
// phases arrive with the release flow.
import type { Environment, Release, ReleaseStatus } from '../api/generated/index.js';
import { setHealth, type Health } from '../runtime/conditions.js';
import { firstBrokenRef, type RefCheck } from '../runtime/refs.js';

export interface ReleaseObservation {
  environment: Environment | undefined;
  rollbackPolicy: { name: string; found: boolean } | undefined;
  backupPolicy: { name: string; found: boolean } | undefined;
}

/** Policy names in force: the Release's own, else its Environment's defaults. */
export function policyNames(
  rel: Release,
  env: Environment | undefined,
): { rollback?: string; backup?: string } {
  return {
    rollback: rel.spec.rollbackPolicyRef?.name ?? env?.spec.defaults?.rollbackPolicyRef?.name,
    backup: rel.spec.backupPolicyRef?.name ?? env?.spec.defaults?.backupPolicyRef?.name,
  };
}

export function referenceChecks(rel: Release, obs: ReleaseObservation): RefCheck[] {
  const namespace = rel.metadata?.namespace ?? '';
  const checks: RefCheck[] = [
    {
      kind: 'Environment',
      name: rel.spec.environmentRef.name,
      namespace,
      found: obs.environment !== undefined,
    },
  ];
  if (obs.rollbackPolicy) checks.push({ kind: 'RollbackPolicy', namespace, ...obs.rollbackPolicy });
  if (obs.backupPolicy) checks.push({ kind: 'BackupPolicy', namespace, ...obs.backupPolicy });
  return checks;
}

export function planReleaseStatus(rel: Release, obs: ReleaseObservation, now: Date): ReleaseStatus {
  const prev = rel.status ?? {};
  const health: Health = firstBrokenRef(referenceChecks(rel, obs)) ?? {
    state: 'Ready',
    reason: 'ReferencesResolved',
    message: 'Environment and policies found',
  };
  const generation = rel.metadata?.generation;
  return {
    ...prev,
    observedGeneration: generation,
    phase: prev.phase ?? 'Pending',
    conditions: setHealth(prev.conditions, health, generation, now),
  };
}
