import { jest } from '@jest/globals';
import { createLogger } from '../runtime/log.js';
import type { Decision } from '../runtime/journal.js';
import { monthOf, partition, type Partition } from './partitions.js';
import { AuditStoreError, type AuditStore } from './postgres.js';
import { parseAuditLine, type AuditRecord } from './record.js';
import { AuditTrail } from './trail.js';

/** A store in memory that can be made to fail, counting what it was asked. */
class MemoryStore implements AuditStore {
  rows: AuditRecord[] = [];
  tables = new Set<string>();
  /** installation → retention days → last seen. */
  installations = new Map<string, Map<number, Date>>();
  failing = false;
  dropFailing = false;
  /** Rows PostgreSQL would refuse for their content. */
  refuses: (r: AuditRecord) => boolean = () => false;
  inserts = 0;
  drops = 0;

  prepare(partitions: readonly Partition[]): Promise<void> {
    if (this.failing) return Promise.reject(new Error('connect ECONNREFUSED'));
    for (const p of partitions) this.tables.add(p.name);
    return Promise.resolve();
  }
  partitions(): Promise<string[]> {
    if (this.failing) return Promise.reject(new Error('connect ECONNREFUSED'));
    return Promise.resolve([...this.tables]);
  }
  drop(p: Partition): Promise<void> {
    this.drops += 1;
    if (this.dropFailing)
      return Promise.reject(
        new AuditStoreError('canceling statement due to lock timeout (SQLSTATE 55P03)', '55P03'),
      );
    this.tables.delete(p.name);
    return Promise.resolve();
  }
  register(installation: string, retentionDays: number, at: Date): Promise<void> {
    if (this.failing) return Promise.reject(new Error('connect ECONNREFUSED'));
    const days = this.installations.get(installation) ?? new Map<number, Date>();
    days.set(retentionDays, at);
    this.installations.set(installation, days);
    return Promise.resolve();
  }
  retentions(since: Date): Promise<number[]> {
    if (this.failing) return Promise.reject(new Error('connect ECONNREFUSED'));
    const seen = [...this.installations.values()].flatMap((days) =>
      [...days].filter(([, at]) => at >= since).map(([d]) => d),
    );
    return Promise.resolve(seen);
  }
  insert(records: readonly AuditRecord[]): Promise<void> {
    this.inserts += 1;
    if (this.failing) return Promise.reject(new Error('connect ECONNREFUSED'));
    for (const r of records) {
      const name = partition(monthOf(new Date(r.time))).name;
      if (!this.tables.has(name))
        return Promise.reject(
          new AuditStoreError(
            `no partition of relation "cutover_audit" found for row (SQLSTATE 23514)`,
            '23514',
          ),
        );
      if (this.refuses(r))
        return Promise.reject(
          new AuditStoreError('unsupported Unicode escape sequence (SQLSTATE 22P05)', '22P05'),
        );
    }
    this.rows.push(...records);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const decision = (reason: string, at: string): Decision => ({
  id: `${reason}@${at}`,
  at,
  type: 'Normal',
  reason,
  message: `${reason} happened`,
  object: { apiVersion: 'cutover.dev/v1alpha1', kind: 'Release', namespace: 'shop', name: 'web' },
  details: { version: '2.0.0' },
});

function harness(o: { store?: AuditStore; bufferSize?: number; now?: Date; retentionDays?: number } = {}) {
  const lines: string[] = [];
  const logs: string[] = [];
  const counts = { stdout: 0, postgres: 0, failures: 0, buffered: 0, dropped: 0 };
  let clock = o.now ?? new Date('2026-12-03T10:00:00Z');
  const log = createLogger('info', {
    write: (s: string) => logs.push(s),
  } as unknown as NodeJS.WritableStream);
  const trail = new AuditTrail({
    log,
    now: () => clock,
    retentionDays: o.retentionDays ?? 365,
    installation: 'cutover-system/cutover-leader',
    bufferSize: o.bufferSize ?? 100,
    identity: 'op-1',
    write: (l) => lines.push(l),
    ...(o.store ? { store: o.store } : {}),
    metrics: {
      recorded: (sink, n) => (counts[sink] += n),
      writeFailed: () => (counts.failures += 1),
      buffered: (n) => (counts.buffered = n),
      dropped: (n) => (counts.dropped += n),
    },
  });
  return {
    trail,
    lines,
    logs,
    counts,
    advanceClock: (ms: number) => (clock = new Date(clock.getTime() + ms)),
  };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('each decision is one audit line on stdout, at once, with who decided', () => {
  const h = harness();
  h.trail.record(decision('RolloutStarted', '2026-12-03T10:00:00.000Z'));
  h.trail.record(decision('StepStarted', '2026-12-03T10:00:01.000Z'));
  expect(h.lines.map((l) => parseAuditLine(l)?.action)).toEqual(['RolloutStarted', 'StepStarted']);
  expect(parseAuditLine(h.lines[0] ?? '')).toMatchObject({ operator: 'op-1', version: '2.0.0' });
  expect(h.counts).toMatchObject({ stdout: 2, postgres: 0, buffered: 0 });
});

test('with a database: the table is prepared for this month and the next, records go in one batch', async () => {
  const store = new MemoryStore();
  const h = harness({ store });
  h.trail.start();
  h.trail.record(decision('RolloutStarted', '2026-12-03T10:00:00.000Z'));
  h.trail.record(decision('StepStarted', '2026-12-03T10:00:01.000Z'));
  expect(h.counts.buffered).toBe(2);
  await jest.advanceTimersByTimeAsync(100);
  expect([...store.tables].sort()).toEqual(['cutover_audit_y2026m12', 'cutover_audit_y2027m01']);
  expect(store.rows.map((r) => r.action)).toEqual(['RolloutStarted', 'StepStarted']);
  expect(store.inserts).toBe(1);
  expect(h.counts).toMatchObject({ postgres: 2, buffered: 0, failures: 0 });
  await h.trail.stop();
});

test('a database that is down: records wait, each attempt is counted, backoff grows, and they land once it is up', async () => {
  const store = new MemoryStore();
  store.failing = true;
  const h = harness({ store });
  h.trail.start();
  h.trail.record(decision('RolloutStarted', '2026-12-03T10:00:00.000Z'));
  await jest.advanceTimersByTimeAsync(100);
  // The first pass fails twice: the table's upkeep (retried in an hour), then the write.
  expect(h.counts.failures).toBe(2);
  // The write is retried after 1 s, then 2 s, then 4 s.
  await jest.advanceTimersByTimeAsync(1_000);
  expect(h.counts.failures).toBe(3);
  await jest.advanceTimersByTimeAsync(1_000);
  expect(h.counts.failures).toBe(3);
  await jest.advanceTimersByTimeAsync(1_000);
  expect(h.counts.failures).toBe(4);
  h.trail.record(decision('StepStarted', '2026-12-03T10:00:01.000Z'));
  expect(h.counts.buffered).toBe(2);
  store.failing = false;
  await jest.advanceTimersByTimeAsync(4_000);
  expect(store.rows.map((r) => r.action)).toEqual(['RolloutStarted', 'StepStarted']);
  expect(h.counts).toMatchObject({ postgres: 2, buffered: 0, failures: 4, dropped: 0 });
  expect(h.logs.some((l) => l.includes('could not be written'))).toBe(true);
  expect(h.logs.some((l) => l.includes('written again'))).toBe(true);
  await h.trail.stop();
});

test('a full buffer drops the oldest records, counts each and says so in the log', async () => {
  const store = new MemoryStore();
  store.failing = true;
  const h = harness({ store, bufferSize: 3 });
  h.trail.start();
  for (let i = 0; i < 5; i++) h.trail.record(decision(`D${i}`, `2026-12-03T10:00:0${i}.000Z`));
  expect(h.counts).toMatchObject({ dropped: 2, buffered: 3, stdout: 5 });
  expect(h.logs.filter((l) => l.includes('audit buffer full'))).toHaveLength(2);
  store.failing = false;
  await jest.advanceTimersByTimeAsync(100);
  expect(store.rows.map((r) => r.action)).toEqual(['D2', 'D3', 'D4']);
  await h.trail.stop();
});

test('retention on start drops months past 365 days on the injected clock; recent ones stay', async () => {
  const store = new MemoryStore();
  store.tables = new Set(['cutover_audit_y2025m11', 'cutover_audit_y2025m12', 'cutover_audit_y2026m11']);
  const h = harness({ store, now: new Date('2026-12-03T10:00:00Z') });
  h.trail.start();
  await jest.advanceTimersByTimeAsync(10);
  // 365 days before 2026-12-03 is 2025-12-03: November 2025 ended before it, December 2025 did not.
  expect([...store.tables].sort()).toEqual([
    'cutover_audit_y2025m12',
    'cutover_audit_y2026m11',
    'cutover_audit_y2026m12',
    'cutover_audit_y2027m01',
  ]);
  expect(h.logs.filter((l) => l.includes('past the retention'))).toHaveLength(1);
  await h.trail.stop();
});

test('the retention runs again once a day has passed on the operator clock, not before', async () => {
  const store = new MemoryStore();
  store.tables = new Set(['cutover_audit_y2025m11']);
  const h = harness({ store, now: new Date('2026-11-30T12:00:00Z') });
  h.trail.start();
  await jest.advanceTimersByTimeAsync(10);
  expect(store.tables.has('cutover_audit_y2025m11')).toBe(true);
  // An hour's look finds less than a day gone: nothing dropped.
  h.advanceClock(3_600_000);
  await jest.advanceTimersByTimeAsync(3_600_000);
  expect(store.tables.has('cutover_audit_y2025m11')).toBe(true);
  // The clock moves a day (an injected clock may jump): November 2025 is now past 365 days.
  h.advanceClock(86_400_000);
  await jest.advanceTimersByTimeAsync(3_600_000);
  expect(store.tables.has('cutover_audit_y2025m11')).toBe(false);
  expect(store.tables.has('cutover_audit_y2027m01')).toBe(true);
  await h.trail.stop();
});

test('a record stamped in a month with no partition yet gets one before it is written', async () => {
  const store = new MemoryStore();
  const h = harness({ store, now: new Date('2026-12-03T10:00:00Z') });
  h.trail.start();
  h.trail.record(decision('Late', '2027-03-01T00:00:00.000Z'));
  await jest.advanceTimersByTimeAsync(100);
  expect(store.tables.has('cutover_audit_y2027m03')).toBe(true);
  expect(store.rows).toHaveLength(1);
  await h.trail.stop();
});

test('stop writes what waits; what cannot be written is logged', async () => {
  const store = new MemoryStore();
  const h = harness({ store });
  h.trail.record(decision('A', '2026-12-03T10:00:00.000Z'));
  await h.trail.stop();
  expect(store.rows).toHaveLength(1);

  const down = new MemoryStore();
  down.failing = true;
  const h2 = harness({ store: down });
  h2.trail.record(decision('B', '2026-12-03T10:00:00.000Z'));
  await h2.trail.stop();
  expect(h2.logs.some((l) => l.includes('not written to PostgreSQL before shutdown'))).toBe(true);
  // After stop, decisions still reach stdout but no longer wait for a database.
  h2.trail.record(decision('C', '2026-12-03T10:00:01.000Z'));
  expect(h2.lines).toHaveLength(2);
  expect(h2.counts.buffered).toBe(1);
});

test('a retention that fails (a DROP out of lock time) holds up no write; it is counted, logged and tried again in an hour', async () => {
  const store = new MemoryStore();
  store.tables = new Set(['cutover_audit_y2025m01']);
  store.dropFailing = true;
  const h = harness({ store, now: new Date('2026-12-03T10:00:00Z') });
  h.trail.start();
  h.trail.record(decision('RolloutStarted', '2026-12-03T10:00:00.000Z'));
  await jest.advanceTimersByTimeAsync(100);
  expect(store.rows.map((r) => r.action)).toEqual(['RolloutStarted']);
  expect(h.counts).toMatchObject({ postgres: 1, buffered: 0, failures: 1 });
  expect(h.logs.filter((l) => l.includes('upkeep') && l.includes('lock timeout'))).toHaveLength(1);
  // More writes within the hour neither wait for nor retry the DROP.
  for (let i = 0; i < 3; i++) {
    h.trail.record(decision(`Step${i}`, '2026-12-03T10:00:01.000Z'));
    await jest.advanceTimersByTimeAsync(1_000);
  }
  expect(store.rows).toHaveLength(4);
  expect(store.drops).toBe(1);
  store.dropFailing = false;
  await jest.advanceTimersByTimeAsync(3_600_000);
  expect(store.drops).toBe(2);
  expect(store.tables.has('cutover_audit_y2025m01')).toBe(false);
  expect(h.counts.failures).toBe(1);
  await h.trail.stop();
});

test('one record PostgreSQL refuses is dropped, counted and named in the log; the rest of its batch and later ones land', async () => {
  const store = new MemoryStore();
  store.refuses = (r) => r.action === 'Poison';
  const h = harness({ store });
  h.trail.start();
  for (const a of ['Before', 'Poison', 'After']) h.trail.record(decision(a, '2026-12-03T10:00:00.000Z'));
  await jest.advanceTimersByTimeAsync(100);
  expect(store.rows.map((r) => r.action)).toEqual(['Before', 'After']);
  expect(h.counts).toMatchObject({ postgres: 2, dropped: 1, buffered: 0, failures: 0 });
  const refused = h.logs.filter((l) => l.includes('refused by PostgreSQL'));
  expect(refused).toHaveLength(1);
  expect(refused[0]).toContain('"action":"Poison"');
  expect(refused[0]).toContain('22P05');
  h.trail.record(decision('Later', '2026-12-03T10:00:05.000Z'));
  await jest.advanceTimersByTimeAsync(100);
  expect(store.rows.map((r) => r.action)).toEqual(['Before', 'After', 'Later']);
  await h.trail.stop();
});

test('a refused batch that then meets an outage keeps every record queued', async () => {
  const store = new MemoryStore();
  store.refuses = (r) => {
    // The batch is refused for its data, then the database goes away during the row-by-row pass.
    if (r.action === 'Poison') store.failing = true;
    return r.action === 'Poison';
  };
  const h = harness({ store });
  h.trail.start();
  for (const a of ['Poison', 'After']) h.trail.record(decision(a, '2026-12-03T10:00:00.000Z'));
  await jest.advanceTimersByTimeAsync(100);
  expect(h.counts).toMatchObject({ buffered: 2, dropped: 0 });
  expect(h.counts.failures).toBeGreaterThanOrEqual(1);
  await h.trail.stop(0);
});

test('a partition that disappeared (the database was reset) is prepared again on the next pass, not a day later', async () => {
  const store = new MemoryStore();
  const h = harness({ store });
  h.trail.start();
  h.trail.record(decision('Before', '2026-12-03T10:00:00.000Z'));
  await jest.advanceTimersByTimeAsync(100);
  expect(store.rows).toHaveLength(1);
  store.tables.clear();
  h.trail.record(decision('AfterReset', '2026-12-03T10:00:01.000Z'));
  await jest.advanceTimersByTimeAsync(100);
  expect(h.counts.failures).toBe(1);
  await jest.advanceTimersByTimeAsync(1_000);
  expect(store.rows.map((r) => r.action)).toEqual(['Before', 'AfterReset']);
  expect([...store.tables].sort()).toEqual(['cutover_audit_y2026m12', 'cutover_audit_y2027m01']);
  expect(h.counts).toMatchObject({ buffered: 0, dropped: 0, failures: 1 });
  await h.trail.stop();
});

test('installations sharing the table: months go only past the longest retention of those seen in the last 30 days', async () => {
  const store = new MemoryStore();
  // Another installation keeps a year and was seen last week; an uninstalled one kept ten years, 40 days ago.
  store.installations.set('tenant-a/cutover-leader', new Map([[365, new Date('2026-11-26T00:00:00Z')]]));
  store.installations.set('old/cutover-leader', new Map([[3650, new Date('2026-10-24T00:00:00Z')]]));
  store.tables = new Set(['cutover_audit_y2025m10', 'cutover_audit_y2025m12', 'cutover_audit_y2026m09']);
  const h = harness({ store, now: new Date('2026-12-03T10:00:00Z'), retentionDays: 30 });
  h.trail.start();
  await jest.advanceTimersByTimeAsync(10);
  // 365 days, not this installation's 30: only October 2025 ended more than a year ago.
  expect([...store.tables].sort()).toEqual([
    'cutover_audit_y2025m12',
    'cutover_audit_y2026m09',
    'cutover_audit_y2026m12',
    'cutover_audit_y2027m01',
  ]);
  expect(store.installations.get('cutover-system/cutover-leader')).toEqual(
    new Map([[30, new Date('2026-12-03T10:00:00Z')]]),
  );
  expect(h.logs.find((l) => l.includes('past the retention'))).toContain('"retentionDays":365');
  await h.trail.stop();
});

test('stop returns within its grace even when a write hangs', async () => {
  const store = new MemoryStore();
  const h = harness({ store });
  h.trail.start();
  await jest.advanceTimersByTimeAsync(10);
  store.insert = () => new Promise<void>(() => undefined);
  h.trail.record(decision('Hangs', '2026-12-03T10:00:00.000Z'));
  await jest.advanceTimersByTimeAsync(100);
  let stopped = false;
  void h.trail.stop(2_000).then(() => (stopped = true));
  await jest.advanceTimersByTimeAsync(1_900);
  expect(stopped).toBe(false);
  await jest.advanceTimersByTimeAsync(200);
  expect(stopped).toBe(true);
  expect(h.logs.some((l) => l.includes('not written to PostgreSQL before shutdown'))).toBe(true);
});
