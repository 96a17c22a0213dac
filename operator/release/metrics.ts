// Release metrics: rollouts by outcome, their duration, the current weight,
// a gauge that alerts while a contract migration has failed, and drift found.
// The per-Release gauges restate status (phase, Ready, verdict, approvers), so
// alert rules (config/prometheus/rules.yaml) read what kubectl shows; the
// analysis measurements add the numbers status only holds as text.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Release, ReleaseStatus } from '../api/generated/index.js';
import type { Evaluation, Measurement } from '../rollback/types.js';
import { SLOT_UNAVAILABLE } from './plan/drift.js';

/** Phases in which the RollbackPolicy is evaluated, so a standing Inconclusive verdict holds the rollout. */
const ANALYSING = new Set(['Shifting', 'Baking', 'BackingUp', 'Contracting']);

export class ReleaseMetrics {
  readonly rollouts: Counter<'outcome'>;
  readonly duration: Histogram<'outcome'>;
  readonly weight: Gauge<'namespace' | 'release'>;
  readonly degraded: Gauge<'namespace' | 'release'>;
  readonly rollbacks: Counter<'cause' | 'trigger'>;
  readonly evaluations: Counter<'result'>;
  readonly lateness: Histogram;
  readonly drift: Counter<'kind' | 'mode'>;
  readonly phase: Gauge<'namespace' | 'release' | 'phase'>;
  readonly slotUnavailable: Gauge<'namespace' | 'release'>;
  readonly inconclusive: Gauge<'namespace' | 'release'>;
  readonly approvals: Counter<'namespace' | 'release'>;
  readonly measurement: Gauge<MeasurementLabel>;
  /** The phase each Release's series carries, to remove it when the phase moves on. */
  private readonly phases = new Map<string, string>();
  /** The measurements each Release's series carry, to remove those its next evaluation no longer reads. */
  private readonly measured = new Map<string, readonly Measurement[]>();

