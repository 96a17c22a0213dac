// The audit trail: a decision sink. Each decision is written at once as a
// JSON line on stdout and, with a database, queued for the audit table. The
// sink never blocks or throws into a reconcile: database writes run in
// timers, in batches, retried with backoff; the queue is bounded, and what
// its bound pushes out is counted, exported and logged, never lost silently
// (it is on stdout either way).
import type { Decision } from '../runtime/journal.js';
import type { Logger } from '../runtime/log.js';
import { backoffDelay } from '../runtime/queue.js';
import { AuditBuffer } from './buffer.js';
import { partitionsAhead, partitionsFor, partitionsToDrop } from './partitions.js';
import { isMissingTable, isRefusedData, type AuditStore } from './postgres.js';
import { auditLine, auditRecordOf, type AuditRecord } from './record.js';

const DAY_MS = 86_400_000;
/** How long decisions gather before a write: a reconcile's few Events go as one batch. */
const GATHER_MS = 50;
/** Records per INSERT (the buffer never holds more than its bound anyway). */
const BATCH_SIZE = 500;
const BACKOFF = { baseMs: 1_000, maxMs: 60_000 };
/** The retention is due once a day on the operator's clock; looked at this often. */
const MAINTENANCE_CHECK_MS = 60 * 60_000;
/**
 * A failed retention is not tried again for this long (writes go on
 * meanwhile): by the next hourly check, however long the failed attempt took.
 */
const MAINTENANCE_RETRY_MS = MAINTENANCE_CHECK_MS - 10 * 60_000;
/**
 * Installations seen within this many days hold the retention of a shared
 * table at theirs: one stopped for longer no longer keeps others from dropping.
 */
const INSTALLATION_SEEN_DAYS = 30;
/** How long stop waits for the pool to close once the flush is over or out of time. */
const CLOSE_GRACE_MS = 1_000;

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
  /**
   * Who shares the table's retention (the lease namespace/name): several
   * installations may write one database, and none drops what another keeps.
   */
  installation: string;
  bufferSize: number;
  /** The leader identity, recorded as who decided. */
  identity?: string;
  /** Where the JSON lines go (stdout). */
  write?: (line: string) => void;
}

export class AuditTrail {
  private readonly buffer: AuditBuffer<AuditRecord>;
  private readonly write: (line: string) => void;
  private timer: NodeJS.Timeout | undefined;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;
  private retryAt = 0;
  /** Partitions known to exist, so the table too (none: prepare it); forgotten when a write finds one gone. */
  private prepared = new Set<string>();
  private lastMaintenance: number | undefined;
  private maintenanceRetryAt = 0;
  private stopped = false;

