// BackupPolicy status as a pure function of the spec and what was observed:
// the Jobs its CronJobs (and Releases) ran, with the reports their commands
// left, the WAL Deployment, and what the storage itself holds. The storage is
// the source of truth for what exists; Jobs say what happened and why.
import type {
  BackupPolicy,
  BackupPolicyStatus,
  BackupRecord,
  BackupReplicaStatus,
} from '../api/generated/index.js';
import { removeCondition, setCondition, setHealth, type Health } from '../runtime/conditions.js';
import { parseDuration } from '../runtime/duration.js';
import { firstBrokenRef, type RefCheck } from '../runtime/refs.js';
import { compareIds } from './manifest.js';
import { MAX_POLICY_NAME, type ScheduledKind } from './objects.js';
import type { Report } from './report.js';

export const LAST_BACKUP_SUCCEEDED = 'LastBackupSucceeded';
export const WAL_STREAMING = 'WalStreaming';
export const VERIFIED = 'Verified';
export const REPLICATED = 'Replicated';

const RECORDS = 20;
/** WAL or a replica may trail by this many intervals (and at least a minute) before it counts as behind. */
const BEHIND_INTERVALS = 3;
const BEHIND_FLOOR_S = 60;
const REFRESH_MIN_MS = 10_000;
const REFRESH_MAX_MS = 60_000;

/** One Job of the policy's (scheduled, or on demand), as the plan needs it. */
export interface JobRun {
  name: string;
  kind: ScheduledKind;
  state: 'Running' | 'Succeeded' | 'Failed';
  startedAt?: string;
  finishedAt?: string;
  /** What the command reported in its termination message, once it ended. */
  report?: Report;
  /** Why it failed when the command left no report (a deadline, an image that would not start). */
  message?: string;
}

/** What the storage holds, read by the operator (S3 only: a PVC is not the operator's to mount). */
export interface StorageView {
  fulls: Array<{ id: string; startedAt: string; finishedAt: string; size: number; endLsn: string }>;
  firstRecoverabilityPoint?: string;
  lastRecoverabilityPoint?: string;
  /** When WAL was last shipped. */
  walShippedAt?: string;
  /** Why the WAL chain cannot restore past a point. */
  broken?: string;
}

export interface ReplicaView {
  location: string;
  lagSeconds?: number;
  /** When the oldest object it lacks was sealed. */
  behindSince?: string;
  error?: string;
}

export interface BackupPolicyObservation {
  /** Keys present in the database Secret; undefined when the Secret is missing. */
  secretKeys: readonly string[] | undefined;
  /** Whether the PVC exists; undefined when storage is not a PVC. */
  claimFound: boolean | undefined;
  /** Keys in the storage credentials Secret, by Secret name; undefined entries are missing Secrets. */
  s3Secrets?: Record<string, readonly string[] | undefined>;
  jobs: readonly JobRun[];
  /** The WAL Deployment's available pods; undefined when it does not exist (yet). */
  walAvailable?: number;
  storage?: StorageView | { error: string };
  replicas?: readonly ReplicaView[];
  /** The replication slot the WAL receiver uses, for messages. */
  slot?: string;
  /** An object the policy would own exists under someone else. */
  nameTaken?: string;
  /** The slot after the receiver stopped for good: dropped, already gone, still held, or why it could not be dropped. */
  slotState?: 'dropped' | 'absent' | 'active' | { error: string };
}

/**
 * Whether the operator should make sure the policy's replication slot is
 * gone: the receiver is not wanted (suspended, or WAL no longer configured)
 * but it ran, and the slot has not been seen dropped since.
 */
export function slotToDrop(bkp: BackupPolicy): boolean {
  const wanted = bkp.spec.incremental !== undefined && !bkp.spec.suspend;
  const wal = bkp.status?.conditions?.find((c) => c.type === WAL_STREAMING);
  return !wanted && wal !== undefined && wal.reason !== 'Suspended';
}

