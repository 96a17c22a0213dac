// Environment status as a pure function of the spec and what was observed.
import { ENFORCED, NOT_IMPLEMENTED, notEnforcedMessage } from '../api/conditions.js';
import { requiredApprovals } from '../api/defaults.js';
import type { Environment, EnvironmentStatus } from '../api/generated/index.js';
import { removeCondition, setCondition, setHealth, type Health } from '../runtime/conditions.js';
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

/**
 * The parts of the spec that promise something the operator does not do yet:
 * no gate reads approvals, windows, promotion.from/soak or config rules.
 * Empty when the spec asks for none of them.
 */
export function unenforcedParts(env: Environment): string[] {
  // spec.drift is enforced: the Releases detect (and in Correct mode restore) drift.
  return unenforcedGates(env);
}

/** The gates a Release in this Environment should pass and that nothing evaluates yet. */
export function unenforcedGates(env: Environment): string[] {
  const { promotion, config, tier } = env.spec;
  const parts: string[] = [];
  const approvals = requiredApprovals(env);
  if (approvals > 0) {
    // A production tier asks for an approval without saying so; name the source.
    const why = promotion?.approvals === undefined ? ` by tier ${tier}` : '';
    parts.push(`spec.promotion.approvals (${approvals} required${why})`);
  }
  if (promotion?.windows?.length) parts.push('spec.promotion.windows');
  if (promotion?.from) parts.push('spec.promotion.from');
  if (promotion?.soak) parts.push('spec.promotion.soak');
  if (config?.rules?.length) parts.push('spec.config.rules');
  return parts;
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
  const parts = unenforcedParts(env);
  return {
    ...prev,
    observedGeneration: generation,
    conditions:
      parts.length > 0
        ? setCondition(
            conditions,
            {
              type: ENFORCED,
              status: 'False',
              reason: NOT_IMPLEMENTED,
              message: notEnforcedMessage(parts, 'a Release here starts once its references exist'),
            },
            generation,
            now,
          )
        : removeCondition(conditions, ENFORCED),
  };
}
