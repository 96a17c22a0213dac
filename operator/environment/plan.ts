// Environment status as a pure function of the spec and what was observed.
import { ENFORCED } from '../api/conditions.js';
import type { Environment, EnvironmentStatus } from '../api/generated/index.js';
import { removeCondition, setHealth, type Health } from '../runtime/conditions.js';
import { firstBrokenRef, type RefCheck } from '../runtime/refs.js';

export interface EnvironmentObservation {
  rollbackPolicyFound?: boolean;
  backupPolicyFound?: boolean;
  configMapFound?: boolean;
  secretFound?: boolean;
}

export function referenceChecks(env: Environment, obs: EnvironmentObservation): RefCheck[] {
  const namespace = env.metadata?.namespace ?? '';
  const checks: RefCheck[] = [];
  const add = (kind: string, name: string | undefined, found: boolean | undefined) => {
    if (name) checks.push({ kind, name, namespace, found: found === true });
  };
  add('RollbackPolicy', env.spec.defaults?.rollbackPolicyRef?.name, obs.rollbackPolicyFound);
  add('BackupPolicy', env.spec.defaults?.backupPolicyRef?.name, obs.backupPolicyFound);
  add('ConfigMap', env.spec.config?.configMapRef?.name, obs.configMapFound);
  add('Secret', env.spec.config?.secretRef?.name, obs.secretFound);
  return checks;
}

export function planEnvironmentStatus(
  env: Environment,
  obs: EnvironmentObservation,
  now: Date,
): EnvironmentStatus {
  const prev = env.status ?? {};
  const health: Health = firstBrokenRef(referenceChecks(env, obs)) ?? {
    state: 'Ready',
    reason: 'ReferencesResolved',
    message: 'policies and configuration found',
  };
  const generation = env.metadata?.generation;
  const conditions = setHealth(prev.conditions, health, generation, now);
  return {
    ...prev,
    observedGeneration: generation,
    conditions: removeCondition(conditions, ENFORCED),
  };
}
