// BackupPolicy reconciler: observe (caches, the Secrets' key names, the
// reports of finished Jobs, the S3 storage) → apply the CronJobs and the WAL
// Deployment → plan the status (pure, plan.ts) → one status write. Secret
// values are only handed to the storage client; none reaches status, logs or
// events.
import type {
  KubernetesObject,
  V1CronJob,
  V1Deployment,
  V1Job,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Secret,
} from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import type { BackupPolicy, S3Location } from '../api/generated/index.js';
import { BACKUP_POLICIES } from '../api/kinds.js';
import { JOB_LABEL } from '../release/objects.js';
import { ownedBy, remove } from '../runtime/apply.js';
import type { KubeClient } from '../runtime/client.js';
import { parseDuration } from '../runtime/duration.js';
import { getOptional } from '../runtime/lookup.js';
import type { Clock, Controller, InformerRef, Manager } from '../runtime/manager.js';
import type { OperatorMetrics } from '../runtime/metrics.js';
import { commitStatus } from '../runtime/reconcile.js';
import { recordEvent } from '../runtime/status.js';
import { backupPolicyEvents, newestRestore, type JobOutcome } from './events.js';
import { BackupMetrics } from './metrics.js';
import {
  POLICY_LABEL,
  backupCronJobs,
  cronJobName,
  replicationSlot,
  s3Uri,
  storageUri,
  walDeployment,
  walDeploymentName,
  type ScheduledKind,
} from './objects.js';
import {
  planBackupPolicyStatus,
  runnable,
  slotToDrop,
  type BackupPolicyObservation,
  type JobRun,
} from './plan.js';
import { parseReport, type Report } from './report.js';
import { dropIdleSlot } from './slot.js';
import { scrubberFor } from '../db/migrate.js';
import { replicationLag, type RecordCache } from './replicate.js';
import { storageFor, type Storage } from './storage.js';
import { StorageReader } from './view.js';

/** Status follows WAL progress and Jobs at this pace even when nothing the operator watches changes. */
const RECHECK_MS = 30_000;
const MIN_RECHECK_MS = 5_000;
const SPEC_HASH = 'cutover.dev/spec-hash';
const SCHEDULED: readonly ScheduledKind[] = ['full', 'dump', 'prune', 'verify'];

const owned = (apiVersion: string, resource: string, kind: string): InformerRef => ({
  apiVersion,
  resource,
  kind,
  labelSelector: 'app.kubernetes.io/managed-by=cutover',
});

export interface BackupControllerOptions extends Clock {
  /** The cutover image the Jobs and the WAL Deployment run. */
  image: string;
}