  constructor(private readonly o: AuditTrailOptions) {
    this.buffer = new AuditBuffer(o.bufferSize);
    this.write = o.write ?? ((line) => void process.stdout.write(line));
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

  /**
   * Writes what it can within `graceMs`, then closes; what is left is logged
   * (it is on stdout). Returns within about `graceMs` whatever the database
   * does: a write in flight may take its whole statement timeout, and the
   * pod's termination grace period has to cover the rest of the shutdown.
   */
  async stop(graceMs = 5_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.maintenanceTimer);
    const store = this.o.store;
    if (!store) return;
    const deadline = Date.now() + graceMs;
    const flush = async () => {
      await this.running;
      while (this.buffer.size > 0 && Date.now() < deadline) {
        if (!(await this.cycle())) break;
      }
    };
    const flushed = await within(flush(), graceMs);
    if (this.buffer.size > 0)
      this.o.log.error(
        { unwritten: this.buffer.size, ...(flushed ? {} : { graceMs }) },
        'audit records not written to PostgreSQL before shutdown; they are in the stdout log only',
      );
    await within(store.close(), CLOSE_GRACE_MS);
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

  /**
   * One pass: the retention when due (its failure is its own), then one
   * batch. True when more work waits. Never rejects.
   */
  private async cycle(): Promise<boolean> {
    const store = this.o.store;
    if (!store) return false;
    const now = this.o.now();
    // Not while stopping: a DROP waiting for its lock would eat the flush's time.
    if (!this.stopped && this.maintenanceDue(now)) await this.maintain(store, now);
    try {
      if (this.prepared.size === 0) await this.prepareAhead(store, now);
      const batch = this.buffer.take(BATCH_SIZE);
      if (batch.length > 0) {
        let refused: RefusedRecord[] = [];
        let written = false;
        try {
          refused = await this.insert(store, batch);
          written = true;
        } finally {
          this.buffer.settle(written);
        }
        this.o.metrics.recorded('postgres', batch.length - refused.length);
        this.o.metrics.buffered(this.buffer.size);
        this.refused(refused);
      }
      if (this.failures > 0) this.o.log.info({ failures: this.failures }, 'audit records are written again');
      this.failures = 0;
      this.retryAt = 0;
      return this.buffer.size > 0;
    } catch (err) {
      // Gone since it was prepared (a database reset or restored): prepared again on the next pass.
      if (isMissingTable(err)) this.prepared.clear();
      this.failures += 1;
      this.o.metrics.writeFailed();
      const delay = backoffDelay(this.failures, BACKOFF);
      this.retryAt = Date.now() + delay;
      // The first failure of a streak, then at powers of two: a long outage is not a log flood.
      if (Number.isInteger(Math.log2(this.failures)))
        this.o.log.error(
          {
            err: messageOf(err),
            failures: this.failures,
            buffered: this.buffer.size,
            retryInMs: delay,
          },
          'audit records could not be written to PostgreSQL; retrying',
        );
      return false;
    }
  }

  /**
   * Writes the batch; returns the records PostgreSQL refuses for what they
   * hold. One such record would fail its batch forever, so a batch refused
   * for its data goes again row by row and only the rows still refused stay
   * out. Any other failure throws: the batch stays queued.
   */
  private async insert(store: AuditStore, batch: readonly AuditRecord[]): Promise<RefusedRecord[]> {
    const missing = partitionsFor(batch.map((r) => r.time)).filter((p) => !this.prepared.has(p.name));
    if (missing.length > 0) {
      await store.prepare(missing);
      for (const p of missing) this.prepared.add(p.name);
    }
    try {
      await store.insert(batch);
      return [];
    } catch (err) {
      if (!isRefusedData(err)) throw err;
    }
    const refused: RefusedRecord[] = [];
    // Rows written before a failure are sent again with the batch: ON CONFLICT makes that harmless.
    for (const r of batch) {
      try {
        await store.insert([r]);
      } catch (err) {
        if (!isRefusedData(err)) throw err;
        refused.push({ record: r, err: messageOf(err) });
      }
    }
    return refused;
  }

  /** Refused records are lost to the table: counted as dropped and named in the log (their content is on stdout). */
  private refused(records: readonly RefusedRecord[]): void {
    if (records.length === 0) return;
    this.o.metrics.dropped(records.length);
    for (const { record: r, err } of records)
      this.o.log.error(
        { id: r.id, time: r.time, action: r.action, object: `${r.kind} ${r.namespace}/${r.name}`, err },
        'audit record refused by PostgreSQL and dropped; it is in the stdout log only',
      );
  }

  private maintenanceDue(now: Date): boolean {
    if (Date.now() < this.maintenanceRetryAt) return false;
    return this.lastMaintenance === undefined || now.getTime() - this.lastMaintenance >= DAY_MS;
  }

  private async prepareAhead(store: AuditStore, now: Date): Promise<void> {
    const ahead = partitionsAhead(now);
    await store.prepare(ahead);
    for (const p of ahead) this.prepared.add(p.name);
  }

  /**
   * The partitions ahead are made, and months past the retention dropped: the
   * longest retention of the installations sharing the table, so one that
   * keeps records longer than this one loses none. Never throws: a failure is
   * counted, logged and tried again later, and writes go on meanwhile.
   */
  private async maintain(store: AuditStore, now: Date): Promise<void> {
    try {
      await this.prepareAhead(store, now);
      await store.register(this.o.installation, this.o.retentionDays, now);
      const since = new Date(now.getTime() - INSTALLATION_SEEN_DAYS * DAY_MS);
      const retentionDays = Math.max(this.o.retentionDays, ...(await store.retentions(since)));
      for (const p of partitionsToDrop(await store.partitions(), now, retentionDays)) {
        await store.drop(p);
        this.prepared.delete(p.name);
        this.o.log.info(
          { partition: p.name, retentionDays, ownRetentionDays: this.o.retentionDays },
          'audit partition past the retention dropped',
        );
      }
      this.lastMaintenance = now.getTime();
    } catch (err) {
      if (isMissingTable(err)) this.prepared.clear();
      this.maintenanceRetryAt = Date.now() + MAINTENANCE_RETRY_MS;
      this.o.metrics.writeFailed();
      this.o.log.error(
        { err: messageOf(err), retryInMs: MAINTENANCE_RETRY_MS },
        'audit table upkeep (partitions ahead, retention) failed; records are still written; retrying later',
      );
    }
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

interface RefusedRecord {
  record: AuditRecord;
  err: string;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Whether `work` settled within `ms`; it is not stopped, only no longer waited for. */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
