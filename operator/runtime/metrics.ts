// The operator's own metrics, on a registry of its own (never prom-client's
// global one) so tests and several managers in one process do not collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: 'cutover_reconcile_total',
    help: 'Reconciles by kind and result (success, error, skipped).',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'cutover_reconcile_errors_total',
    help: 'Reconciles that failed and were requeued with backoff.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'cutover_reconcile_duration_seconds',
    help: 'Time spent in one reconcile, by kind.',
    labelNames: ['kind'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'cutover_workqueue_depth',
    help: 'Keys waiting in the work queue, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly prometheusQueries = new Histogram({
    name: 'cutover_analysis_query_duration_seconds',
    help: 'Prometheus queries of RollbackPolicy analysis, by outcome (success, timeout, unreachable, server-error, rejected, invalid-response); each attempt counts.',
    labelNames: ['outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly leader = new Gauge({
    name: 'cutover_leader',
    help: '1 while this replica holds the leader lease.',
    registers: [this.registry],
  });
  readonly informerRestarts = new Counter({
    name: 'cutover_informer_restarts_total',
    help: 'Watches restarted after an error, by resource.',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });
  readonly apiWrites = new Counter({
    name: 'cutover_api_writes_total',
    help: 'Write requests sent to the API server (create, update, patch, delete), by verb and resource.',
    labelNames: ['verb', 'resource'] as const,
    registers: [this.registry],
  });

  readonly configReads = new Counter({
    name: 'cutover_config_reads_total',
    help: "Reads of an Environment's ConfigMap or Secret data (only when its resourceVersion moved), by kind.",
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly notifications = new Counter({
    name: 'cutover_notifications_total',
    help: 'Webhook notification attempts by body format and result: delivered, failed (retried later), rejected (a 4xx, not retried), expired (undelivered for an hour), dropped (queue full, target removed, operator stopping or no longer leading).',
    labelNames: ['format', 'result'] as const,
    registers: [this.registry],
  });
  readonly notificationQueue = new Gauge({
    name: 'cutover_notification_queue',
    help: 'Webhook notifications waiting to be sent (or retried), by body format.',
    labelNames: ['format'] as const,
    registers: [this.registry],
  });
  readonly notificationTargetsFailing = new Gauge({
    name: 'cutover_notification_targets_failing',
    help: 'Webhook targets whose last attempt failed and that still have notifications waiting (0 on a replica that does not lead).',
    registers: [this.registry],
  });
  // The audit trail (operator/audit): records by sink, and what keeps them from PostgreSQL.
  readonly auditRecords = new Counter({
    name: 'cutover_audit_records_total',
    help: 'Audit records written, by sink (stdout, postgres).',
    labelNames: ['sink'] as const,
    registers: [this.registry],
  });
  readonly auditWriteFailures = new Counter({
    name: 'cutover_audit_write_failures_total',
    help: 'Failed attempts to write audit records to PostgreSQL or to prepare their table; each is retried with backoff.',
    registers: [this.registry],
  });
  readonly auditBuffered = new Gauge({
    name: 'cutover_audit_buffered',
    help: 'Audit records waiting in memory for PostgreSQL.',
    registers: [this.registry],
  });
  readonly auditDropped = new Counter({
    name: 'cutover_audit_dropped_total',
    help: 'Audit records dropped from the full buffer before PostgreSQL had them (they are in the stdout log only).',
    registers: [this.registry],
  });

  constructor({ processMetrics = true } = {}) {
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Total writes so far, for tests and benchmarks that count them. */
  async writeCount(): Promise<number> {
    const m = await this.apiWrites.get();
    return m.values.reduce((sum, v) => sum + v.value, 0);
  }
}
