// The Release spec with every default resolved, as the plan reads it.
import {
  resolveTraffic,
  DEFAULT_CONTRACT_AFTER,
  DEFAULT_PROGRESS_DEADLINE,
  DEFAULT_SCALE_DOWN_DELAY,
} from '../api/defaults.js';
import type { Environment, Release } from '../api/generated/index.js';
import { parseDuration } from '../runtime/duration.js';
import { revisionOf } from './names.js';
import type { RolloutSpec } from './plan/index.js';

/** `configHash`: of the Environment's configuration as observed, when it could be read. */
export function resolveSpec(rel: Release, env: Environment | undefined, configHash?: string): RolloutSpec {
  const traffic = resolveTraffic(rel, env?.spec.defaults?.traffic);
  const contract = rel.spec.migrations?.contract;
  // Only then is the configuration part of what is rolled out; otherwise a change of it rolls nothing.
  const rolledConfig = env?.spec.config?.rolloutOnChange ? configHash : undefined;
  return {
    app: rel.spec.application,
    version: rel.spec.version,
    revision: revisionOf(rel.spec.application, rel.spec.version, rel.spec.template, rolledConfig),
    ...(rolledConfig !== undefined ? { configHash: rolledConfig } : {}),
    generation: rel.metadata?.generation ?? 0,
    replicas: rel.spec.replicas ?? 1,
    mode: traffic.mode,
    steps: traffic.steps,
    stepDurationMs: parseDuration(traffic.stepDuration),
    progressDeadlineMs: parseDuration(rel.spec.progressDeadline ?? DEFAULT_PROGRESS_DEADLINE),
    scaleDownDelayMs: parseDuration(rel.spec.scaleDownDelay ?? DEFAULT_SCALE_DOWN_DELAY),
    paused: rel.spec.paused ?? false,
    expand: rel.spec.migrations?.expand !== undefined,
    expandFiles: rel.spec.migrations?.expand?.configMapRef !== undefined,
    verify: rel.spec.verify !== undefined,
    contract: contract ? { afterMs: parseDuration(contract.after ?? DEFAULT_CONTRACT_AFTER) } : undefined,
    driftMode: env?.spec.drift?.mode ?? 'Report',
  };
}