export function backupPolicyController(
  m: Manager,
  metrics: OperatorMetrics,
  opts: BackupControllerOptions,
): Controller {
  const now = opts.now ?? (() => new Date());
  const policies = m.informer<BackupPolicy>(BACKUP_POLICIES);
  const refs = {
    cronJobs: owned('batch/v1', 'cronjobs', 'CronJob'),
    deployments: owned('apps/v1', 'deployments', 'Deployment'),
    jobs: owned('batch/v1', 'jobs', 'Job'),
  };
  const cronJobs = m.informer<V1CronJob & KubernetesObject>(refs.cronJobs);
  const deployments = m.informer<V1Deployment & KubernetesObject>(refs.deployments);
  const jobs = m.informer<V1Job & KubernetesObject>(refs.jobs);
  const reports = new ReportCache(m.client);
  const reader = new StorageReader();
  const recordCaches = new Map<string, Map<string, RecordCache>>();
  const bm = new BackupMetrics(metrics.registry);

  return {
    kind: 'BackupPolicy',
    primary: BACKUP_POLICIES,
    // Paced by requeueAfterMs: its own status writes must not wake it again.
    generationChangesOnly: true,
    owns: [refs.cronJobs, refs.deployments],
    // Jobs are the CronJobs' (or a Release's): mapped back by label.
    watches: [
      {
        ref: refs.jobs,
        map: (job) => {
          const policy = job.metadata?.labels?.[POLICY_LABEL];
          return policy ? [`${job.metadata?.namespace ?? ''}/${policy}`] : [];
        },
      },
    ],
    async reconcile({ namespace, name }) {
      const bkp = policies.get(name, namespace);
      if (!bkp || bkp.metadata?.deletionTimestamp) {
        recordCaches.delete(`${namespace}/${name}`);
        bm.forget(namespace, name);
        return undefined;
      }
      const secret = await getOptional<V1Secret>(
        m.client,
        'v1',
        'secrets',
        namespace,
        bkp.spec.databaseSecretRef.name,
      );
      const claim = bkp.spec.storage.pvc?.claimName;
      const s3Secrets: Record<string, readonly string[] | undefined> = {};
      for (const loc of [bkp.spec.storage.s3, ...(bkp.spec.storage.replicas ?? [])]) {
        if (!loc) continue;
        const s = await getOptional<V1Secret>(m.client, 'v1', 'secrets', namespace, loc.secretRef.name);
        s3Secrets[loc.secretRef.name] = s ? keysOf(s) : undefined;
      }
      const obs: BackupPolicyObservation = {
        secretKeys: secret ? keysOf(secret) : undefined,
        claimFound: claim
          ? (await getOptional<V1PersistentVolumeClaim>(
              m.client,
              'v1',
              'persistentvolumeclaims',
              namespace,
              claim,
            )) !== undefined
          : undefined,
        s3Secrets,
        jobs: await Promise.all(
          jobs
            .list(namespace)
            .filter((j) => j.metadata?.labels?.[POLICY_LABEL] === name)
            .flatMap((j) => {
              const kind = j.metadata?.labels?.[JOB_LABEL]?.replace(/^backup-/, '') as ScheduledKind;
              return SCHEDULED.includes(kind) ? [jobRun(j, kind, reports)] : [];
            }),
        ),
        walAvailable: deployments.get(walDeploymentName(name), namespace)?.status?.availableReplicas,
      };
      const s3 = bkp.spec.storage.s3;
      if (s3 && secret) {
        const primary = await s3Storage(m.client, namespace, s3, storageUri(bkp));
        if (primary) {
          try {
            obs.storage = await reader.read(primary, now());
          } catch (err) {
            obs.storage = { error: err instanceof Error ? err.message : String(err) };
          }
          const replicas = bkp.spec.storage.replicas ?? [];
          if (replicas.length > 0 && !('error' in obs.storage)) {
            const stores = await Promise.all(
              replicas.map((r) => s3Storage(m.client, namespace, r, s3Uri(r))),
            );
            const key = `${namespace}/${name}`;
            if (!recordCaches.has(key)) recordCaches.set(key, new Map());
            const lags = await replicationLag(
              primary,
              stores.filter((x): x is Storage => x !== undefined),
              now,
              recordCaches.get(key),
            );
            obs.replicas = replicas.map((r, i) => {
              const lag = stores[i] ? lags.shift() : undefined;
              return {
                location: `${r.endpoint ?? 'aws'}/${r.bucket}${r.prefix ? `/${r.prefix}` : ''}`,
                ...(lag?.lagSeconds !== undefined ? { lagSeconds: lag.lagSeconds } : {}),
                ...(lag?.behindSince ? { behindSince: lag.behindSince } : {}),
                ...(lag?.error || !stores[i] ? { error: lag?.error ?? 'no credentials in its Secret' } : {}),
              };
            });
          }
        }
      }
      obs.slot = replicationSlot(bkp);
      const url = secret ? secretValue(secret, bkp.spec.databaseSecretRef.key) : undefined;
      if (slotToDrop(bkp) && url && (obs.walAvailable ?? 0) === 0) {
        try {
          obs.slotState = await dropIdleSlot(url, obs.slot);
        } catch (err) {
          obs.slotState = { error: scrubberFor(url)(err instanceof Error ? err.message : String(err)) };
        }
      }
      // Nothing is scheduled for a policy whose references are broken: its Jobs could only fail.
      if (runnable(bkp, obs)) {
        obs.nameTaken = await applyOwned(
          m.client,
          bkp,
          opts.image,
          cronJobs.get.bind(cronJobs),
          deployments.get.bind(deployments),
        );
      }
      const at = now();
      const status = planBackupPolicyStatus(bkp, obs, at);
      // A restore Job gone (TTL) leaves its record as it was last seen.
      status.lastRestore = newestRestore(restoreRuns(jobs.list(namespace), name)) ?? status.lastRestore;
      // Said by the write that records them, so once each.
      if (await commitStatus(m.client, BACKUP_POLICIES, bkp, status, at))
        for (const e of backupPolicyEvents(bkp.status, status)) await recordEvent(m.client, bkp, e, at);
      const view = obs.storage && !('error' in obs.storage) ? obs.storage : undefined;
      bm.observe(bkp, status, obs.jobs, {
        ...(view?.walShippedAt
          ? { walLagSeconds: Math.max(0, (now().getTime() - Date.parse(view.walShippedAt)) / 1000) }
          : {}),
        ...(obs.replicas ? { replicas: obs.replicas } : {}),
      });
      return { requeueAfterMs: recheckMs(bkp) };
    },
  };
}

