// What a backup command tells the operator when it runs in a Job: one JSON
// object written to $CUTOVER_REPORT (the container's terminationMessagePath),
// so the operator reads the outcome from the Pod without reading the storage
// or the logs. Kubernetes keeps at most 4 KiB of it; a longer report keeps its
// head fields and drops the detail.

import { writeFile } from 'node:fs/promises';

export type ReportKind = 'full' | 'dump' | 'prune' | 'verify' | 'restore' | 'wal' | 'replicate';

export interface Report {
  kind: ReportKind;
  ok: boolean;
  /** One line, already scrubbed of secrets, when ok is false. */
  error?: string;
  /** The backup this run wrote or read. */
  id?: string;
  startedAt?: string;
  finishedAt?: string;
  /** Bytes stored. */
  size?: number;
  startLsn?: string;
  endLsn?: string;
  firstRecoverabilityPoint?: string;
  lastRecoverabilityPoint?: string;
  /**
   * Kind-specific detail: what prune deleted, the tables verify counted;
   * replicate: {replicas: [{uri, lagSeconds, copied}]}.
   */
  detail?: Record<string, unknown>;
}

export const REPORT_ENV = 'CUTOVER_REPORT';
const LIMIT = 4096;

export function reportText(report: Report): string {
  const full = JSON.stringify(report);
  if (Buffer.byteLength(full) <= LIMIT) return full;
  const { detail: _detail, ...head } = report;
  const short = JSON.stringify({ ...head, truncated: true });
  return Buffer.byteLength(short) <= LIMIT
    ? short
    : JSON.stringify({ kind: report.kind, ok: report.ok, truncated: true });
}

/** Writes the report where the Job asked for it; nothing when run by hand. */
export async function writeReport(env: NodeJS.ProcessEnv, report: Report): Promise<void> {
  const path = env[REPORT_ENV];
  if (!path) return;
  await writeFile(path, reportText(report)).catch(() => undefined);
}

/** Parses a termination message back; undefined when it is not a report. */
export function parseReport(text: string | undefined): Report | undefined {
  if (!text) return undefined;
  try {
    const r = JSON.parse(text) as Partial<Report>;
    return typeof r.kind === 'string' && typeof r.ok === 'boolean' ? (r as Report) : undefined;
  } catch {
    return undefined;
  }
}
