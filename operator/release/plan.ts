// The Release state machine: a pure function from (resolved spec, status,
// observation, clock) to the next status and a short ordered list of actions.
// It moves at most one phase per call; the controller requeues at once after a
// transition, so every phase boundary is a point where a crash can happen and
// the next call, from the persisted status and fresh observation, carries on.
import type {
  Condition,
  MigrationStatus,
  ReleasePhase,
  ReleaseStatus,
  RolloutRecord,
  Slot,
} from '../api/generated/index.js';
import { setCondition, setHealth, type Health } from '../runtime/conditions.js';
import { jobName, otherSlot } from './names.js';

export type TrafficMode = 'GatewayAPI' | 'Replicas' | 'Service';
export type MigrationPhase = 'expand' | 'contract';

/** The Release spec with every default resolved (Environment defaults, durations in ms). */
export interface RolloutSpec {
  app: string;
  version: string;
  revision: string;
  generation: number;
  replicas: number;
  mode: TrafficMode;
  steps: number[];
  stepDurationMs: number;
  progressDeadlineMs: number;
  scaleDownDelayMs: number;
  paused: boolean;
  expand: boolean;
  contract: { afterMs: number } | undefined;
}

export interface SlotObservation {
  revision?: string;
  version?: string;
  replicas: number;
  /** Pods ready and up to date with the Deployment's current template. */
  available: number;
  /** The Deployment controller has seen the latest spec and rolled every pod. */
  rolledOut: boolean;
}

export interface JobObservation {
  ownedByUs: boolean;
  state: 'Running' | 'Succeeded' | 'Failed';
  message?: string;
}

export interface GateResult {
  phase: 'AwaitingApproval' | 'WaitingForWindow' | 'Pending';
  reason: string;
  message: string;
  recheckAfterMs?: number;
  /** Blocked until a person acts (a missing reference), not merely waiting (a window). */
  stalled?: boolean;
}

export interface Observation {
  now: Date;
  slots: Partial<Record<Slot, SlotObservation>>;
  /** Jobs under the names the current status expects, if they exist. */
  jobs: Partial<Record<MigrationPhase, JobObservation>>;
  /** Findings of the expand lint (file:line rule), or why the files could not be read. */
  expandLint?: { findings: string[] } | { unreadable: string };
  /** Weight the traffic layer currently gives the slot being rolled out, if it can be read. */
  weight?: number;
  /** Slot the stable Service selects now (undefined: no such Service, or it selects both slots). */
  stableSelects?: Slot | 'both';
  previewSelects?: Slot;
  annotations: { promote?: string; abort?: string; retry?: string };
  /** First gate that blocks the rollout (Environment rules arrive in their own issue). */
  gate?: GateResult;
  /** A problem with the traffic target (an HTTPRoute without our backend, say). */
  trafficProblem?: string;
}

export type Action =
  | { type: 'ApplySlot'; slot: Slot; replicas: number }
  | { type: 'ScaleSlot'; slot: Slot; replicas: number }
  | { type: 'ApplyServices'; stable: Slot | 'both'; preview: Slot }
  | { type: 'SetWeight'; weight: number; stable: Slot; canary: Slot }
  | { type: 'CreateJob'; phase: MigrationPhase; name: string }
  | { type: 'DeleteJob'; name: string }
  | { type: 'ClearAnnotation'; key: 'cutover.dev/promote' | 'cutover.dev/abort' | 'cutover.dev/retry' }
  | { type: 'Event'; kind: 'Normal' | 'Warning'; reason: string; message: string };

export interface Plan {
  status: ReleaseStatus;
  actions: Action[];
  /** Come back after this long even if nothing changes (a step timer, a deadline). */
  requeueAfterMs?: number;
}

const TERMINAL: readonly ReleasePhase[] = ['Succeeded', 'Failed', 'RolledBack'];
const HISTORY_LIMIT = 10;