/**
 * With WAL, status follows it at twice its interval (at least 5 s): a
 * receiver that stopped shows within seconds, not half a minute. Each pass
 * that sees newer WAL writes status, so this is also the write rate.
 */
function recheckMs(bkp: BackupPolicy): number {
  const interval = bkp.spec.incremental ? parseDuration(bkp.spec.incremental.interval ?? '5s') : RECHECK_MS;
  return Math.min(RECHECK_MS, Math.max(MIN_RECHECK_MS, 2 * interval));
}

function secretValue(s: V1Secret, key: string): string | undefined {
  const raw = s.data?.[key];
  return raw === undefined ? s.stringData?.[key] : Buffer.from(raw, 'base64').toString('utf8');
}

function keysOf(s: V1Secret): string[] {
  return Object.keys({ ...s.data, ...s.stringData });
}

/** Storage client for a bucket, with the keys from its Secret; undefined when they are missing. */
async function s3Storage(
  client: KubeClient,
  namespace: string,
  loc: S3Location,
  uri: string,
): Promise<Storage | undefined> {
  const creds = await readCredentials(client, namespace, loc.secretRef.name);
  if (!creds) return undefined;
  return storageFor(uri, {
    ...(loc.endpoint ? { AWS_ENDPOINT_URL: loc.endpoint } : {}),
    AWS_REGION: loc.region ?? 'us-east-1',
    ...creds,
  });
}

