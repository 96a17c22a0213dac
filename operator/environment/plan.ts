// Environment status as a pure function of the spec and what was observed.
// Nothing in it moves with the clock alone (no "last checked" time), so an
// unchanged world gives an unchanged status and no write.
import { ENFORCED } from '../api/conditions.js';
import type { Environment, EnvironmentStatus, NotificationHealth } from '../api/generated/index.js';
import {
  removeCondition,
  setCondition,
  setHealth,
  type Condition,
  type Health,
} from '../runtime/conditions.js';
import { firstBrokenRef, type RefCheck } from '../runtime/refs.js';
import type { EventInput } from '../runtime/status.js';
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
  /** Delivery health of the notification targets sent to since the operator started, by name. */
  notifications?: ReadonlyMap<string, NotificationHealth>;
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
  const next: EnvironmentStatus = {
    ...prev,
    observedGeneration: generation,
    conditions: removeCondition(conditions, ENFORCED),
    notifications: notificationStatus(env, obs.notifications),
  };
  const withConfig = configStatus(env, next, obs.config, now);
  return obs.releases
    ? { ...withConfig, ...releasesSummary(withConfig, obs.releases, generation, now) }
    : withConfig;
}

/**
 * One entry per target in spec.notify that has been sent to: as the delivery
 * queue last saw it, or, before this operator's first attempt, as status said
 * (a restart does not forget a failing target).
 */
function notificationStatus(
  env: Environment,
  live: ReadonlyMap<string, NotificationHealth> | undefined,
): NotificationHealth[] | undefined {
  const before = env.status?.notifications ?? [];
  const out = (env.spec.notify ?? []).flatMap((t) => {
    const h = live?.get(t.name) ?? before.find((b) => b.name === t.name);
    return h ? [h] : [];
  });
  return out.length > 0 ? out : undefined;
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
  // A configuration that cannot be read now keeps the hash last read: unknown is not a change.
  const configHash = facts
    ? (facts.hash ?? (facts.missing?.length ? status.configHash : undefined))
    : undefined;
  return { ...status, conditions, configErrors, configHash };
}

/**
 * The ConfigChanged Event when the data behind the Environment's ConfigMap or
 * Secret moved between two statuses (its first reading is not a change).
 * Hashes only: the data, and a Secret's above all, never leaves the cluster.
 */
export function configChange(
  env: Environment,
  before: EnvironmentStatus | undefined,
  after: EnvironmentStatus,
): EventInput | undefined {
  const from = before?.configHash;
  const to = after.configHash;
  if (!from || !to || from === to) return undefined;
  const sources = [
    env.spec.config?.configMapRef && `ConfigMap ${env.spec.config.configMapRef.name}`,
    env.spec.config?.secretRef && `Secret ${env.spec.config.secretRef.name}`,
  ].filter((x): x is string => typeof x === 'string');
  const errors = after.configErrors?.length ?? 0;
  const verdict = env.spec.config?.rules?.length
    ? errors > 0
      ? `; ${errors} rule${errors === 1 ? '' : 's'} now fail${errors === 1 ? 's' : ''}`
      : '; every rule holds'
    : '';
  const rollsOut = env.spec.config?.rolloutOnChange === true;
  return {
    type: errors > 0 ? 'Warning' : 'Normal',
    reason: 'ConfigChanged',
    message: `the data of ${sources.join(' and ') || 'the configuration'} changed${verdict}${rollsOut ? '; its Releases roll it out' : ''}`,
    details: { from, to, ruleErrors: errors, rolloutOnChange: rollsOut },
  };
}
