// The status and actions one call of the state machine builds up. Every status
// change goes through a method here, so a transition always records its time,
// its Event and its conditions the same way.
import type {
  Condition,
  MigrationStatus,
  ReleasePhase,
  ReleaseStatus,
  RolloutRecord,
  Slot,
} from '../../api/generated/index.js';
import { setCondition, setHealth, type Health } from '../../runtime/conditions.js';
import { otherSlot, runOf } from '../names.js';
import { providerFor, type TrafficProvider, type TrafficView } from '../traffic/index.js';
import type { DriftKind } from '../drift/observe.js';
import type { Action, EventDetails, MigrationPhase, Observation, Plan, RolloutSpec } from './types.js';

/** An Event's details as the planners write them: a fact left undefined is not recorded. */
type Details = Readonly<Record<string, EventDetails[string] | undefined>>;

export const TERMINAL: readonly ReleasePhase[] = ['Succeeded', 'Failed', 'RolledBack'];
const HISTORY_LIMIT = 10;

// Milliseconds kept: step holds are measured from these, and a timestamp cut
// to the second would shorten a 1 s step by up to a second.
export const iso = (d: Date): string => d.toISOString();

export class Builder {
  readonly actions: Action[] = [];
  /** Objects newly found drifted (see Plan.drifted). */
  readonly drifted: DriftKind[] = [];
  requeueAfterMs: number | undefined;
  private evaluate = false;
  private commit = false;
  private current: ReleaseStatus;

  constructor(
    readonly spec: RolloutSpec,
    readonly obs: Observation,
    status: ReleaseStatus,
  ) {
    this.current = status;
  }

  get status(): Readonly<ReleaseStatus> {
    return this.current;
  }

  get now(): Date {
    return this.obs.now;
  }

  /** Slot serving the stable version (blue before anything was ever promoted). */
  get stable(): Slot {
    return this.current.activeSlot ?? 'blue';
  }

  /** Slot the rollout in progress deploys into. */
  get target(): Slot {
    return this.current.targetSlot ?? 'blue';
  }

  /** Slot that is not serving: where the previous version waits out scaleDownDelay. */
  get idle(): Slot {
    return otherSlot(this.stable);
  }

  /** Whether some version was promoted before this rollout: there is a slot to fall back on. */
  get hasStable(): boolean {
    return this.current.stableRevision !== undefined;
  }

  /** This rollout's run: part of its Job names and what its expand records in the history table. */
  get run(): string {
    // The status' revision: a down migration finishing for the rollout a new revision replaces is that rollout's.
    return runOf(this.current.revision ?? this.spec.revision, this.current.startedAt);
  }

  get traffic(): TrafficProvider {
    return providerFor(this.spec.mode);
  }

  get view(): TrafficView {
    const slotReplicas: TrafficView['slotReplicas'] = {};
    for (const [slot, o] of Object.entries(this.obs.slots) as Array<[Slot, { replicas: number }]>) {
      slotReplicas[slot] = o.replicas;
    }
    return {
      replicas: this.spec.replicas,
      stable: this.stable,
      canary: this.target,
      slotReplicas,
      stableSelects: this.obs.stableSelects,
      previewSelects: this.obs.previewSelects,
      routeWeight: this.obs.weight,
    };
  }

  /** Time since `t`, by the observation's clock. */
  since(t: string | undefined): number {
    return t ? this.now.getTime() - Date.parse(t) : Infinity;
  }

  /** A small named change to the status. */
  set(patch: Partial<ReleaseStatus>): this {
    this.current = { ...this.current, ...patch };
    return this;
  }

  act(...actions: Action[]): this {
    this.actions.push(...actions);
    return this;
  }

  event(kind: 'Normal' | 'Warning', reason: string, message: string, details?: Details): this {
    if (!details) return this.act({ type: 'Event', kind, reason, message });
    const known = Object.entries(details).filter(
      (e): e is [string, EventDetails[string]] => e[1] !== undefined,
    );
    return this.act({ type: 'Event', kind, reason, message, details: Object.fromEntries(known) });
  }

  /** Wake again after `ms` (the earliest of several requests wins). */
  after(ms: number): this {
    const v = Math.max(0, Math.ceil(ms));
    this.requeueAfterMs = this.requeueAfterMs === undefined ? v : Math.min(this.requeueAfterMs, v);
    return this;
  }

  /**
   * Moves to `phase`; `quiet` when an Event of this same call already says it;
   * `health` when the phase's usual one is not the truth (a gate that stalls);
   * `details` for the audit trail, on the transition's Event.
   */
  phase(
    phase: ReleasePhase,
    reason: string,
    message: string,
    { quiet = false, health, details }: { quiet?: boolean; health?: Health; details?: Details } = {},
  ): this {
    if (this.current.phase !== phase) {
      this.set({ phase, phaseStartedAt: iso(this.now) });
      const warning = phase === 'Failed' || phase === 'RolledBack' || phase === 'RollingBack';
      if (!quiet) this.event(warning ? 'Warning' : 'Normal', reason, message, details);
      // Each transition is a boundary: run again at once from the persisted status.
      this.after(0);
    }
    return this.health(health ?? healthOf(phase, reason, message));
  }

  health(h: Health): this {
    return this.set({ conditions: setHealth(this.current.conditions, h, this.spec.generation, this.now) });
  }

  condition(c: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>): this {
    return this.set({ conditions: setCondition(this.current.conditions, c, this.spec.generation, this.now) });
  }

  /** Ask for an evaluation on the next reconcile, which comes at once. */
  evaluateNow(): this {
    this.evaluate = true;
    return this.after(0);
  }

  /** The status of this call is written before its actions run. */
  commitFirst(): this {
    this.commit = true;
    return this;
  }

  migration(phase: MigrationPhase | 'down', patch: Partial<MigrationStatus>): this {
    const m = this.current.migrations ?? {};
    return this.set({ migrations: { ...m, [phase]: { ...m[phase], ...patch } } });
  }

  record(outcome: NonNullable<RolloutRecord['outcome']>, extra: Partial<RolloutRecord> = {}): this {
    const entry: RolloutRecord = {
      version: this.spec.version,
      outcome,
      // The rollout's own: a superseded one is recorded before the status names its successor.
      ...(this.current.revision ? { revision: this.current.revision } : {}),
      ...(this.current.configHash ? { configHash: this.current.configHash } : {}),
      startedAt: this.current.startedAt,
      finishedAt: iso(this.now),
      // status.backup belongs to this rollout: a new one or a retry clears it.
      ...(this.current.backup?.id ? { backupId: this.current.backup.id } : {}),
      ...extra,
    };
    return this.set({ history: [entry, ...(this.current.history ?? [])].slice(0, HISTORY_LIMIT) });
  }

  done(): Plan {
    return {
      status: this.current,
      actions: this.actions,
      requeueAfterMs: this.requeueAfterMs,
      ...(this.evaluate ? { evaluateNow: true } : {}),
      ...(this.commit ? { commitFirst: true } : {}),
      ...(this.drifted.length > 0 ? { drifted: this.drifted } : {}),
    };
  }
}

function healthOf(phase: ReleasePhase, reason: string, message: string): Health {
  if (phase === 'Succeeded') return { state: 'Ready', reason, message };
  if (phase === 'Failed' || phase === 'RolledBack') return { state: 'Stalled', reason, message };
  return { state: 'Progressing', reason, message };
}
