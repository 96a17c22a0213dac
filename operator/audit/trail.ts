// The audit trail: a decision sink. Each decision is written at once as a
// JSON line on stdout and, with a database, queued for the audit table. The
// sink never blocks or throws into a reconcile: database writes run in
// timers, in batches, retried with backoff; the queue is bounded, and what
// its bound pushes out is counted, exported and logged, never lost silently
// (it is on stdout either way).
import type { Decision } from '../runtime/journal.js';
import type { Logger } from '../runtime/log.js';
import { AuditBuffer } from './buffer.js';
import { partitionsAhead, partitionsFor, partitionsToDrop } from './partitions.js';
import type { AuditStore } from './postgres.js';
import { auditLine, auditRecordOf, type AuditRecord } from './record.js';

const DAY_MS = 86_400_000;
/** How long decisions gather before a write: a reconcile's few Events go as one batch. */
const GATHER_MS = 50;
const MIN_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;
/** The retention is due once a day on the operator's clock; looked at this often. */
const MAINTENANCE_CHECK_MS = 60 * 60_000;

export interface AuditMetricsSink {
  recorded(sink: 'stdout' | 'postgres', n: number): void;
  writeFailed(): void;
  buffered(n: number): void;
  dropped(n: number): void;
}

export interface AuditTrailOptions {
  log: Logger;
  metrics: AuditMetricsSink;
  /** The operator's clock (--clock-start): partitions and retention follow it. */
  now: () => Date;
  /** Absent: stdout only. */
  store?: AuditStore;
  retentionDays: number;
  bufferSize: number;
  batchSize?: number;
  /** The leader identity, recorded as who decided. */
  identity?: string;
  /** Where the JSON lines go (stdout). */
  write?: (line: string) => void;
}

export class AuditTrail {
  private readonly buffer: AuditBuffer<AuditRecord>;
  private readonly write: (line: string) => void;
  private readonly batchSize: number;
  private timer: NodeJS.Timeout | undefined;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;
  private retryAt = 0;
  private prepared = new Set<string>();
  private schemaReady = false;
  private lastMaintenance: number | undefined;
  private stopped = false;

  constructor(private readonly o: AuditTrailOptions) {
    this.buffer = new AuditBuffer(o.bufferSize);
    this.write = o.write ?? ((line) => void process.stdout.write(line));
    this.batchSize = Math.max(1, Math.min(o.batchSize ?? 500, o.bufferSize));
  }

  /** The decision sink: synchronous, never throws. */
  readonly record = (d: Decision): void => {
    const r = auditRecordOf(d, this.o.identity);
    this.write(auditLine(r));
    this.o.metrics.recorded('stdout', 1);
    if (!this.o.store || this.stopped) return;
    const lost = this.buffer.push(r);
    if (lost > 0) this.droppedOne();
    this.o.metrics.buffered(this.buffer.size);
    this.schedule(GATHER_MS);
  };

  /** Prepares the table and runs the retention now (and daily); nothing to do without a database. */
  start(): void {
    if (!this.o.store) return;
    this.schedule(0);
    this.maintenanceTimer = setInterval(() => this.schedule(0), MAINTENANCE_CHECK_MS);
    this.maintenanceTimer.unref();
  }

  /** Writes what it can within `graceMs`, then closes; what is left is logged (it is on stdout). */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.maintenanceTimer);
    const store = this.o.store;
    if (!store) return;
    const deadline = Date.now() + graceMs;
    await this.running;
    while (this.buffer.size > 0 && Date.now() < deadline) {
      if (!(await this.cycle())) break;
    }
    if (this.buffer.size > 0)
      this.o.log.error(
        { unwritten: this.buffer.size },
        'audit records not written to PostgreSQL before shutdown; they are in the stdout log only',
      );
    await store.close();
  }

  private schedule(ms: number): void {
    if (this.stopped || this.timer || this.running) return;
    const wait = Math.max(ms, this.retryAt - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.cycle().then(() => {
        this.running = undefined;
        // Records that came while this pass ran are looked at now, not at the next decision.
        if (this.failures > 0 || this.buffer.size > 0) this.schedule(0);
      });
    }, wait);
    this.timer.unref();
  }

  /** One pass: the table's upkeep when due, then one batch. True when more work waits. Never rejects. */
  private async cycle(): Promise<boolean> {
    const store = this.o.store;
    if (!store) return false;
    try {
      const now = this.o.now();
      if (!this.schemaReady || this.maintenanceDue(now)) await this.maintain(store, now);
      const batch = this.buffer.take(this.batchSize);
      if (batch.length > 0) {
        try {
          const missing = partitionsFor(batch.map((r) => r.time)).filter((p) => !this.prepared.has(p.name));
          if (missing.length > 0) {
            await store.prepare(missing);
            for (const p of missing) this.prepared.add(p.name);
          }
          await store.insert(batch);
          this.buffer.settle(true);
        } catch (err) {
          this.buffer.settle(false);
          throw err;
        }
        this.o.metrics.recorded('postgres', batch.length);
        this.o.metrics.buffered(this.buffer.size);
      }
      if (this.failures > 0) this.o.log.info({ failures: this.failures }, 'audit records are written again');
      this.failures = 0;
      this.retryAt = 0;
      return this.buffer.size > 0;
    } catch (err) {
      this.failures += 1;
      this.o.metrics.writeFailed();
      const delay = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** (this.failures - 1));
      this.retryAt = Date.now() + delay;
      // The first failure of a streak, then at powers of two: a long outage is not a log flood.
      if (Number.isInteger(Math.log2(this.failures)))
        this.o.log.error(
          {
            err: err instanceof Error ? err.message : String(err),
            failures: this.failures,
            buffered: this.buffer.size,
            retryInMs: delay,
          },
          'audit records could not be written to PostgreSQL; retrying',
        );
      return false;
    }
  }

  private maintenanceDue(now: Date): boolean {
    return this.lastMaintenance === undefined || now.getTime() - this.lastMaintenance >= DAY_MS;
  }

  /** The table and the partitions ahead exist; months past the retention are dropped. */
  private async maintain(store: AuditStore, now: Date): Promise<void> {
    const ahead = partitionsAhead(now);
    await store.prepare(ahead);
    this.schemaReady = true;
    for (const p of ahead) this.prepared.add(p.name);
    for (const p of partitionsToDrop(await store.partitions(), now, this.o.retentionDays)) {
      await store.drop(p);
      this.prepared.delete(p.name);
      this.o.log.info(
        { partition: p.name, retentionDays: this.o.retentionDays },
        'audit partition past the retention dropped',
      );
    }
    this.lastMaintenance = now.getTime();
  }

  private droppedOne(): void {
    this.o.metrics.dropped(1);
    const n = this.buffer.dropped;
    if (Number.isInteger(Math.log2(n)))
      this.o.log.error(
        { dropped: n, bufferSize: this.o.bufferSize },
        'audit buffer full: the oldest records waiting for PostgreSQL were dropped; they are in the stdout log only',
      );
  }
}
