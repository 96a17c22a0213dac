// The I/O side of analysis: which policy applies, whether an evaluation is due,
// and running it. The schedule lives in memory: an evaluation is a requeue on
// the work queue, not a timer per Release, and its time is not written to
// status at every interval. After a restart every Release in flight is
// evaluated at once, which is what a decision after a crash wants anyway.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import type {
  Release,
  ReleasePhase,
  RollbackPolicy,
  RollbackPolicySpec,
  SecretKeySelector,
} from '../api/generated/index.js';
import { parseDuration } from '../runtime/duration.js';
import { SecretMissing, type SecretValues } from '../runtime/secret-values.js';
import { withPrometheusAddress } from '../rollback/address.js';
import type { Analyzer } from '../rollback/analyze.js';
import { podResources } from '../rollback/resources.js';
import type { AnalysisTarget } from '../rollback/types.js';
import { slotName } from './names.js';
import type { AnalysisObservation, RolloutSpec } from './plan/index.js';

/** Phases during which the new version takes traffic and is judged. */
export const ANALYSED: readonly ReleasePhase[] = ['Shifting', 'Baking', 'BackingUp', 'Contracting'];

/**
 * When each Release was last evaluated by this process, and which asked for
 * one now. Kept per rollout (revision and attempt): the last evaluation of an
 * earlier rollout is neither when the next one is due nor what its lateness
 * is measured from.
 */
export class AnalysisSchedule {
  private readonly last = new Map<string, { at: number; rollout: string }>();
  private readonly forced = new Set<string>();

  lastAt(key: string, rollout: string): Date | undefined {
    const t = this.at(key, rollout);
    return t === undefined ? undefined : new Date(t);
  }

  due(key: string, rollout: string, now: Date, intervalMs: number): boolean {
    const t = this.at(key, rollout);
    return this.forced.has(key) || t === undefined || now.getTime() - t >= intervalMs;
  }

  /** How late a regular evaluation runs after its interval ended (undefined: first of its rollout, or asked for). */
  lateness(key: string, rollout: string, now: Date, intervalMs: number): number | undefined {
    const t = this.at(key, rollout);
    if (t === undefined || this.forced.has(key)) return undefined;
    return Math.max(0, now.getTime() - (t + intervalMs));
  }

  record(key: string, rollout: string, at: Date): void {
    this.last.set(key, { at: at.getTime(), rollout });
    this.forced.delete(key);
  }

  force(key: string): void {
    this.forced.add(key);
  }

  forget(key: string): void {
    this.last.delete(key);
    this.forced.delete(key);
  }

  private at(key: string, rollout: string): number | undefined {
    const last = this.last.get(key);
    return last?.rollout === rollout ? last.at : undefined;
  }
}

export interface AnalysisSources {
  /** The pod template a slot's Deployment runs (from the cache): the stable slot's limits. */
  slotTemplate: (namespace: string, name: string) => V1PodTemplateSpec | undefined;
  analyzer: Pick<Analyzer, 'evaluate'>;
  schedule: AnalysisSchedule;
  /** Database URLs for DatabasePool: read again only when their Secret changed. */
  secrets: Pick<SecretValues, 'value'>;
  /** --prometheus-address: for policies that leave spec.prometheus.address unset. */
  prometheusAddress?: string;
}

/** The policy as the plan reads it, with this reconcile's evaluation if one was due. */
export async function observeAnalysis(
  src: AnalysisSources,
  rel: Release,
  spec: RolloutSpec,
  rbp: RollbackPolicy,
  now: Date,
): Promise<AnalysisObservation> {
  const key = `${rel.metadata?.namespace ?? ''}/${rel.metadata?.name ?? ''}`;
  const rollout = `${spec.revision}/${rel.status?.attempt ?? 0}`;
  const intervalMs = parseDuration(rbp.spec.interval ?? '30s');
  const obs: AnalysisObservation = {
    policy: rbp.metadata?.name ?? '',
    failureLimit: rbp.spec.failureLimit ?? 2,
    onInconclusive: rbp.spec.onInconclusive ?? 'Pause',
    downMigrations: rbp.spec.database?.onRollback === 'RunDownMigrations',
    nextInMs: intervalMs,
    lastAt: src.schedule.lastAt(key, rollout),
  };
  const phase = rel.status?.phase;
  if (!phase || !ANALYSED.includes(phase) || rel.status?.revision !== spec.revision) return obs;
  const policy = withPrometheusAddress(policyFor(rbp.spec, phase), src.prometheusAddress);
  if (!policy) return { ...obs, addressMissing: true };
  if (policy.triggers.length === 0) return { ...obs, idle: true };
  if (!src.schedule.due(key, rollout, now, intervalMs)) {
    obs.nextInMs = Math.max(0, (obs.lastAt?.getTime() ?? 0) + intervalMs - now.getTime());
    return obs;
  }
  obs.latenessMs = src.schedule.lateness(key, rollout, now, intervalMs);
  const target = await analysisTarget(src, rel, rbp, phase);
  obs.evaluation = await src.analyzer.evaluate(policy, target, {
    window: rbp.spec.window ?? '1m',
  });
  src.schedule.record(key, rollout, now);
  obs.lastAt = now;
  return obs;
}

/**
 * After promotion the previous slot takes no traffic, so there is nothing to
 * compare with: a relative trigger judges only its absolute part then, and a
 * trigger that is only relative sits out.
 */
export function policyFor(spec: RollbackPolicySpec, phase: ReleasePhase): RollbackPolicySpec {
  if (phase === 'Shifting') return spec;
  const triggers = spec.triggers
    .filter(
      (t) => !t.relativeTo || t.threshold !== undefined || t.above !== undefined || t.below !== undefined,
    )
    .map((t) => ({ ...t, relativeTo: undefined, maxIncrease: undefined }));
  return { ...spec, triggers };
}

async function analysisTarget(
  src: AnalysisSources,
  rel: Release,
  rbp: RollbackPolicy,
  phase: ReleasePhase,
): Promise<AnalysisTarget> {
  const namespace = rel.metadata?.namespace ?? '';
  const status = rel.status ?? {};
  const slot = status.targetSlot ?? 'blue';
  const stable =
    phase === 'Shifting' && status.activeSlot && status.activeSlot !== slot && status.stableVersion
      ? {
          slot: status.activeSlot,
          version: status.stableVersion,
          resources: podResources(
            src.slotTemplate(namespace, slotName(rel.spec.application, status.activeSlot)) ?? {},
          ),
        }
      : undefined;
  const databaseUrls = new Map<string, string>();
  for (const t of rbp.spec.triggers) {
    if (t.builtin !== 'DatabasePool') continue;
    const ref = t.databaseSecretRef ?? rel.spec.migrations?.databaseSecretRef;
    const url = ref && (await databaseUrl(src.secrets, namespace, ref));
    if (url) databaseUrls.set(t.name, url);
  }
  return {
    namespace,
    app: rel.spec.application,
    slot,
    version: rel.spec.version,
    stable,
    resources: podResources(rel.spec.template),
    databaseUrls,
  };
}

/** Undefined when the Secret or its key is missing: the DatabasePool reading says there is no URL. */
async function databaseUrl(
  secrets: AnalysisSources['secrets'],
  namespace: string,
  ref: SecretKeySelector,
): Promise<string | undefined> {
  try {
    return await secrets.value(namespace, ref);
  } catch (err) {
    if (err instanceof SecretMissing) return undefined;
    throw err;
  }
}
