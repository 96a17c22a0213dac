// What a BackupPolicy owns, as plain objects for server-side apply: a CronJob
// per scheduled kind, the WAL Deployment, and the pod template they share,
// which on-demand backups (a Release's, `kubectl cutover backup now`) reuse.
// Pure. The database URL and the storage keys reach the pods only through
// secretKeyRef: never in args, never in these objects.
import type {
  V1Container,
  V1CronJob,
  V1Deployment,
  V1EnvVar,
  V1Job,
  V1PodTemplateSpec,
  V1Volume,
} from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import type { BackupPolicy, S3Location } from '../api/generated/index.js';
import { ownerReference } from '../runtime/apply.js';
import { MANAGED_BY } from '../release/names.js';
import { JOB_LABEL, restrictedContainer, restrictedPod } from '../release/objects.js';

/** On every object a policy owns and on the Jobs and pods made from them. */
export const POLICY_LABEL = 'cutover.dev/backup-policy';

export type ScheduledKind = 'full' | 'dump' | 'prune' | 'verify';
export type BackupJobKind = ScheduledKind | 'wal';

const MOUNT = '/backups';
const SCRATCH = '/scratch';
/** Where the container's report goes: the kubelet turns it into the termination message. */
const REPORT_PATH = '/dev/termination-log';
/** Prune runs hourly, at a minute spread by the policy's name so a cluster's prunes do not all start together. */
const PRUNE_HOURLY = (seed: string) => `${parseInt(hash(seed).slice(0, 4), 16) % 60} * * * *`;
/** A missed start older than this is skipped, not run late: the next one is due soon enough. */
const STARTING_DEADLINE_SECONDS = 600;
const JOB_DEADLINE_SECONDS: Record<ScheduledKind, number> = {
  full: 6 * 3600,
  dump: 6 * 3600,
  prune: 3600,
  verify: 6 * 3600,
};

export const cronJobName = (policy: string, kind: ScheduledKind): string => `${policy}-${kind}`;
export const walDeploymentName = (policy: string): string => `${policy}-wal`;

/** Longest policy name whose owned names fit: CronJob names are at most 52 characters. */
export const MAX_POLICY_NAME = 52 - '-verify'.length;

function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** A replication slot name per policy: [a-z0-9_], at most 63, unique per namespace and name. */
export function replicationSlot(bkp: BackupPolicy): string {
  const ns = bkp.metadata?.namespace ?? '';
  const name = bkp.metadata?.name ?? '';
  const readable = `${ns}_${name}`.replace(/[^a-z0-9]/g, '_').slice(0, 40);
  return `cutover_${readable}_${hash(`${ns}/${name}`).slice(0, 8)}`;
}

/** The URI the commands get: file:///backups on the mounted claim, or s3://bucket/prefix. */
export function storageUri(bkp: BackupPolicy): string {
  const s3 = bkp.spec.storage.s3;
  if (s3) return s3Uri(s3);
  return `file://${MOUNT}`;
}

export function s3Uri(s3: S3Location): string {
  return `s3://${s3.bucket}${s3.prefix ? `/${s3.prefix}` : ''}`;
}

export function replicaUris(bkp: BackupPolicy): string[] {
  return (bkp.spec.storage.replicas ?? []).map(s3Uri);
}

function s3Env(s3: S3Location, prefix = ''): V1EnvVar[] {
  const env: V1EnvVar[] = [
    { name: `${prefix}AWS_REGION`, value: s3.region ?? 'us-east-1' },
    {
      name: `${prefix}AWS_ACCESS_KEY_ID`,
      valueFrom: { secretKeyRef: { name: s3.secretRef.name, key: 'AWS_ACCESS_KEY_ID' } },
    },
    {
      name: `${prefix}AWS_SECRET_ACCESS_KEY`,
      valueFrom: { secretKeyRef: { name: s3.secretRef.name, key: 'AWS_SECRET_ACCESS_KEY' } },
    },
  ];
  if (s3.endpoint) env.unshift({ name: `${prefix}AWS_ENDPOINT_URL`, value: s3.endpoint });
  return env;
}