// Milliseconds kept: step holds are measured from these, and a timestamp cut
// to the second would shorten a 1 s step by up to a second.
const iso = (d: Date) => d.toISOString();
const since = (t: string | undefined, now: Date) => (t ? now.getTime() - Date.parse(t) : Infinity);

/** Replicas for the new slot at `weight` percent when traffic follows replica counts. */
export function canaryReplicas(total: number, weight: number): number {
  if (weight <= 0 || total <= 0) return 0;
  return Math.min(total, Math.max(1, Math.round((total * weight) / 100)));
}

export function stableReplicas(total: number, weight: number): number {
  if (weight >= 100) return 0;
  return Math.max(1, total - canaryReplicas(total, weight));
}

class Builder {
  readonly actions: Action[] = [];
  requeueAfterMs: number | undefined;

  constructor(
    readonly spec: RolloutSpec,
    readonly obs: Observation,
    public status: ReleaseStatus,
  ) {}

  get now(): Date {
    return this.obs.now;
  }

  act(...actions: Action[]): this {
    this.actions.push(...actions);
    return this;
  }

  event(kind: 'Normal' | 'Warning', reason: string, message: string): this {
    return this.act({ type: 'Event', kind, reason, message });
  }

  /** Wake again after `ms` (the earliest of several requests wins). */
  after(ms: number): this {
    const v = Math.max(0, Math.ceil(ms));
    this.requeueAfterMs = this.requeueAfterMs === undefined ? v : Math.min(this.requeueAfterMs, v);
    return this;
  }

  phase(phase: ReleasePhase, reason: string, message: string): this {
    if (this.status.phase !== phase) {
      this.status = { ...this.status, phase, phaseStartedAt: iso(this.now) };
      const warning = phase === 'Failed' || phase === 'RolledBack' || phase === 'RollingBack';
      this.event(warning ? 'Warning' : 'Normal', reason, message);
      // Each transition is a boundary: run again at once from the persisted status.
      this.after(0);
    }
    return this.health(healthOf(phase, reason, message));
  }

  health(h: Health): this {
    this.status = {
      ...this.status,
      conditions: setHealth(this.status.conditions, h, this.spec.generation, this.now),
    };
    return this;
  }

  condition(c: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>): this {
    this.status = {
      ...this.status,
      conditions: setCondition(this.status.conditions, c, this.spec.generation, this.now),
    };
    return this;
  }

  migration(phase: MigrationPhase, patch: Partial<MigrationStatus>): this {
    const m = this.status.migrations ?? {};
    this.status = { ...this.status, migrations: { ...m, [phase]: { ...m[phase], ...patch } } };
    return this;
  }

  record(outcome: RolloutRecord['outcome'], version = this.spec.version): this {
    const entry: RolloutRecord = {
      version,
      outcome,
      startedAt: this.status.startedAt,
      finishedAt: iso(this.now),
    };
    this.status = {
      ...this.status,
      history: [entry, ...(this.status.history ?? [])].slice(0, HISTORY_LIMIT),
    };
    return this;
  }

  done(): Plan {
    return { status: this.status, actions: this.actions, requeueAfterMs: this.requeueAfterMs };
  }
}

function healthOf(phase: ReleasePhase, reason: string, message: string): Health {
  if (phase === 'Succeeded') return { state: 'Ready', reason, message };
  if (phase === 'Failed' || phase === 'RolledBack') return { state: 'Stalled', reason, message };
  return { state: 'Progressing', reason, message };
}

