// Backup metrics, set from each policy's status so they say what status says.
import { Gauge, type Registry } from 'prom-client';
import type { BackupPolicy, BackupPolicyStatus } from '../api/generated/index.js';
import type { JobRun } from './plan.js';

export class BackupMetrics {
  readonly lastSuccess: Gauge<'namespace' | 'policy' | 'kind'>;
  readonly duration: Gauge<'namespace' | 'policy' | 'kind'>;
  readonly bytes: Gauge<'namespace' | 'policy' | 'kind'>;
  readonly walLag: Gauge<'namespace' | 'policy'>;
  readonly replicationLag: Gauge<'namespace' | 'policy' | 'replica'>;
  readonly condition: Gauge<'namespace' | 'policy' | 'type' | 'status' | 'reason'>;
  /** Per policy and condition type, the labels of the one series it has, to remove it when they change. */
  private readonly conditions = new Map<string, Map<string, { status: string; reason: string }>>();

  constructor(registry: Registry) {
    const labelNames = ['namespace', 'policy', 'kind'] as const;
    this.lastSuccess = new Gauge({
      name: 'cutover_backup_last_success_timestamp_seconds',
      help: 'When the last successful backup of a kind (full, dump, verify, prune) finished: alert when it is too old.',
      labelNames,
      registers: [registry],
    });
    this.duration = new Gauge({
      name: 'cutover_backup_duration_seconds',
      help: 'How long the last successful run of a kind took.',
      labelNames,
      registers: [registry],
    });
    this.bytes = new Gauge({
      name: 'cutover_backup_bytes',
      help: 'Size in storage of the last successful backup of a kind.',
      labelNames,
      registers: [registry],
    });
    this.walLag = new Gauge({
      name: 'cutover_backup_wal_lag_seconds',
      help: 'Seconds since WAL was last shipped to storage: the commits a lost database would take with it.',
      labelNames: ['namespace', 'policy'],
      registers: [registry],
    });
    this.replicationLag = new Gauge({
      name: 'cutover_backup_replication_lag_seconds',
      help: 'Age of the oldest sealed object not yet copied to a replica bucket.',
      labelNames: ['namespace', 'policy', 'replica'],
      registers: [registry],
    });
    this.condition = new Gauge({
      name: 'cutover_backup_condition',
      help: "1 for each condition of a BackupPolicy's status, with its status and reason (e.g. type LastBackupSucceeded, status False, reason BackupFailed).",
      labelNames: ['namespace', 'policy', 'type', 'status', 'reason'],
      registers: [registry],
    });
  }

  /**
   * `live`: what this reconcile read from storage; a value it could not read
   * removes its series, so a lag alert does not hold a stale good value
   * through exactly the outage it should catch.
   */
  observe(
    bkp: BackupPolicy,
    status: BackupPolicyStatus,
    jobs: readonly JobRun[],
    live: { walLagSeconds?: number; replicas?: ReadonlyArray<{ location: string; lagSeconds?: number }> },
  ): void {
    const namespace = bkp.metadata?.namespace ?? '';
    const policy = bkp.metadata?.name ?? '';
    const newest = new Map<string, JobRun>();
    for (const j of jobs) {
      if (j.state !== 'Succeeded') continue;
      const seen = newest.get(j.kind);
      if (!seen || Date.parse(j.finishedAt ?? '') > Date.parse(seen.finishedAt ?? '')) newest.set(j.kind, j);
    }
    for (const [kind, j] of newest) {
      const labels = { namespace, policy, kind };
      const end = Date.parse(j.report?.finishedAt ?? j.finishedAt ?? '');
      const start = Date.parse(j.report?.startedAt ?? j.startedAt ?? '');
      if (Number.isFinite(end)) this.lastSuccess.set(labels, end / 1000);
      if (Number.isFinite(end) && Number.isFinite(start)) this.duration.set(labels, (end - start) / 1000);
      if (j.report?.size !== undefined) this.bytes.set(labels, j.report.size);
    }
    // A full seen only in storage (its Job gone) still counts.
    const lastFull = Date.parse(status.lastFull ?? '');
    if (!newest.has('full') && Number.isFinite(lastFull))
      this.lastSuccess.set({ namespace, policy, kind: 'full' }, lastFull / 1000);
    if (live.walLagSeconds !== undefined) this.walLag.set({ namespace, policy }, live.walLagSeconds);
    else this.walLag.remove({ namespace, policy });
    for (const r of live.replicas ?? []) {
      const labels = { namespace, policy, replica: r.location };
      if (r.lagSeconds !== undefined) this.replicationLag.set(labels, r.lagSeconds);
      else this.replicationLag.remove(labels);
    }
    this.observeConditions(namespace, policy, status.conditions ?? []);
  }

  private observeConditions(
    namespace: string,
    policy: string,
    conditions: ReadonlyArray<{ type: string; status: string; reason?: string }>,
  ): void {
    const key = `${namespace}/${policy}`;
    const before = this.conditions.get(key) ?? new Map<string, { status: string; reason: string }>();
    const after = new Map(conditions.map((c) => [c.type, { status: c.status, reason: c.reason ?? '' }]));
    for (const [type, was] of before) {
      const now = after.get(type);
      if (now?.status !== was.status || now.reason !== was.reason)
        this.condition.remove({ namespace, policy, type, ...was });
    }
    for (const [type, now] of after) this.condition.set({ namespace, policy, type, ...now }, 1);
    this.conditions.set(key, after);
  }

  /** A deleted policy's series go with it. */
  forget(namespace: string, policy: string): void {
    for (const g of [this.lastSuccess, this.duration, this.bytes])
      for (const kind of ['full', 'dump', 'prune', 'verify']) g.remove({ namespace, policy, kind });
    this.walLag.remove({ namespace, policy });
    this.observeConditions(namespace, policy, []);
    this.conditions.delete(`${namespace}/${policy}`);
  }
}