/** Environment every backup container gets: the database and the storage, each through its Secret. */
function env(bkp: BackupPolicy): V1EnvVar[] {
  const { databaseSecretRef, storage } = bkp.spec;
  return [
    {
      name: 'DATABASE_URL',
      valueFrom: { secretKeyRef: { name: databaseSecretRef.name, key: databaseSecretRef.key } },
    },
    { name: 'CUTOVER_REPORT', value: REPORT_PATH },
    ...(storage.s3 ? s3Env(storage.s3) : []),
    ...(storage.replicas ?? []).flatMap((r, i) => s3Env(r, replicaEnvPrefix(i))),
  ];
}

/** The variables of replica i (0-based) carry this prefix: the cutover commands read them so. */
export const replicaEnvPrefix = (i: number): string => `CUTOVER_REPLICA_${i + 1}_`;

function volumes(bkp: BackupPolicy): V1Volume[] {
  const claim = bkp.spec.storage.pvc?.claimName;
  return [
    // Every command writes its scratch files here: the root filesystem is read-only.
    { name: 'scratch', emptyDir: {} },
    ...(claim ? [{ name: 'backups', persistentVolumeClaim: { claimName: claim } }] : []),
  ];
}

function container(bkp: BackupPolicy, image: string, name: string, args: string[]): V1Container {
  return {
    name,
    image,
    command: ['cutover'],
    args,
    env: [...env(bkp), { name: 'TMPDIR', value: SCRATCH }],
    volumeMounts: [
      { name: 'scratch', mountPath: SCRATCH },
      ...(bkp.spec.storage.pvc ? [{ name: 'backups', mountPath: MOUNT }] : []),
    ],
    securityContext: restrictedContainer,
    terminationMessagePath: REPORT_PATH,
    terminationMessagePolicy: 'FallbackToLogsOnError',
    resources: { requests: { cpu: '100m', memory: '128Mi' } },
  };
}

/** What each kind runs; the URL and keys come from the environment. */
export function commandOf(bkp: BackupPolicy, kind: BackupJobKind): string[] {
  const uri = storageUri(bkp);
  const retention = bkp.spec.retention ?? {};
  switch (kind) {
    case 'full':
      return ['backup', 'full', '--to', uri];
    case 'dump':
      return ['backup', 'dump', '--to', uri];
    case 'prune':
      return [
        'backup',
        'prune',
        '--from',
        uri,
        '--full',
        retention.full ?? '30d',
        '--wal',
        retention.incremental ?? '7d',
        '--keep-at-least',
        String(retention.keepAtLeast ?? 3),
        '--apply',
      ];
    case 'verify':
      return ['verify', '--from', uri];
    case 'wal':
      return [
        'backup',
        'wal',
        '--to',
        uri,
        '--slot',
        replicationSlot(bkp),
        '--interval',
        bkp.spec.incremental?.interval ?? '5s',
        '--dir',
        `${SCRATCH}/wal`,
      ];
  }
}

export function labels(bkp: BackupPolicy, kind: BackupJobKind): Record<string, string> {
  return { ...MANAGED_BY, [POLICY_LABEL]: bkp.metadata?.name ?? '', [JOB_LABEL]: `backup-${kind}` };
}

function meta(bkp: BackupPolicy, name: string, kind: BackupJobKind) {
  return {
    name,
    namespace: bkp.metadata?.namespace,
    labels: labels(bkp, kind),
    ownerReferences: [ownerReference(bkp)],
  };
}

/** The pod of one backup Job, scheduled or on demand. */
export function backupPodTemplate(bkp: BackupPolicy, kind: ScheduledKind, image: string): V1PodTemplateSpec {
  return {
    metadata: { labels: labels(bkp, kind) },
    spec: {
      restartPolicy: 'Never',
      securityContext: restrictedPod,
      containers: [container(bkp, image, kind, commandOf(bkp, kind))],
      volumes: volumes(bkp),
    },
  };
}