/** The next status and actions for a Release. Pure: no I/O, no clock but `obs.now`. */
export function planRelease(spec: RolloutSpec, current: ReleaseStatus, obs: Observation): Plan {
  const b = new Builder(spec, obs, { ...current, observedGeneration: spec.generation });

  if (current.revision !== spec.revision) return startRollout(b).done();

  const { phase = 'Pending' } = current;
  if (obs.annotations.retry) {
    b.act({ type: 'ClearAnnotation', key: 'cutover.dev/retry' });
    if (phase === 'Failed' || phase === 'RolledBack') return retry(b).done();
  }
  if (obs.annotations.abort && !TERMINAL.includes(phase)) return abort(b).done();
  if (obs.annotations.abort) b.act({ type: 'ClearAnnotation', key: 'cutover.dev/abort' });

  switch (phase) {
    case 'Pending':
    case 'AwaitingApproval':
    case 'WaitingForWindow':
      return gate(b).done();
    case 'BackingUp':
    case 'Migrating':
      return migrate(b, 'expand').done();
    case 'Deploying':
      return deploy(b).done();
    case 'Shifting':
      return shift(b).done();
    case 'Baking':
      return bake(b).done();
    case 'Contracting':
      return migrate(b, 'contract').done();
    case 'RollingBack':
      return finishRollback(b).done();
    case 'Succeeded':
      return settleOldSlot(b).done();
    case 'Failed':
    case 'RolledBack':
      return b.done();
  }
}

function inFlight(phase: ReleasePhase | undefined): boolean {
  return phase !== undefined && !TERMINAL.includes(phase);
}

/** A new revision: supersede whatever was in flight, then begin at Pending. */
function startRollout(b: Builder): Builder {
  const { spec, status: prev } = b;
  const first = !prev.stableRevision;
  if (prev.revision && inFlight(prev.phase)) {
    // Superseded: traffic back to stable first, then drop what the old rollout left running.
    supersede(b);
  }
  const target: Slot = first ? 'blue' : otherSlot(prev.activeSlot ?? 'blue');
  b.status = {
    ...b.status,
    revision: spec.revision,
    targetSlot: target,
    attempt: 0,
    startedAt: iso(b.now),
    currentStep: 0,
    canaryWeight: first ? undefined : 0,
    stepStartedAt: undefined,
    scaleDownAt: prev.scaleDownAt,
    migrations: migrationsFor(spec, 0),
    phase: undefined,
  };
  if (spec.revision === prev.stableRevision) {
    // Back to what the stable slot already runs: nothing to roll out.
    b.status = { ...b.status, targetSlot: prev.activeSlot, canaryWeight: 100, migrations: undefined };
    return b.phase(
      'Succeeded',
      'AlreadyStable',
      `version ${spec.version} is what the ${prev.activeSlot} slot serves`,
    );
  }
  return b.phase('Pending', 'RolloutStarted', `rolling out ${spec.version} to the ${target} slot`);
}

function migrationsFor(spec: RolloutSpec, attempt: number): ReleaseStatus['migrations'] {
  const m: ReleaseStatus['migrations'] = {};
  if (spec.expand) m.expand = { phase: 'Pending', job: jobName(spec.app, 'expand', spec.revision, attempt) };
  if (spec.contract)
    m.contract = { phase: 'Pending', job: jobName(spec.app, 'contract', spec.revision, attempt) };
  return Object.keys(m).length ? m : undefined;
}

function supersede(b: Builder): void {
  const { status: prev } = b;
  const stable = prev.activeSlot;
  const target = prev.targetSlot;
  if (stable && target && stable !== target && (prev.canaryWeight ?? 0) > 0) {
    b.act({ type: 'SetWeight', weight: 0, stable, canary: target });
  }
  for (const phase of ['expand', 'contract'] as const) {
    const m = prev.migrations?.[phase];
    if (m?.job && m.phase !== 'Succeeded' && m.phase !== 'Failed') b.act({ type: 'DeleteJob', name: m.job });
  }
  // The superseded version is what its slot was deployed with; the spec already names the new one.
  const version = (target && b.obs.slots[target]?.version) ?? `revision ${prev.revision ?? ''}`;
  b.record('Aborted', version);
  b.event('Normal', 'Superseded', `rollout of ${version} superseded by ${b.spec.version}`);
}

