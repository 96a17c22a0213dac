// Defaults that the operator and the plugin resolve the same way. Kept free of
// the schema builder so the running operator does not load it.
import type { Environment, Release, TrafficPolicy } from './generated/index.js';

export type TrafficMode = NonNullable<TrafficPolicy['mode']>;

export const DEFAULT_STEPS: readonly number[] = [10, 25, 50, 100];
export const DEFAULT_STEP_DURATION = '2m';
export const DEFAULT_TRAFFIC_MODE: TrafficMode = 'Replicas';
export const DEFAULT_PROGRESS_DEADLINE = '10m';
export const DEFAULT_SCALE_DOWN_DELAY = '10m';
export const DEFAULT_CONTRACT_AFTER = '30m';

export interface ResolvedTraffic {
  mode: TrafficMode;
  steps: readonly number[];
  stepDuration: string;
}

type EnvironmentDefaults = NonNullable<Environment['spec']['defaults']>;
export type TrafficDefaults = EnvironmentDefaults['traffic'];

/** Traffic settings in force: the Release's own, else its Environment's defaults, else ours. */
export function resolveTraffic(rel: Release, defaults?: TrafficDefaults): ResolvedTraffic {
  const t = rel.spec.traffic ?? {};
  const mode = t.mode ?? DEFAULT_TRAFFIC_MODE;
  return {
    mode,
    // Service mode switches the selector all at once: one step.
    steps: mode === 'Service' ? [100] : (t.steps ?? defaults?.steps ?? DEFAULT_STEPS),
    stepDuration: t.stepDuration ?? defaults?.stepDuration ?? DEFAULT_STEP_DURATION,
  };
}

/** Policy names in force: the Release's own, else its Environment's defaults. */
export function resolvePolicies(
  rel: Release,
  defaults?: EnvironmentDefaults,
): { rollback?: string; backup?: string } {
  return {
    rollback: rel.spec.rollbackPolicyRef?.name ?? defaults?.rollbackPolicyRef?.name,
    backup: rel.spec.backupPolicyRef?.name ?? defaults?.backupPolicyRef?.name,
  };
}

/**
 * Distinct approvers a rollout into `env` needs. No schema default can say
 * "1 for production, 0 otherwise", so unset approvals resolve here.
 */
export function requiredApprovals(env: Environment): number {
  return env.spec.promotion?.approvals ?? (env.spec.tier === 'production' ? 1 : 0);
}