export function referenceChecks(bkp: BackupPolicy, obs: BackupPolicyObservation): RefCheck[] {
  const namespace = bkp.metadata?.namespace ?? '';
  const { name, key } = bkp.spec.databaseSecretRef;
  const checks: RefCheck[] = [
    {
      kind: 'Secret',
      name,
      namespace,
      found: obs.secretKeys !== undefined,
      problem: obs.secretKeys && !obs.secretKeys.includes(key) ? `has no key "${key}"` : undefined,
    },
  ];
  const claim = bkp.spec.storage?.pvc?.claimName;
  if (claim)
    checks.push({ kind: 'PersistentVolumeClaim', name: claim, namespace, found: obs.claimFound === true });
  for (const [secret, keys] of Object.entries(obs.s3Secrets ?? {})) {
    const missing = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'].find((k) => !keys?.includes(k));
    checks.push({
      kind: 'Secret',
      name: secret,
      namespace,
      found: keys !== undefined,
      problem: keys && missing ? `has no key "${missing}"` : undefined,
    });
  }
  return checks;
}

/** The policy's own objects can be applied: a valid name and every Secret and claim in place. */
export function runnable(bkp: BackupPolicy, obs: BackupPolicyObservation): boolean {
  return (bkp.metadata?.name ?? '').length <= MAX_POLICY_NAME && !firstBrokenRef(referenceChecks(bkp, obs));
}

function health(bkp: BackupPolicy, obs: BackupPolicyObservation): Health {
  const name = bkp.metadata?.name ?? '';
  if (name.length > MAX_POLICY_NAME)
    return {
      state: 'Stalled',
      reason: 'NameTooLong',
      message: `the name is ${name.length} characters; at most ${MAX_POLICY_NAME} leave room for the CronJob names <name>-full, -prune, -verify and -dump`,
    };
  const broken = firstBrokenRef(referenceChecks(bkp, obs));
  if (broken) return broken;
  if (obs.nameTaken) return { state: 'Stalled', reason: 'NameTaken', message: obs.nameTaken };
  if (obs.storage && 'error' in obs.storage)
    return { state: 'Stalled', reason: 'StorageUnreadable', message: obs.storage.error };
  return {
    state: 'Ready',
    reason: 'Scheduled',
    message: bkp.spec.suspend
      ? 'suspended: no scheduled backup runs and the WAL Deployment is scaled to zero'
      : 'CronJobs and the WAL Deployment in place',
  };
}

const later = (a: string | undefined, b: string | undefined): string | undefined =>
  a === undefined ? b : b === undefined ? a : Date.parse(a) >= Date.parse(b) ? a : b;

function finished(jobs: readonly JobRun[], kinds: readonly ScheduledKind[]): JobRun | undefined {
  return jobs
    .filter((j) => kinds.includes(j.kind) && j.state !== 'Running')
    .sort((a, b) => Date.parse(b.finishedAt ?? '') - Date.parse(a.finishedAt ?? ''))[0];
}

const why = (j: JobRun): string => j.report?.error ?? j.message ?? 'the Job failed without a report';