function retry(b: Builder): Builder {
  const attempt = (b.status.attempt ?? 0) + 1;
  b.status = {
    ...b.status,
    attempt,
    currentStep: 0,
    canaryWeight: b.status.stableRevision ? 0 : undefined,
    stepStartedAt: undefined,
    startedAt: iso(b.now),
    migrations: migrationsFor(b.spec, attempt),
  };
  return b.phase('Pending', 'RetryRequested', `retrying ${b.spec.version} (attempt ${attempt + 1})`);
}

function gate(b: Builder): Builder {
  const g = b.obs.gate;
  if (g) {
    if (g.recheckAfterMs !== undefined) b.after(g.recheckAfterMs);
    b.phase(g.phase, g.reason, g.message);
    return g.stalled ? b.health({ state: 'Stalled', reason: g.reason, message: g.message }) : b;
  }
  return b.spec.expand
    ? b.phase('Migrating', 'ExpandMigrationStarting', 'running the expand migration before any traffic moves')
    : b.phase(
        'Deploying',
        'Deploying',
        `deploying ${b.spec.version} to the ${b.status.targetSlot ?? 'blue'} slot`,
      );
}

function migrate(b: Builder, phase: MigrationPhase): Builder {
  const name =
    b.status.migrations?.[phase]?.job ?? jobName(b.spec.app, phase, b.spec.revision, b.status.attempt ?? 0);
  const job = b.obs.jobs[phase];
  const label = phase === 'expand' ? 'Expand' : 'Contract';
  if (!job) {
    if (phase === 'expand') {
      const lint = b.obs.expandLint;
      if (lint && 'unreadable' in lint) {
        b.after(30_000);
        return b.health({ state: 'Stalled', reason: 'MigrationsUnreadable', message: lint.unreadable });
      }
      if (lint && lint.findings.length > 0) {
        const message = `destructive statements in the expand migration (move them to contract): ${lint.findings.join('; ')}`;
        b.migration('expand', { phase: 'Failed', job: undefined, message });
        return b.record('Failed').phase('Failed', 'DestructiveExpandMigration', message);
      }
    }
    b.migration(phase, { phase: 'Running', job: name, startedAt: iso(b.now) });
    return b.act({ type: 'CreateJob', phase, name }).health({
      state: 'Progressing',
      reason: `${label}MigrationRunning`,
      message: `Job ${name} is running`,
    });
  }
  if (!job.ownedByUs) {
    const message = `Job ${name} exists but is not owned by this Release; refusing to adopt it`;
    b.migration(phase, { phase: 'Failed', message });
    return b.record('Failed').phase('Failed', 'JobNotOwned', message);
  }
  if (job.state === 'Running') {
    b.migration(phase, { phase: 'Running', job: name });
    return b.health({
      state: 'Progressing',
      reason: `${label}MigrationRunning`,
      message: `Job ${name} is running`,
    });
  }
  if (job.state === 'Failed') {
    const message = `${phase} migration Job ${name} failed: ${job.message ?? 'no message'}`;
    b.migration(phase, {
      phase: 'Failed',
      finishedAt: b.status.migrations?.[phase]?.finishedAt ?? iso(b.now),
      message,
    });
    if (phase === 'contract') {
      // The new version keeps serving: traffic stays, and the failure is loud.
      b.condition({ type: 'Degraded', status: 'True', reason: 'ContractFailed', message });
      return b.record('Failed').phase('Failed', 'ContractFailed', message);
    }
    return b.record('Failed').phase('Failed', 'ExpandFailed', `${message}; no traffic was moved`);
  }
  b.migration(phase, {
    phase: 'Succeeded',
    finishedAt: b.status.migrations?.[phase]?.finishedAt ?? iso(b.now),
  });
  if (phase === 'contract')
    return b.record('Succeeded').phase('Succeeded', 'RolloutSucceeded', succeededMessage(b));
  return b.phase(
    'Deploying',
    'Deploying',
    `deploying ${b.spec.version} to the ${b.status.targetSlot ?? 'blue'} slot`,
  );
}

