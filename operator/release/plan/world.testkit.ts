// Test support (excluded from the build): a small world the plan acts on.
import type { ReleaseStatus, Slot } from '../../api/generated/index.js';
import type { Evaluation } from '../../rollback/types.js';
import { jobName, runOf } from '../names.js';
import {
  planRelease,
  type Action,
  type AnalysisObservation,
  type JobObservation,
  type Observation,
  type RolloutSpec,
} from './index.js';

export const T0 = Date.parse('2026-11-28T10:00:00Z');

type JobState = 'Running' | 'Succeeded' | 'Failed';

export function spec(over: Partial<RolloutSpec> = {}): RolloutSpec {
  return {
    app: 'shop',
    version: '2.0.0',
    revision: 'rev2',
    generation: 2,
    replicas: 4,
    mode: 'GatewayAPI',
    steps: [10, 25, 50, 100],
    stepDurationMs: 60_000,
    progressDeadlineMs: 600_000,
    scaleDownDelayMs: 600_000,
    paused: false,
    expand: false,
    expandFiles: true,
    verify: false,
    contract: undefined,
    driftMode: 'Report',
    ...over,
  };
}

export const stableV1: ReleaseStatus = {
  phase: 'Succeeded',
  revision: 'rev1',
  stableRevision: 'rev1',
  stableVersion: '1.0.0',
  activeSlot: 'blue',
  targetSlot: 'blue',
  canaryWeight: 100,
};

/**
 * A small world the plan acts on: slots become available at once, Jobs finish
 * as told, the route carries a weight. Drives whole rollouts through the plan
 * the way the controller does, with optional crashes that lose the status
 * write of a reconcile (the actions happened, the status did not land).
 */
export class World {
  status: ReleaseStatus;
  slots: Partial<Record<Slot, { revision?: string; version?: string; replicas: number }>> = {};
  weight = 0;
  stable?: Slot | 'both';
  preview?: Slot;
  jobsCreated: string[] = [];
  /** Every action applied, in order. */
  actions: Action[] = [];
  jobs = new Map<string, 'Running' | 'Succeeded' | 'Failed'>();
  weights: number[] = [];
  now = T0;
  annotations: Observation['annotations'] = {};
  /** The RollbackPolicy as observed; evaluations come from `evaluate` every `intervalMs`. */
  policy?: Omit<AnalysisObservation, 'evaluation' | 'nextInMs' | 'lastAt'> & { intervalMs: number };
  evaluate: (w: World) => Omit<Evaluation, 'at'> = () => ({ verdict: 'Pass', readings: [], message: 'pass' });
  evaluations: Array<{ at: number; verdict: string }> = [];
  /** The contract's lint and the BackupPolicy, as observed in Baking and BackingUp. */
  contract?: Observation['contract'];
  backupPolicy?: Observation['backupPolicy'];
  /** The Environment is gone while backing up (only then are gate facts observed here). */
  environmentMissing = false;
  /** What a finished backup Job reports; by default a success with an id after the Job's name. */
  backupReport: (name: string, state: 'Succeeded' | 'Failed') => JobObservation['report'] = (name, state) =>
    state === 'Succeeded' ? { ok: true, id: `id-${name}`, size: 2048 } : { ok: false, error: 'storage down' };
  private lastEvaluation?: number;
  private forced = false;

  constructor(
    readonly s: RolloutSpec,
    status: ReleaseStatus,
    public jobOutcome: JobState | ((name: string) => JobState) = 'Succeeded',
  ) {
    this.status = status;
  }

