// Monthly partitions of the audit table: names, bounds, and which ones the
// retention drops. Pure; the SQL that uses them is in postgres.ts. Months are
// UTC months, so a partition's bounds never depend on the server's time zone.

export const AUDIT_TABLE = 'cutover_audit';
const NAME = /^cutover_audit_y(\d{4})m(\d{2})$/;
const DAY_MS = 86_400_000;

export interface Month {
  year: number;
  /** 1–12. */
  month: number;
}

export interface Partition extends Month {
  name: string;
  /** Inclusive lower bound. */
  from: Date;
  /** Exclusive upper bound: the first instant of the next month. */
  to: Date;
}

export const monthOf = (t: Date): Month => ({ year: t.getUTCFullYear(), month: t.getUTCMonth() + 1 });

export const addMonths = (m: Month, n: number): Month => {
  const i = m.year * 12 + (m.month - 1) + n;
  return { year: Math.floor(i / 12), month: (i % 12) + 1 };
};

export function partition(m: Month): Partition {
  const from = new Date(Date.UTC(m.year, m.month - 1, 1));
  const to = new Date(Date.UTC(m.year, m.month, 1));
  return { ...m, name: `${AUDIT_TABLE}_y${m.year}m${String(m.month).padStart(2, '0')}`, from, to };
}

/** The month a partition name stands for, or undefined for any other table. */
export function parsePartition(name: string): Partition | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const month = Number(m[2]);
  if (month < 1 || month > 12) return undefined;
  return partition({ year: Number(m[1]), month });
}

/** The partitions kept ready: the current month and the next, so a write at midnight of the 1st has one. */
export function partitionsAhead(now: Date): Partition[] {
  const m = monthOf(now);
  return [partition(m), partition(addMonths(m, 1))];
}

/** The partitions records at these times need (a batch buffered across a month boundary needs two). */
export function partitionsFor(times: readonly string[]): Partition[] {
  const byName = new Map<string, Partition>();
  for (const t of times) {
    const p = partition(monthOf(new Date(t)));
    byName.set(p.name, p);
  }
  return [...byName.values()];
}

/**
 * Partitions whose whole month is older than the retention: every record in
 * them is past it. A partition still holding one record inside the retention
 * stays, so records are kept at least `retentionDays` and at most a month more.
 */
export function partitionsToDrop(names: readonly string[], now: Date, retentionDays: number): Partition[] {
  const cutoff = now.getTime() - retentionDays * DAY_MS;
  return names
    .map(parsePartition)
    .filter((p): p is Partition => p !== undefined && p.to.getTime() <= cutoff)
    .sort((a, b) => a.from.getTime() - b.from.getTime());
}