function succeededMessage(b: Builder): string {
  return `${b.spec.version} serves all traffic from the ${b.status.activeSlot ?? 'blue'} slot`;
}

function deploy(b: Builder): Builder {
  const { spec, obs } = b;
  const target = b.status.targetSlot ?? 'blue';
  const first = !b.status.stableRevision;
  const want =
    spec.mode === 'Replicas' && !first ? canaryReplicas(spec.replicas, spec.steps[0] ?? 100) : spec.replicas;
  const slot = obs.slots[target];
  if (!slot || slot.revision !== spec.revision || slot.replicas !== want) {
    b.act({ type: 'ApplySlot', slot: target, replicas: want });
  }
  const ready =
    slot?.revision === spec.revision && slot.replicas === want && slot.rolledOut && slot.available >= want;
  if (!ready) {
    const elapsed = since(b.status.phaseStartedAt, b.now);
    if (elapsed >= spec.progressDeadlineMs) {
      const message = `the ${target} slot did not become available within the progress deadline (${slot?.available ?? 0}/${want} ready); traffic was not moved`;
      return b.record('Failed').phase('Failed', 'ProgressDeadlineExceeded', message);
    }
    b.after(spec.progressDeadlineMs - elapsed);
    return b.health({
      state: 'Progressing',
      reason: 'Deploying',
      // No live counts here: a message that changes with every pod would be a status write per pod.
      message: `waiting for the ${target} slot to become available (${want} replicas)`,
    });
  }
  if (first || spec.mode === 'Service') return promote(b);
  if (obs.trafficProblem) {
    b.after(30_000);
    return b.health({ state: 'Stalled', reason: 'TrafficTargetInvalid', message: obs.trafficProblem });
  }
  return enterStep(b, 0);
}

function enterStep(b: Builder, index: number): Builder {
  const weight = b.spec.steps[index] ?? 100;
  b.status = { ...b.status, currentStep: index, canaryWeight: weight, stepStartedAt: iso(b.now) };
  applyWeight(b, weight);
  b.after(b.spec.stepDurationMs);
  const n = b.spec.steps.length;
  if (b.status.phase !== 'Shifting') {
    return b.phase(
      'Shifting',
      'Shifting',
      `${weight}% of traffic on ${b.spec.version} (step ${index + 1}/${n})`,
    );
  }
  b.event('Normal', 'StepStarted', `${weight}% of traffic on ${b.spec.version} (step ${index + 1}/${n})`);
  return b.health({
    state: 'Progressing',
    reason: 'Shifting',
    message: `${weight}% of traffic on ${b.spec.version} (step ${index + 1}/${n})`,
  });
}

/** Actions that put `weight` percent on the target slot, in the mode's own way. */
function applyWeight(b: Builder, weight: number): void {
  const { spec, obs } = b;
  const stable = b.status.activeSlot ?? 'blue';
  const canary = b.status.targetSlot ?? otherSlot(stable);
  if (spec.mode === 'Replicas') {
    if (obs.stableSelects !== 'both' || obs.previewSelects !== canary) {
      b.act({ type: 'ApplyServices', stable: 'both', preview: canary });
    }
    const want = canaryReplicas(spec.replicas, weight);
    if (obs.slots[canary]?.replicas !== want) b.act({ type: 'ScaleSlot', slot: canary, replicas: want });
    const keep = stableReplicas(spec.replicas, weight);
    if (obs.slots[stable]?.replicas !== keep) b.act({ type: 'ScaleSlot', slot: stable, replicas: keep });
    return;
  }
  if (spec.mode === 'GatewayAPI') {
    if (obs.stableSelects !== stable || obs.previewSelects !== canary) {
      b.act({ type: 'ApplyServices', stable, preview: canary });
    }
    if (obs.weight !== weight) b.act({ type: 'SetWeight', weight, stable, canary });
  }
}