  observe(): Observation {
    const slots: Observation['slots'] = {};
    for (const [k, v] of Object.entries(this.slots) as Array<
      [Slot, { revision?: string; version?: string; replicas: number }]
    >) {
      slots[k] = { ...v, available: v.replicas, rolledOut: true };
    }
    const jobs: Observation['jobs'] = {};
    const names = {
      expand: this.status.migrations?.expand?.job,
      contract: this.status.migrations?.contract?.job,
      down: this.status.migrations?.down?.job,
      verify: this.status.verification?.job,
      // As observe does: by the name the status names or, before it does, the name it would.
      backup:
        ['Baking', 'BackingUp'].includes(this.status.phase ?? '') && this.status.backup?.phase !== 'Failed'
          ? (this.status.backup?.job ??
            jobName(
              this.s.app,
              'backup',
              runOf(this.status.revision ?? '', this.status.startedAt),
              this.status.backup?.attempt ?? 0,
            ))
          : undefined,
    };
    for (const [kind, name] of Object.entries(names) as Array<[keyof typeof names, string | undefined]>) {
      const state = name ? this.jobs.get(name) : undefined;
      if (state) jobs[kind] = { ownedByUs: true, state };
      if (state && kind === 'backup' && name && state !== 'Running') {
        jobs[kind] = { ownedByUs: true, state, report: this.backupReport(name, state) };
      }
    }
    const backingUp = ['Baking', 'BackingUp'].includes(this.status.phase ?? '');
    return {
      analysis: this.analysis(),
      now: new Date(this.now),
      slots,
      jobs,
      weight: this.weight,
      stableSelects: this.stable,
      previewSelects: this.preview,
      annotations: this.annotations,
      expandLint: { findings: [] },
      ...(backingUp && this.contract ? { contract: this.contract } : {}),
      ...(backingUp && this.backupPolicy ? { backupPolicy: this.backupPolicy } : {}),
      ...(backingUp && this.environmentMissing
        ? { gates: { namespace: 'shop', environment: { name: 'production', found: false } } }
        : {}),
    };
  }

  /** As the controller's schedule does: an evaluation when the interval passed or one was asked for. */
  private analysis(): AnalysisObservation | undefined {
    if (!this.policy) return undefined;
    const { intervalMs, ...policy } = this.policy;
    const phase = this.status.phase ?? '';
    const last = this.lastEvaluation;
    const obs: AnalysisObservation = {
      ...policy,
      nextInMs: last === undefined ? intervalMs : Math.max(0, last + intervalMs - this.now),
      lastAt: last === undefined ? undefined : new Date(last),
    };
    const analysed = ['Shifting', 'Baking', 'BackingUp', 'Contracting'].includes(phase);
    if (!analysed || this.status.revision !== this.s.revision) return obs;
    if (!this.forced && last !== undefined && this.now - last < intervalMs) return obs;
    this.forced = false;
    this.lastEvaluation = this.now;
    const ev = { ...this.evaluate(this), at: new Date(this.now) };
    this.evaluations.push({ at: this.now, verdict: ev.verdict });
    return { ...obs, evaluation: ev, nextInMs: intervalMs, lastAt: new Date(this.now) };
  }

  apply(actions: Action[]): void {
    this.actions.push(...actions);
    for (const a of actions) {
      if (a.type === 'ApplySlot')
        this.slots[a.slot] = { revision: this.s.revision, version: this.s.version, replicas: a.replicas };
      if (a.type === 'ScaleSlot') this.slots[a.slot] = { ...this.slots[a.slot], replicas: a.replicas };
      if (a.type === 'ApplyServices') {
        this.stable = a.stable ?? this.stable;
        this.preview = a.preview ?? this.preview;
      }
      if (a.type === 'SetWeight' && a.weight !== this.weight) this.weights.push((this.weight = a.weight));
      if (a.type === 'CreateJob' && !this.jobs.has(a.name)) {
        this.jobsCreated.push(a.name);
        this.jobs.set(
          a.name,
          typeof this.jobOutcome === 'function' ? this.jobOutcome(a.name) : this.jobOutcome,
        );
      }
    }
  }

  /** Annotations are cleared only after the status landed, as the controller does. */
  clear(actions: Action[]): void {
    if (actions.some((a) => a.type === 'ClearAnnotation')) this.annotations = {};
  }

  /** Reconciles until the plan asks for nothing but a timer; then moves the clock. */
  run(until: (w: World) => boolean, crash: (i: number) => boolean = () => false, maxSteps = 500): void {
    for (let i = 0; i < maxSteps && !until(this); i++) {
      const p = planRelease(this.s, this.status, this.observe());
      if (p.evaluateNow) this.forced = true;
      // A crash loses what came last: the status write, or the actions when the status went first.
      const crashed = crash(i);
      if (crashed) this.lastEvaluation = undefined; // the schedule lived in the crashed process
      if (!crashed || !p.commitFirst) this.apply(p.actions);
      const changed = JSON.stringify(p.status) !== JSON.stringify(this.status);
      if (!crashed || p.commitFirst) {
        this.status = p.status;
        this.clear(p.actions);
      }
      // Watch events bring the Release back at once after a change; only an idle plan waits for its timer.
      const idle = !changed && p.actions.every((a) => a.type === 'Event');
      if (idle && p.requeueAfterMs !== undefined && p.requeueAfterMs > 0) this.now += p.requeueAfterMs;
    }
    if (!until(this)) throw new Error(`did not converge: ${JSON.stringify(this.status)}`);
  }
}