async function readCredentials(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<{ AWS_ACCESS_KEY_ID: string; AWS_SECRET_ACCESS_KEY: string } | undefined> {
  const s = await getOptional<V1Secret>(client, 'v1', 'secrets', namespace, name);
  const value = (k: string) => (s?.data?.[k] ? Buffer.from(s.data[k], 'base64').toString('utf8') : undefined);
  const id = value('AWS_ACCESS_KEY_ID');
  const key = value('AWS_SECRET_ACCESS_KEY');
  return id && key ? { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: key } : undefined;
}

type Lookup<T> = (name: string, namespace: string) => T | undefined;

/**
 * Server-side apply of what the policy wants, only where the cached object
 * differs (a hash of the desired object on it): a thousand policies
 * re-checked every 30 s cost no writes. Kinds no longer configured go.
 */
async function applyOwned(
  client: KubeClient,
  bkp: BackupPolicy,
  image: string,
  cronJob: Lookup<V1CronJob>,
  deployment: Lookup<V1Deployment>,
): Promise<string | undefined> {
  const namespace = bkp.metadata?.namespace ?? '';
  const name = bkp.metadata?.name ?? '';
  const wanted = backupCronJobs(bkp, image);
  const targets: Array<{ target: Target; desired?: KubernetesObject; current?: KubernetesObject }> = [
    ...SCHEDULED.map((kind) => {
      const target = {
        apiVersion: 'batch/v1',
        resource: 'cronjobs',
        namespace,
        name: cronJobName(name, kind),
      };
      return { target, desired: wanted[kind], current: cronJob(target.name, namespace) };
    }),
  ];
  const wal = { apiVersion: 'apps/v1', resource: 'deployments', namespace, name: walDeploymentName(name) };
  targets.push({ target: wal, desired: walDeployment(bkp, image), current: deployment(wal.name, namespace) });
  for (const { target, desired, current } of targets) {
    if (!desired) {
      if (current && ownedBy(current, bkp)) await remove(client, target);
      continue;
    }
    // Our cache holds only labelled objects: one of that name it does not show may still be someone else's.
    const existing =
      current ??
      (await getOptional<KubernetesObject>(
        client,
        target.apiVersion,
        target.resource,
        namespace,
        target.name,
      ));
    if (existing && !ownedBy(existing, bkp))
      return `${target.resource} ${target.name} exists and is not owned by this BackupPolicy; rename or remove it`;
    await applyIfChanged(client, target, desired, existing);
  }
  return undefined;
}

type Target = { apiVersion: string; resource: string; namespace: string; name: string };

async function applyIfChanged(
  client: KubeClient,
  target: Target,
  desired: KubernetesObject,
  current: KubernetesObject | undefined,
): Promise<void> {
  const hash = createHash('sha256').update(JSON.stringify(desired)).digest('hex').slice(0, 16);
  if (current?.metadata?.annotations?.[SPEC_HASH] === hash) return;
  const obj = {
    ...desired,
    metadata: { ...desired.metadata, annotations: { ...desired.metadata?.annotations, [SPEC_HASH]: hash } },
  };
  await client.apply(target, obj);
}

/** Where a Job stands and when, from its status. */
function jobOutcome(job: V1Job): JobOutcome {
  const failed = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
  const complete = job.status?.conditions?.find((c) => c.type === 'Complete' && c.status === 'True');
  return {
    name: job.metadata?.name ?? '',
    state: failed ? 'Failed' : complete ? 'Succeeded' : 'Running',
    createdAt: toIso(job.metadata?.creationTimestamp),
    startedAt: toIso(job.status?.startTime),
    finishedAt: toIso(job.status?.completionTime ?? failed?.lastTransitionTime),
    ...(failed?.message ? { message: failed.message } : {}),
  };
}

function jobRun(job: V1Job, kind: ScheduledKind, reports: ReportCache): Promise<JobRun> {
  const base: JobRun = { ...jobOutcome(job), kind };
  if (base.state === 'Running') return Promise.resolve(base);
  return reports.get(job).then((report) => (report ? { ...base, report } : base));
}

/** The restore Jobs `kubectl cutover restore` started from this policy's CronJob (they keep its labels). */
function restoreRuns(all: readonly V1Job[], policy: string): JobOutcome[] {
  return all
    .filter(
      (j) =>
        j.metadata?.labels?.[POLICY_LABEL] === policy && j.metadata.labels[JOB_LABEL] === 'backup-restore',
    )
    .map(jobOutcome);
}

function toIso(t: Date | string | undefined): string | undefined {
  if (t === undefined) return undefined;
  return typeof t === 'string' ? t : t.toISOString();
}

/**
 * A finished Job's report, read once from its pod's termination message and
 * kept by Job uid: a Job does not change after it ends, so each costs one
 * pod list over the operator's life.
 */
class ReportCache {
  private readonly byUid = new Map<string, Report | null>();

  constructor(private readonly client: KubeClient) {}

  async get(job: V1Job): Promise<Report | undefined> {
    const uid = job.metadata?.uid ?? '';
    const hit = this.byUid.get(uid);
    if (hit !== undefined) return hit ?? undefined;
    const ns = job.metadata?.namespace ?? '';
    let report: Report | undefined;
    try {
      const pods = await this.client.request<{ items: V1Pod[] }>('GET', `/api/v1/namespaces/${ns}/pods`, {
        query: { labelSelector: `job-name=${job.metadata?.name ?? ''}` },
      });
      for (const p of pods.items) {
        report ??= parseReport(p.status?.containerStatuses?.[0]?.state?.terminated?.message);
      }
    } catch {
      return undefined;
    }
    this.byUid.set(uid, report ?? null);
    return report;
  }
}