function shift(b: Builder): Builder {
  const { spec, obs } = b;
  if (obs.annotations.promote) {
    b.act({ type: 'ClearAnnotation', key: 'cutover.dev/promote' });
    b.event('Normal', 'PromoteRequested', 'remaining steps skipped on request');
    return promote(b);
  }
  const target = b.status.targetSlot ?? 'blue';
  // The stable Service already selects the new slot: a promotion whose status write was lost.
  if (obs.stableSelects === target) return promote(b);
  const index = b.status.currentStep ?? 0;
  // Traffic already at a later step (its status write was lost): carry on from there, never back.
  const reached = reachedStep(b, index);
  if (reached > index) return enterStep(b, reached);
  const weight = spec.steps[index] ?? 100;
  // Re-assert the step's weight: someone may have edited the route or scaled a slot.
  applyWeight(b, weight);
  if (spec.paused) {
    return b.health({
      state: 'Progressing',
      reason: 'Paused',
      message: `paused at ${weight}% (spec.paused)`,
    });
  }
  const held = since(b.status.stepStartedAt, b.now);
  if (held < spec.stepDurationMs) {
    b.after(spec.stepDurationMs - held);
    return b;
  }
  if (index + 1 < spec.steps.length) return enterStep(b, index + 1);
  return promote(b);
}

/** The highest step at or after `from` whose traffic the cluster already shows. */
function reachedStep(b: Builder, from: number): number {
  const { spec, obs } = b;
  const stable = b.status.activeSlot ?? 'blue';
  const canary = b.status.targetSlot ?? otherSlot(stable);
  for (let j = spec.steps.length - 1; j > from; j--) {
    const w = spec.steps[j] ?? 100;
    if (spec.mode === 'GatewayAPI' && obs.weight === w) return j;
    if (
      spec.mode === 'Replicas' &&
      obs.slots[canary]?.replicas === canaryReplicas(spec.replicas, w) &&
      obs.slots[stable]?.replicas === stableReplicas(spec.replicas, w) &&
      canaryReplicas(spec.replicas, w) !== canaryReplicas(spec.replicas, spec.steps[from] ?? 0)
    ) {
      return j;
    }
  }
  return from;
}

/** The target slot becomes the stable one at 100 %. */
function promote(b: Builder): Builder {
  const { spec } = b;
  const target = b.status.targetSlot ?? 'blue';
  const previous = b.status.stableRevision ? b.status.activeSlot : undefined;
  b.act({ type: 'ApplyServices', stable: target, preview: target });
  if (spec.mode === 'GatewayAPI' && previous)
    b.act({ type: 'SetWeight', weight: 0, stable: target, canary: target });
  if (spec.mode === 'Replicas' && b.obs.slots[target]?.replicas !== spec.replicas) {
    b.act({ type: 'ScaleSlot', slot: target, replicas: spec.replicas });
  }
  b.status = {
    ...b.status,
    activeSlot: target,
    stableVersion: spec.version,
    stableRevision: spec.revision,
    canaryWeight: 100,
    currentStep: spec.steps.length - 1,
    scaleDownAt: previous ? iso(new Date(b.now.getTime() + spec.scaleDownDelayMs)) : undefined,
  };
  if (previous) b.after(spec.scaleDownDelayMs);
  if (spec.contract) {
    b.after(spec.contract.afterMs);
    return b.phase('Baking', 'Promoted', `${spec.version} promoted; baking before the contract migration`);
  }
  return b.record('Succeeded').phase('Succeeded', 'RolloutSucceeded', succeededMessage(b));
}