function jobSpec(bkp: BackupPolicy, kind: ScheduledKind, image: string): NonNullable<V1Job['spec']> {
  return {
    // A failed backup is reported and retried by the next schedule, not by a loop that hides it.
    backoffLimit: 0,
    activeDeadlineSeconds: JOB_DEADLINE_SECONDS[kind],
    ttlSecondsAfterFinished: 7 * 24 * 3600,
    template: backupPodTemplate(bkp, kind, image),
  };
}

/** The CronJobs a policy wants, by kind; kinds it does not configure are absent. */
export function backupCronJobs(bkp: BackupPolicy, image: string): Partial<Record<ScheduledKind, V1CronJob>> {
  const name = bkp.metadata?.name ?? '';
  const schedules: Partial<Record<ScheduledKind, string>> = {
    full: bkp.spec.full.schedule,
    prune: PRUNE_HOURLY(`${bkp.metadata?.namespace ?? ''}/${name}`),
    ...(bkp.spec.logical ? { dump: bkp.spec.logical.schedule } : {}),
    ...(bkp.spec.verify ? { verify: bkp.spec.verify.schedule } : {}),
  };
  const out: Partial<Record<ScheduledKind, V1CronJob>> = {};
  for (const [kind, schedule] of Object.entries(schedules) as Array<[ScheduledKind, string]>) {
    out[kind] = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: meta(bkp, cronJobName(name, kind), kind),
      spec: {
        schedule,
        ...(bkp.spec.timeZone ? { timeZone: bkp.spec.timeZone } : {}),
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: STARTING_DEADLINE_SECONDS,
        suspend: bkp.spec.suspend ?? false,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: { metadata: { labels: labels(bkp, kind) }, spec: jobSpec(bkp, kind, image) },
      },
    };
  }
  return out;
}

/** A one-off Job of a scheduled kind; `owner` is whoever asked (the policy, or a Release). */
export function backupJob(
  bkp: BackupPolicy,
  kind: ScheduledKind,
  name: string,
  image: string,
  extraLabels: Record<string, string> = {},
): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { ...meta(bkp, name, kind), labels: { ...labels(bkp, kind), ...extraLabels } },
    spec: jobSpec(bkp, kind, image),
  };
}

/**
 * One receiver per slot, ever: Recreate, so an update stops the old pod
 * before the new one streams (two receivers on one slot fight over it).
 */
export function walDeployment(bkp: BackupPolicy, image: string): V1Deployment | undefined {
  if (!bkp.spec.incremental) return undefined;
  const name = bkp.metadata?.name ?? '';
  const selector = { [POLICY_LABEL]: name, [JOB_LABEL]: 'backup-wal' };
  const replicas = replicaUris(bkp);
  const containers = [container(bkp, image, 'wal', commandOf(bkp, 'wal'))];
  if (replicas.length > 0) {
    containers.push(
      container(bkp, image, 'replicate', [
        'backup',
        'replicate',
        '--from',
        storageUri(bkp),
        ...replicas.flatMap((r) => ['--to', r]),
        '--follow',
        '--interval',
        bkp.spec.incremental?.interval ?? '5s',
      ]),
    );
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(bkp, walDeploymentName(name), 'wal'),
    spec: {
      replicas: bkp.spec.suspend ? 0 : 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: labels(bkp, 'wal') },
        spec: {
          securityContext: restrictedPod,
          // The receiver ships its open segment on SIGTERM; give it the time.
          terminationGracePeriodSeconds: 60,
          containers,
          volumes: volumes(bkp),
        },
      },
    },
  };
}

