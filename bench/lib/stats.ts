// Figures from the operator's /metrics and /proc: snapshots taken at both ends
// of a window, and what changed between them.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseSeries, type OperatorProcess } from '../../test/harness/operator.js';

/** Nearest-rank quantile of raw samples. */
export function quantile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? NaN;
}

export const round = (x: number, digits = 0): number => +x.toFixed(digits);

export interface Snapshot {
  /** performance.now() when it was taken. */
  at: number;
  metrics: Map<string, number>;
  /** User + system CPU of the operator process, from /proc/<pid>/stat. */
  cpuSeconds: number;
}

// Clock ticks per second of /proc/<pid>/stat (100 on every usual Linux).
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds the process has used so far: utime + stime, fields 14 and 15 of /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** The kernel's high-water mark of the process's RSS, in bytes. */
export function peakRssOf(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? NaN) * 1024;
}

export async function snapshot(op: OperatorProcess): Promise<Snapshot> {
  const pid = op.proc.child.pid ?? 0;
  const metrics = await op.metrics();
  return { at: performance.now(), metrics, cpuSeconds: cpuSecondsOf(pid) };
}

/** Sum of every series of `name` whose labels include `labels`. */
export function sum(metrics: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [series, value] of metrics) {
    const { metric, labels: l } = parseSeries(series);
    if (metric === name && Object.entries(labels).every(([k, v]) => l[k] === v)) total += value;
  }
  return total;
}

/** Per value of `label`, how much `name` grew between two snapshots (unchanged values left out). */
export function deltaBy(
  before: Snapshot,
  after: Snapshot,
  name: string,
  label: string,
  labels: Record<string, string> = {},
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const series of after.metrics.keys()) {
    const { metric, labels: l } = parseSeries(series);
    if (metric !== name || !Object.entries(labels).every(([k, v]) => l[k] === v)) continue;
    const key = l[label] ?? '';
    const d = (after.metrics.get(series) ?? 0) - (before.metrics.get(series) ?? 0);
    if (d !== 0) out[key] = (out[key] ?? 0) + d;
  }
  return out;
}

/** Cumulative buckets [le, count] of histogram `name` observed between two snapshots. */
export function histogramDelta(
  before: Snapshot,
  after: Snapshot,
  name: string,
  labels: Record<string, string> = {},
): Array<[number, number]> {
  const byLe = new Map<number, number>();
  for (const series of after.metrics.keys()) {
    const { metric, labels: l } = parseSeries(series);
    if (metric !== `${name}_bucket` || !Object.entries(labels).every(([k, v]) => l[k] === v)) continue;
    const le = l.le === '+Inf' ? Infinity : Number(l.le);
    const d = (after.metrics.get(series) ?? 0) - (before.metrics.get(series) ?? 0);
    byLe.set(le, (byLe.get(le) ?? 0) + d);
  }
  return [...byLe.entries()].sort((a, b) => a[0] - b[0]);
}

/**
 * A quantile of histogram buckets, at bucket resolution: the upper bound of
 * the bucket it falls in (Infinity past the last finite bound, NaN when empty).
 */
export function bucketQuantile(buckets: Array<[number, number]>, q: number): number {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return NaN;
  for (const [le, count] of buckets) if (count >= q * total) return le;
  return Infinity;
}

/** Upper bound of the highest non-empty bucket. */
export function bucketMax(buckets: Array<[number, number]>): number {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return NaN;
  return buckets.find(([, count]) => count === total)?.[0] ?? Infinity;
}

/** `≤ 0.25 s` style text for a bucket bound. */
export function bucketText(seconds: number): string {
  if (Number.isNaN(seconds)) return 'n/a';
  if (seconds === Infinity) return '> last bucket';
  return `≤ ${seconds < 1 ? `${round(seconds * 1000)} ms` : `${seconds} s`}`;
}