/** "1.2Gi"-style sizes for status. */
export function sizeQuantity(bytes: number): string {
  const units = ['', 'Ki', 'Mi', 'Gi', 'Ti'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? String(bytes) : `${Number(v.toFixed(1))}${units[i] ?? ''}`;
}

function record(j: JobRun): BackupRecord | undefined {
  if (j.kind !== 'full' && j.kind !== 'dump') return undefined;
  const r = j.report;
  return {
    id: r?.id ?? j.name,
    kind: j.kind === 'full' ? 'Full' : 'Dump',
    phase: j.state,
    job: j.name,
    startedAt: r?.startedAt ?? j.startedAt,
    finishedAt: r?.finishedAt ?? j.finishedAt,
    ...(r?.size !== undefined ? { size: sizeQuantity(r.size) } : {}),
    ...(r?.endLsn ? { lsn: r.endLsn } : {}),
    ...(j.state === 'Failed' ? { message: why(j).slice(0, 1024) } : {}),
  };
}

/** Jobs (newest word on what ran) over the storage (what exists) over what status held before. */
function records(
  prev: readonly BackupRecord[],
  jobs: readonly JobRun[],
  storage?: StorageView,
): BackupRecord[] {
  const byKey = new Map<string, BackupRecord>();
  const key = (r: BackupRecord) => r.job ?? `${r.kind ?? ''}/${r.id}`;
  for (const r of prev) byKey.set(key(r), r);
  for (const f of storage?.fulls ?? []) {
    const known = [...byKey.values()].find((r) => r.id === f.id);
    const r: BackupRecord = {
      ...known,
      id: f.id,
      kind: 'Full',
      phase: 'Succeeded',
      startedAt: f.startedAt,
      finishedAt: f.finishedAt,
      size: sizeQuantity(f.size),
      lsn: f.endLsn,
    };
    byKey.set(known ? key(known) : `Full/${f.id}`, r);
  }
  for (const j of jobs) {
    const r = record(j);
    if (!r) continue;
    // A Job's record replaces the storage's one of the same backup.
    for (const [k, v] of byKey) if (v.id === r.id && k !== j.name) byKey.delete(k);
    byKey.set(j.name, r);
  }
  // A full retention deleted is no longer one to restore: its record goes (people copy ids from here).
  const stored = storage ? new Set(storage.fulls.map((f) => f.id)) : undefined;
  const gone = (r: BackupRecord) =>
    stored !== undefined && r.kind === 'Full' && r.phase === 'Succeeded' && !stored.has(r.id);
  return [...byKey.values()]
    .filter((r) => !gone(r))
    .sort((a, b) => Date.parse(b.startedAt ?? '') - Date.parse(a.startedAt ?? '') || compareIds(b.id, a.id))
    .slice(0, RECORDS);
}

export function planBackupPolicyStatus(
  bkp: BackupPolicy,
  obs: BackupPolicyObservation,
  now: Date,
): BackupPolicyStatus {
  const prev = bkp.status ?? {};
  const generation = bkp.metadata?.generation;
  const storage = obs.storage && !('error' in obs.storage) ? obs.storage : undefined;
  const intervalS = parseDuration(bkp.spec.incremental?.interval ?? '5s') / 1000;
  const behindLimitS = Math.max(BEHIND_FLOOR_S, BEHIND_INTERVALS * intervalS);
  const set = (
    conds: BackupPolicyStatus['conditions'],
    type: string,
    status: 'True' | 'False' | 'Unknown',
    reason: string,
    message: string,
  ) => setCondition(conds, { type, status, reason, message }, generation, now);

  let conditions = setHealth(prev.conditions, health(bkp, obs), generation, now);
  // Left over from before backups ran.
  conditions = removeCondition(conditions, 'Enforced');

  const ok = (kind: ScheduledKind) =>
    obs.jobs
      .filter((j) => j.kind === kind && j.state === 'Succeeded')
      .map((j) => j.report?.finishedAt ?? j.finishedAt);
  const newest = (...xs: Array<string | undefined>) => xs.reduce<string | undefined>(later, undefined);

  // A failing full must not hide behind a dump that succeeded after it (nor the other way round).
  const newestOf = (['full', 'dump'] as const).map((k) => finished(obs.jobs, [k]));
  const failedBackup = newestOf.find((j) => j?.state === 'Failed');
  const lastBackup = failedBackup ?? finished(obs.jobs, ['full', 'dump']);
  if (lastBackup?.state === 'Succeeded') {
    const r = lastBackup.report;
    conditions = set(
      conditions,
      LAST_BACKUP_SUCCEEDED,
      'True',
      'BackupSucceeded',
      `${lastBackup.kind} backup ${r?.id ?? lastBackup.name}${r?.size !== undefined ? ` (${sizeQuantity(r.size)})` : ''} finished at ${r?.finishedAt ?? lastBackup.finishedAt ?? 'an unknown time'}`,
    );
  } else if (lastBackup?.state === 'Failed') {
    conditions = set(
      conditions,
      LAST_BACKUP_SUCCEEDED,
      'False',
      'BackupFailed',
      `${lastBackup.kind} backup Job ${lastBackup.name} failed: ${why(lastBackup)}`,
    );
  } else if (!conditions.some((c) => c.type === LAST_BACKUP_SUCCEEDED)) {
    conditions = set(
      conditions,
      LAST_BACKUP_SUCCEEDED,
      'Unknown',
      'NoBackupYet',
      `no backup has finished yet; the first full is due on the schedule "${bkp.spec.full.schedule}"`,
    );
  }

  const lastVerify = finished(obs.jobs, ['verify']);
  if (lastVerify?.state === 'Succeeded') {
    conditions = set(
      conditions,
      VERIFIED,
      'True',
      'RestoreDrillSucceeded',
      `the restore drill of Job ${lastVerify.name} restored backup ${lastVerify.report?.id ?? '(unknown)'} and found its tables`,
    );
  } else if (lastVerify?.state === 'Failed') {
    conditions = set(
      conditions,
      VERIFIED,
      'False',
      'RestoreDrillFailed',
      `Job ${lastVerify.name}: ${why(lastVerify)}`,
    );
  } else if (!bkp.spec.verify) {
    conditions = removeCondition(conditions, VERIFIED);
  }

  // Status carries no value that moves with the clock: every write would wake
  // the policy again. The WAL times advance in status at most every
  // `refreshMs`; the live lag is the metric cutover_backup_wal_lag_seconds.
  const refreshMs = Math.min(REFRESH_MAX_MS, Math.max(REFRESH_MIN_MS, 10 * intervalS * 1000));
  const refreshed = (next: string | undefined, before: string | undefined) =>
    next === undefined ||
    before === undefined ||
    Date.parse(next) - Date.parse(before) >= refreshMs ||
    Date.parse(next) < Date.parse(before)
      ? next
      : before;
  const walShippedAt = storage ? refreshed(storage.walShippedAt, prev.lastIncremental) : prev.lastIncremental;
  const behindS =
    storage?.walShippedAt === undefined
      ? undefined
      : (now.getTime() - Date.parse(storage.walShippedAt)) / 1000;
  const slotHeld =
    obs.slotState === 'active'
      ? `replication slot ${obs.slot ?? ''} is still held by a stopping receiver; it is dropped once released`
      : typeof obs.slotState === 'object'
        ? `replication slot ${obs.slot ?? ''} could not be dropped (${obs.slotState.error}); the server keeps WAL for it until it is`
        : undefined;
  const dropped = obs.slotState === 'dropped' || obs.slotState === 'absent';
  if (slotToDrop(bkp) && !dropped) {
    conditions = set(
      conditions,
      WAL_STREAMING,
      'False',
      'SlotNotDropped',
      slotHeld ?? `waiting for the WAL receiver to stop, then replication slot ${obs.slot ?? ''} is dropped`,
    );
  } else if (!bkp.spec.incremental) {
    conditions = removeCondition(conditions, WAL_STREAMING);
  } else if (bkp.spec.suspend) {
    conditions = set(
      conditions,
      WAL_STREAMING,
      'False',
      'Suspended',
      `spec.suspend is true: the WAL Deployment is scaled to zero and its replication slot dropped, so WAL shipped after a resume starts a new chain (the next full makes it restorable)`,
    );
  } else if ((obs.walAvailable ?? 0) < 1) {
    conditions = set(
      conditions,
      WAL_STREAMING,
      'False',
      'ReceiverNotRunning',
      'the WAL Deployment has no available pod',
    );
  } else if (obs.storage && 'error' in obs.storage) {
    conditions = set(conditions, WAL_STREAMING, 'Unknown', 'StorageUnreadable', obs.storage.error);
  } else if (storage?.broken) {
    conditions = set(conditions, WAL_STREAMING, 'False', 'ChainBroken', storage.broken);
  } else if (behindS !== undefined && behindS > behindLimitS) {
    conditions = set(
      conditions,
      WAL_STREAMING,
      'False',
      'Behind',
      `WAL was last shipped at ${storage?.walShippedAt ?? ''}, more than ${behindLimitS} s ago (interval ${bkp.spec.incremental.interval ?? '5s'})`,
    );
  } else if (storage && behindS === undefined) {
    conditions = set(
      conditions,
      WAL_STREAMING,
      'Unknown',
      'NoWalYet',
      'the WAL receiver is running and has shipped nothing yet',
    );
  } else {
    conditions = set(
      conditions,
      WAL_STREAMING,
      'True',
      'Streaming',
      storage
        ? `WAL ships within ${behindLimitS} s`
        : 'the WAL receiver is running (PVC storage: WAL progress is not read)',
    );
  }

  let replicas: BackupReplicaStatus[] | undefined = prev.replicas;
  if (!bkp.spec.storage.replicas?.length) {
    conditions = removeCondition(conditions, REPLICATED);
    replicas = undefined;
  } else if (obs.storage && 'error' in obs.storage) {
    conditions = set(conditions, REPLICATED, 'Unknown', 'StorageUnreadable', obs.storage.error);
  } else if (obs.replicas) {
    const behind = (r: ReplicaView) => r.error === undefined && (r.lagSeconds ?? 0) > behindLimitS;
    replicas = obs.replicas.map((r) => ({
      location: r.location,
      ...(behind(r) && r.behindSince ? { behindSince: r.behindSince } : {}),
    }));
    const bad = obs.replicas.find((r) => r.error !== undefined || behind(r));
    conditions = bad
      ? set(
          conditions,
          REPLICATED,
          'False',
          bad.error ? 'ReplicaUnreachable' : 'Behind',
          bad.error
            ? `${bad.location}: ${bad.error}`
            : `${bad.location} lacks objects sealed since ${bad.behindSince ?? 'an unknown time'} (limit ${behindLimitS} s)`,
        )
      : set(
          conditions,
          REPLICATED,
          'True',
          'InSync',
          `${obs.replicas.length} replica(s) within ${behindLimitS} s`,
        );
  }

  const reported = (kind: ScheduledKind, field: 'firstRecoverabilityPoint' | 'lastRecoverabilityPoint') =>
    finished(
      obs.jobs.filter((j) => j.state === 'Succeeded' && j.report?.[field]),
      [kind],
    )?.report?.[field];

  const status: BackupPolicyStatus = {
    ...prev,
    observedGeneration: generation,
    conditions,
    lastFull: newest(
      prev.lastFull,
      ...ok('full'),
      storage?.fulls[0]?.finishedAt,
      ...(storage?.fulls ?? []).map((f) => f.finishedAt),
    ),
    lastDump: newest(prev.lastDump, ...ok('dump')),
    lastVerified: newest(prev.lastVerified, ...ok('verify')),
    lastIncremental: walShippedAt,
    firstRecoverabilityPoint: storage
      ? storage.firstRecoverabilityPoint
      : (reported('prune', 'firstRecoverabilityPoint') ?? prev.firstRecoverabilityPoint),
    lastRecoverabilityPoint: storage
      ? refreshed(storage.lastRecoverabilityPoint, prev.lastRecoverabilityPoint)
      : (reported('verify', 'lastRecoverabilityPoint') ?? prev.lastRecoverabilityPoint),
    replicas,
    backups: records(prev.backups ?? [], obs.jobs, storage),
  };
  return status;
}