/**
 * Name of a Job started by hand or by a Release: the CronJob's name and the
 * millisecond it started, in base36 (8 characters until 2059). Seconds let
 * two `backup now` in one second collide. The longest, a restore of a
 * MAX_POLICY_NAME policy, is 45 + 10 + 8 = 63: a Job name still fits the
 * job-name label.
 */
export function manualJobName(policy: string, kind: ScheduledKind | 'restore', at: Date): string {
  return `${policy}-${kind}-m${at.getTime().toString(36)}`;
}

/**
 * A Job from a CronJob's template, as `kubectl create job --from=cronjob/…`
 * makes one: the same pod, owned by the policy, marked as started by hand.
 */
export function jobFromCronJob(cron: V1CronJob, name: string): V1Job {
  const tpl = cron.spec?.jobTemplate;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: cron.metadata?.namespace,
      labels: { ...tpl?.metadata?.labels },
      annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' },
      ownerReferences: cron.metadata?.ownerReferences,
    },
    spec: tpl?.spec,
  };
}

/** What a restore Job (`kubectl cutover restore`) asks the restore Job to do. */
export interface RestoreRequest {
  target: { pgdata: { claim: string; path: string } } | { secret: { name: string; key: string } };
  point: { toTime: string } | { toLsn: string } | { latest: true };
  inPlace: boolean;
}

const RESTORE_MOUNT = '/restore';
/** A restore of a large database with days of WAL to replay outlasts the full's 6 h. */
const RESTORE_DEADLINE_SECONDS = 24 * 3600;

/**
 * A restore Job from the full CronJob's pod (its image, storage and Secrets):
 * point in time into a new data directory on a claim, or the newest dump into
 * a database whose URL a Secret holds. The target URL reaches the command
 * through the environment only (--target-url-env: never in argv, where
 * `ps` and the pod spec would show it). Owned by nothing: deleting or
 * recreating the policy must not kill a running restore; the TTL still
 * removes it once finished.
 */
export function restoreJob(cron: V1CronJob, name: string, req: RestoreRequest): V1Job {
  const job = jobFromCronJob(cron, name);
  const pod = job.spec?.template.spec;
  const c = pod?.containers[0];
  if (!job.spec || !pod || !c) throw new Error(`CronJob ${cron.metadata?.name ?? ''} has no container`);
  const args = c.args ?? [];
  const uri = args[args.indexOf('--to') + 1] ?? '';
  const restoreArgs = ['restore', '--from', uri];
  const env = [...(c.env ?? [])];
  const mounts = [...(c.volumeMounts ?? [])];
  const volumes = [...(pod.volumes ?? [])];
  if ('pgdata' in req.target) {
    if ('toTime' in req.point) restoreArgs.push('--to-time', req.point.toTime);
    else if ('toLsn' in req.point) restoreArgs.push('--to-lsn', req.point.toLsn);
    else restoreArgs.push('--latest');
    restoreArgs.push('--pgdata', `${RESTORE_MOUNT}/${req.target.pgdata.path}`);
    volumes.push({ name: 'restore', persistentVolumeClaim: { claimName: req.target.pgdata.claim } });
    mounts.push({ name: 'restore', mountPath: RESTORE_MOUNT });
  } else {
    env.push({ name: 'TARGET_URL', valueFrom: { secretKeyRef: req.target.secret } });
    restoreArgs.push('--target-url-env', 'TARGET_URL');
    if (req.inPlace) restoreArgs.push('--in-place');
  }
  const labels = { ...job.metadata?.labels, [JOB_LABEL]: 'backup-restore' };
  return {
    ...job,
    metadata: { ...job.metadata, labels, ownerReferences: undefined },
    spec: {
      ...job.spec,
      activeDeadlineSeconds: RESTORE_DEADLINE_SECONDS,
      template: {
        ...job.spec.template,
        metadata: { ...job.spec.template.metadata, labels },
        spec: { ...pod, volumes, containers: [{ ...c, args: restoreArgs, env, volumeMounts: mounts }] },
      },
    },
  };
}
