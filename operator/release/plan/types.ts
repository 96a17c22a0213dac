// The inputs and outputs of the Release state machine.
import type { TrafficMode } from '../../api/defaults.js';
import type { ReleaseStatus, RollbackCause, Slot } from '../../api/generated/index.js';
import type { ControlAnnotation } from '../../api/annotations.js';
import type { GateFacts } from '../../environment/gates.js';
import type { Evaluation } from '../../rollback/types.js';
import type { TrafficAction } from '../traffic/index.js';
import type { HTTPRoute } from '../traffic/route.js';
import type { DriftKind, ObjectDrift } from '../drift/observe.js';

export type MigrationPhase = 'expand' | 'contract';
/** Every Job a rollout may run: the two migrations, the down migration of a rollback, the verification, the backup before the contract. */
export type JobKind = MigrationPhase | 'down' | 'verify' | 'backup';

/** The Release spec with every default resolved (Environment defaults, durations in ms). */
export interface RolloutSpec {
  app: string;
  version: string;
  revision: string;
  /** The configuration hash that is part of the revision (config.rolloutOnChange), stamped on the slot's pods. */
  configHash?: string;
  generation: number;
  replicas: number;
  mode: TrafficMode;
  steps: readonly number[];
  stepDurationMs: number;
  progressDeadlineMs: number;
  scaleDownDelayMs: number;
  paused: boolean;
  expand: boolean;
  /** The expand runs on the built-in runner (configMapRef), which can undo exactly what it applied. */
  expandFiles: boolean;
  /** spec.verify is set: a verification Job runs before any traffic moves. */
  verify: boolean;
  contract: { afterMs: number } | undefined;
  /** The Environment's spec.drift.mode: Report sets Drifted; Correct also restores what it can rebuild. */
  driftMode: 'Report' | 'Correct';
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
  /** What a finished backup Job's command reported (its termination message); backup Jobs only. */
  report?: { ok: boolean; id?: string; size?: number; error?: string };
}

/** Everything one reconcile knows of the world; the plan reads nothing else. */
export interface Observation {
  now: Date;
  slots: Partial<Record<Slot, SlotObservation>>;
  /** Jobs under the names the current status expects, if they exist. */
  jobs: Partial<Record<JobKind, JobObservation>>;
  /** Findings of the expand lint (file:line rule), why the set is not one the runner accepts, or why it could not be read. */
  expandLint?: { findings: string[] } | { invalid: string } | { unreadable: string };
  /** The HTTPRoute, read fresh in the phases that weigh it (GatewayAPI mode). */
  route?: HTTPRoute;
  /** Weight the route currently gives the slot being rolled out, if it can be read. */
  weight?: number;
  /** Slot the stable Service selects now (undefined: no such Service, or it selects both slots). */
  stableSelects?: Slot | 'both';
  previewSelects?: Slot;
  annotations: { promote?: string; abort?: string; retry?: string };
  /** What the Environment's gates decide on; absent in tests that start past the gates. */
  gates?: GateFacts;
  /** A problem with the traffic target (an HTTPRoute without our backend, say). */
  trafficProblem?: string;
  /** The Release's RollbackPolicy, when it has one the cache holds. */
  analysis?: AnalysisObservation;
  /** The RollbackPolicy the Release names, when it is gone mid-rollout: nothing may advance blind. */
  policyMissing?: string;
  /**
   * Read in Baking and BackingUp: whether the contract migration would remove
   * or reshape data, and why (the lint's findings, or why it cannot be read).
   */
  contract?: { destructive: boolean; why: string };
  /** The BackupPolicy that applies (the Release's, else the Environment's), and whether the cache holds it. */
  backupPolicy?: { name: string; found: boolean };
  /** Owned objects changed by others, in the phases that keep them still (see observeDrift); absent elsewhere. */
  drift?: ObjectDrift[];
}

/** The RollbackPolicy as the plan needs it, and the evaluation this reconcile ran, if one was due. */
export interface AnalysisObservation {
  policy: string;
  failureLimit: number;
  onInconclusive: 'Pause' | 'Continue' | 'Rollback';
  /** database.onRollback is RunDownMigrations. */
  downMigrations: boolean;
  /** Ran in this reconcile; absent when none was due. */
  evaluation?: Evaluation;
  /** When this process last evaluated the Release (absent after a restart). */
  lastAt?: Date;
  /** How late this evaluation ran after its interval ended; for the metrics, not the plan. */
  latenessMs?: number;
  /** When the next evaluation is due, from now. */
  nextInMs: number;
  /** No trigger applies in this phase (only relative ones, after promotion): nothing to wait for. */
  idle?: boolean;
  /** Neither the policy nor the operator (--prometheus-address) names a Prometheus: nothing can be judged. */
  addressMissing?: boolean;
}

export type Action =
  | TrafficAction
  | { type: 'ApplySlot'; slot: Slot; replicas: number }
  /** `run`: what the built-in runner records its versions under (see runOf). */
  | { type: 'CreateJob'; kind: MigrationPhase | 'down'; name: string; run: string }
  | { type: 'CreateJob'; kind: 'verify'; name: string; slot: Slot }
  /** A full backup with the BackupPolicy `policy`'s storage and database Secret. */
  | { type: 'CreateJob'; kind: 'backup'; name: string; policy: string }
  | { type: 'DeleteJob'; name: string }
  /** Fields only others set (not ours to re-apply), removed by a JSON patch guarded by `resourceVersion`. */
  | {
      type: 'RemoveFields';
      kind: 'Deployment' | 'Service';
      name: string;
      resourceVersion: string;
      pointers: string[];
    }
  | { type: 'ClearAnnotation'; key: ControlAnnotation }
  /** `details`: structured facts for the audit trail and notifications (never secrets). */
  | { type: 'Event'; kind: 'Normal' | 'Warning'; reason: string; message: string; details?: EventDetails };

export type EventDetails = Readonly<Record<string, string | number | boolean>>;

export interface Plan {
  status: ReleaseStatus;
  actions: Action[];
  /** Come back after this long even if nothing changes (a step timer, a deadline). */
  requeueAfterMs?: number;
  /** A decision needs an evaluation taken now (a step is over): run one on the next reconcile. */
  evaluateNow?: boolean;
  /** Write the status before acting: a rollback decision must survive a crash between the two. */
  commitFirst?: boolean;
  /** Kinds of the objects found drifted anew in this call (one per object), for cutover_drift_total. */
  drifted?: DriftKind[];
}

export interface RollbackRequest {
  cause: RollbackCause;
  /** Why, in words; lands in status.rollback.reason and the Event. */
  reason: string;
  trigger?: string;
  value?: string;
  threshold?: string;
}