function bake(b: Builder): Builder {
  const wait = (b.spec.contract?.afterMs ?? 0) - since(b.status.phaseStartedAt, b.now);
  if (wait > 0) {
    b.after(wait);
    return settleOldSlot(b);
  }
  return settleOldSlot(b).phase('Contracting', 'ContractMigrationStarting', 'running the contract migration');
}

/** Traffic back to the stable slot in one write, then the new slot scaled away. */
function abort(b: Builder): Builder {
  b.act({ type: 'ClearAnnotation', key: 'cutover.dev/abort' });
  const contract = b.status.migrations?.contract?.phase;
  if (contract === 'Running' || contract === 'Succeeded' || contract === 'Failed') {
    const message =
      'the contract migration has run: shifting traffic back would run the old version on the contracted schema; roll forward with a new version instead';
    b.event('Warning', 'ContractApplied', message);
    return b.health({ state: 'Stalled', reason: 'ContractApplied', message });
  }
  const phase = b.status.phase;
  const target = b.status.targetSlot ?? 'blue';
  if (phase === 'Baking') return rollbackPromotion(b);
  const stable = b.status.activeSlot;
  if (stable && stable !== target && b.status.stableRevision) {
    if (b.spec.mode === 'GatewayAPI') b.act({ type: 'SetWeight', weight: 0, stable, canary: target });
    if (b.spec.mode === 'Replicas') {
      b.act({ type: 'ApplyServices', stable, preview: target });
      b.act({ type: 'ScaleSlot', slot: stable, replicas: b.spec.replicas });
    }
    b.act({ type: 'ScaleSlot', slot: target, replicas: 0 });
  }
  for (const m of ['expand', 'contract'] as const) {
    const job = b.status.migrations?.[m];
    if (job?.job && job.phase === 'Running') b.act({ type: 'DeleteJob', name: job.job });
  }
  b.status = { ...b.status, canaryWeight: b.status.stableRevision ? 0 : undefined };
  return b
    .record('Aborted')
    .phase(
      'RolledBack',
      'Aborted',
      `rollout of ${b.spec.version} aborted on request; traffic is on the stable slot`,
    );
}

/** Abort during the bake: the old slot is still scaled, so it takes the traffic back. */
function rollbackPromotion(b: Builder): Builder {
  const failed = b.status.activeSlot ?? 'blue';
  const old = otherSlot(failed);
  const oldSlot = b.obs.slots[old];
  b.act({ type: 'ApplyServices', stable: old, preview: failed });
  if ((oldSlot?.replicas ?? 0) < b.spec.replicas)
    b.act({ type: 'ScaleSlot', slot: old, replicas: b.spec.replicas });
  b.status = {
    ...b.status,
    activeSlot: old,
    stableVersion: oldSlot?.version ?? b.status.stableVersion,
    stableRevision: oldSlot?.revision ?? b.status.stableRevision,
    canaryWeight: 0,
    scaleDownAt: undefined,
  };
  b.act({ type: 'ScaleSlot', slot: failed, replicas: 0 });
  return b
    .record('Aborted')
    .phase('RolledBack', 'Aborted', `rolled back to the ${old} slot before the contract migration`);
}

function finishRollback(b: Builder): Builder {
  return b.phase('RolledBack', 'RolledBack', 'traffic is on the stable slot');
}

/** Steady state: scale the previous slot away once scaleDownDelay has passed. */
function settleOldSlot(b: Builder): Builder {
  const at = b.status.scaleDownAt;
  if (!at) return b;
  const old = otherSlot(b.status.activeSlot ?? 'blue');
  const wait = Date.parse(at) - b.now.getTime();
  if (wait > 0) return b.after(wait);
  if ((b.obs.slots[old]?.replicas ?? 0) > 0) {
    b.act({ type: 'ScaleSlot', slot: old, replicas: 0 });
    b.event('Normal', 'ScaledDown', `the ${old} slot is scaled to zero after scaleDownDelay`);
  }
  b.status = { ...b.status, scaleDownAt: undefined };
  return b;
}