  constructor(registry: Registry) {
    this.rollouts = new Counter({
      name: 'cutover_rollouts_total',
      help: 'Finished rollouts by outcome (Succeeded, RolledBack, Failed, Aborted).',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'cutover_rollout_duration_seconds',
      help: 'Time from the start of a rollout to its outcome.',
      labelNames: ['outcome'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
      registers: [registry],
    });
    this.weight = new Gauge({
      name: 'cutover_release_weight',
      help: 'Percentage of traffic on the version being rolled out.',
      labelNames: ['namespace', 'release'],
      registers: [registry],
    });
    this.degraded = new Gauge({
      name: 'cutover_release_degraded',
      help: '1 while a Release is degraded (its contract migration failed, or its RollbackPolicy breached after the contract started): alert on it.',
      labelNames: ['namespace', 'release'],
      registers: [registry],
    });
    this.rollbacks = new Counter({
      name: 'cutover_rollbacks_total',
      help: 'Rollbacks started, by cause (Aborted, AnalysisFailed, VerificationFailed) and the trigger that breached ("" when none).',
      labelNames: ['cause', 'trigger'],
      registers: [registry],
    });
    this.evaluations = new Counter({
      name: 'cutover_analysis_evaluations_total',
      help: 'RollbackPolicy evaluations by verdict (Pass, Fail, Inconclusive).',
      labelNames: ['result'],
      registers: [registry],
    });
    this.lateness = new Histogram({
      name: 'cutover_analysis_lateness_seconds',
      help: 'How long after its interval ended a regular evaluation ran: the work queue keeping up with analysis.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.drift = new Counter({
      name: 'cutover_drift_total',
      help: 'Owned objects found changed by someone else (kind Deployment, Service, HTTPRoute), by the Environment drift mode (Report, Correct).',
      labelNames: ['kind', 'mode'],
      registers: [registry],
    });
    this.phase = new Gauge({
      name: 'cutover_release_phase',
      help: "1 for each Release's current phase (one series per Release).",
      labelNames: ['namespace', 'release', 'phase'],
      registers: [registry],
    });
    this.slotUnavailable = new Gauge({
      name: 'cutover_release_slot_unavailable',
      help: "1 while a settled Release's active slot is gone, scaled down or short of available pods (Ready reason SlotUnavailable).",
      labelNames: ['namespace', 'release'],
      registers: [registry],
    });
    this.inconclusive = new Gauge({
      name: 'cutover_release_analysis_inconclusive',
      help: '1 while the analysis verdict of a Release in an analysed phase (Shifting, Baking, BackingUp, Contracting) is Inconclusive.',
      labelNames: ['namespace', 'release'],
      registers: [registry],
    });
    this.approvals = new Counter({
      name: 'cutover_approvals_total',
      help: 'Approvers newly counted for the revision a Release rolls out (status.approvedBy).',
      labelNames: ['namespace', 'release'],
      registers: [registry],
    });
    this.measurement = new Gauge({
      name: 'cutover_analysis_measurement',
      help:
        "The last value each RollbackPolicy trigger read for a Release under analysis, in the trigger's unit: seconds (LatencyP95), " +
        'a ratio (ErrorRate; CPU and Memory of the busiest pod of the slot over its limits, else requests; DatabasePool of max_connections), ' +
        'or the number a custom query (signal Query) returned. slot is new, or stable for the baseline of a trigger relative to the stable slot. ' +
        'Gone once the Release leaves analysis.',
      labelNames: ['namespace', 'release', 'trigger', 'signal', 'slot'],
      registers: [registry],
    });
  }

  /** A deleted Release's series go with it. */
  forget(namespace: string, release: string): void {
    const labels = { namespace, release };
    for (const g of [this.weight, this.degraded, this.slotUnavailable, this.inconclusive]) g.remove(labels);
    const key = `${namespace}/${release}`;
    const phase = this.phases.get(key);
    if (phase !== undefined) this.phase.remove({ ...labels, phase });
    this.phases.delete(key);
    this.observeMeasurements(labels, undefined, undefined);
  }

  /** Counts each object found drifted anew, once its Drifted condition has landed. */
  drifted(kinds: readonly string[] | undefined, mode: string): void {
    for (const kind of kinds ?? []) this.drift.inc({ kind, mode });
  }

  evaluated(e: Evaluation, latenessMs: number | undefined): void {
    this.evaluations.inc({ result: e.verdict });
    if (latenessMs !== undefined) this.lateness.observe(latenessMs / 1000);
  }

  /**
   * Counts each newly recorded outcome once: the history grows by one entry per finished rollout.
   * `evaluation`: the one this reconcile ran, if any.
   */
  observe(rel: Release, next: ReleaseStatus, evaluation?: Evaluation): void {
    const labels = { namespace: rel.metadata?.namespace ?? '', release: rel.metadata?.name ?? '' };
    const before = rel.status?.history?.[0];
    const after = next.history?.[0];
    if (
      after &&
      (after.finishedAt !== before?.finishedAt || after.version !== before?.version) &&
      after.outcome
    ) {
      this.rollouts.inc({ outcome: after.outcome });
      if (after.startedAt && after.finishedAt) {
        this.duration.observe(
          { outcome: after.outcome },
          (Date.parse(after.finishedAt) - Date.parse(after.startedAt)) / 1000,
        );
      }
    }
    const rollback = next.rollback;
    if (rollback?.at && rollback.at !== rel.status?.rollback?.at) {
      this.rollbacks.inc({ cause: rollback.cause ?? 'Aborted', trigger: rollback.metric ?? '' });
    }
    if (next.canaryWeight !== undefined) this.weight.set(labels, next.canaryWeight);
    const degraded = next.conditions?.some((c) => c.type === 'Degraded' && c.status === 'True') ? 1 : 0;
    this.degraded.set(labels, degraded);
    this.observePhase(labels, next.phase);
    const ready = next.conditions?.find((c) => c.type === 'Ready');
    this.slotUnavailable.set(labels, ready?.status !== 'True' && ready?.reason === SLOT_UNAVAILABLE ? 1 : 0);
    const held = ANALYSING.has(next.phase ?? '') && next.analysis?.verdict === 'Inconclusive';
    this.inconclusive.set(labels, held ? 1 : 0);
    this.observeMeasurements(labels, next.phase, evaluation);
    // A new revision starts a new list: every approver in it is new.
    const sameRevision = next.revision === rel.status?.revision;
    const counted = new Set(sameRevision ? (rel.status?.approvedBy ?? []) : []);
    const added = (next.approvedBy ?? []).filter((a) => !counted.has(a)).length;
    if (added > 0) this.approvals.inc(labels, added);
  }

  /**
   * Between evaluations the last one's numbers stand. A Release that left analysis (promoted, rolled back, a new
   * revision starting over) has none, even when the evaluation that made it leave was just taken; and the stable
   * slot is compared with only while traffic shifts, so its baselines end with Shifting.
   */
  private observeMeasurements(
    release: { namespace: string; release: string },
    phase: string | undefined,
    evaluation: Evaluation | undefined,
  ): void {
    const key = `${release.namespace}/${release.release}`;
    const before = this.measured.get(key) ?? [];
    const analysed = ANALYSING.has(phase ?? '');
    const latest = evaluation ? (evaluation.measurements ?? []) : before;
    const now = analysed ? latest.filter((m) => m.slot === 'new' || phase === 'Shifting') : [];
    const labels = (m: Measurement) => ({ ...release, trigger: m.trigger, signal: m.signal, slot: m.slot });
    const kept = new Set(now.map(seriesKey));
    for (const old of before) if (!kept.has(seriesKey(old))) this.measurement.remove(labels(old));
    for (const m of now) this.measurement.set(labels(m), m.value);
    if (now.length > 0) this.measured.set(key, now);
    else this.measured.delete(key);
  }

  private observePhase(labels: { namespace: string; release: string }, phase: string | undefined): void {
    const key = `${labels.namespace}/${labels.release}`;
    const before = this.phases.get(key);
    if (before !== undefined && before !== phase) this.phase.remove({ ...labels, phase: before });
    if (phase === undefined) {
      this.phases.delete(key);
      return;
    }
    this.phase.set({ ...labels, phase }, 1);
    this.phases.set(key, phase);
  }
}

type MeasurementLabel = 'namespace' | 'release' | 'trigger' | 'signal' | 'slot';

function seriesKey(m: Measurement): string {
  return `${m.trigger}/${m.signal}/${m.slot}`;
}
