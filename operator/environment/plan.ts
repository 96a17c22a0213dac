// Environment status as a pure function of the spec and what was observed.
// Nothing in it moves with the clock alone (no "last checked" time), so an
// unchanged world gives an unchanged status and no write.
import { ENFORCED, NOT_IMPLEMENTED, notEnforcedMessage } from '../api/conditions.js';
import { requiredApprovals } from '../api/defaults.js';
import type { Environment, EnvironmentStatus } from '../api/generated/index.js';
import {
  removeCondition,
  setCondition,
  setHealth,
  type Condition,
  type Health,
} from '../runtime/conditions.js';
import { firstBrokenRef, type RefCheck } from '../runtime/refs.js';
import { summarizeViolations } from './config-rules.js';
import type { ConfigFacts } from './gates.js';
import { releasesSummary, type ReleaseView } from './releases.js';

export const CONFIG_VALID = 'ConfigValid';

export interface EnvironmentObservation {
  rollbackPolicyFound?: boolean;
  backupPolicyFound?: boolean;
  configMapFound?: boolean;
  secretFound?: boolean;
  /** The configuration as the config gate judges it; absent when the Environment sets none. */
  config?: ConfigFacts;
  /** The Releases whose environmentRef names this Environment, as the cache holds them. */
  releases?: readonly ReleaseView[];
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
 * no gate reads approvals, windows or promotion.from/soak, and nothing looks
 * for drift. Empty when the spec asks for none of them.
 */
export function unenforcedParts(env: Environment): string[] {
  const parts = unenforcedGates(env);
  // The schema defaults drift to Report, so every admitted Environment asks
  // for it; Report promises a Drifted condition that nothing sets yet.
  if (env.spec.drift?.mode) parts.push(`spec.drift (mode ${env.spec.drift.mode})`);
  return parts;
}

/** The gates a Release in this Environment should pass and that nothing evaluates yet. */
export function unenforcedGates(env: Environment): string[] {
  const { promotion, tier } = env.spec;
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
  const next: EnvironmentStatus = {
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
              message: notEnforcedMessage(
                parts,
                'a Release here starts once its references exist and its configuration rules hold',
              ),
            },
            generation,
            now,
          )
        : removeCondition(conditions, ENFORCED),
  };
  const withConfig = configStatus(env, next, obs.config, now);
  return obs.releases
    ? { ...withConfig, ...releasesSummary(withConfig, obs.releases, generation, now) }
    : withConfig;
}

/** ConfigValid and status.configErrors: only an Environment with rules has either. */
function configStatus(
  env: Environment,
  status: EnvironmentStatus,
  facts: ConfigFacts | undefined,
  now: Date,
): EnvironmentStatus {
  const rules = env.spec.config?.rules ?? [];
  const generation = env.metadata?.generation;
  let conditions: Condition[] = removeCondition(status.conditions, CONFIG_VALID);
  let configErrors: EnvironmentStatus['configErrors'];
  if (rules.length > 0 && facts) {
    const n = rules.length;
    let valid: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;
    if (facts.missing?.length) {
      valid = {
        type: CONFIG_VALID,
        status: 'False',
        reason: 'ConfigNotFound',
        message: `${facts.missing.join(' and ')} not found, so ${n === 1 ? 'the rule' : `the ${n} rules`} cannot be checked`,
      };
    } else if (facts.violations.length > 0) {
      valid = {
        type: CONFIG_VALID,
        status: 'False',
        reason: 'ConfigInvalid',
        message: summarizeViolations(facts.violations),
      };
      configErrors = facts.violations.map((v) => ({ key: v.key, message: v.message }));
    } else {
      valid = {
        type: CONFIG_VALID,
        status: 'True',
        reason: 'ConfigValid',
        message: n === 1 ? 'the configuration rule holds' : `all ${n} configuration rules hold`,
      };
    }
    conditions = setCondition(status.conditions, valid, generation, now);
  }
  return { ...status, conditions, configErrors };
}
