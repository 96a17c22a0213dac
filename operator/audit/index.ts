// The audit trail as the operator starts it: flags to a running trail.
import type { Logger } from '../runtime/log.js';
import type { OperatorMetrics } from '../runtime/metrics.js';
import { UsageError } from '../usage.js';
import { postgresStore } from './postgres.js';
import { AuditTrail } from './trail.js';

export { AuditTrail } from './trail.js';
export type { AuditRecord } from './record.js';

export const DEFAULT_RETENTION_DAYS = 365;
export const DEFAULT_BUFFER_SIZE = 10_000;
/** Where the URL comes from when no flag gives it: an env var a Secret can fill. */
export const AUDIT_DATABASE_URL_ENV = 'CUTOVER_AUDIT_DATABASE_URL';

export interface AuditConfig {
  /** Absent: records go to stdout only. */
  databaseUrl?: string;
  retentionDays: number;
  bufferSize: number;
}

export function startAuditTrail(
  config: AuditConfig,
  deps: {
    log: Logger;
    metrics: OperatorMetrics;
    now?: () => Date;
    identity?: string;
    /** Its lease namespace/name: what tells installations sharing a database apart. */
    installation: string;
  },
): AuditTrail {
  const { metrics } = deps;
  // Both sinks' series exist from the start, so a rate over them is never "no data".
  for (const sink of ['stdout', 'postgres']) metrics.auditRecords.inc({ sink }, 0);
  const trail = new AuditTrail({
    log: deps.log,
    now: deps.now ?? (() => new Date()),
    identity: deps.identity,
    installation: deps.installation,
    retentionDays: config.retentionDays,
    bufferSize: config.bufferSize,
    ...(config.databaseUrl ? { store: postgresStore(config.databaseUrl) } : {}),
    metrics: {
      recorded: (sink, n) => metrics.auditRecords.inc({ sink }, n),
      writeFailed: () => metrics.auditWriteFailures.inc(),
      buffered: (n) => metrics.auditBuffered.set(n),
      dropped: (n) => metrics.auditDropped.inc(n),
    },
  });
  trail.start();
  // Whether a database is in use, never which: the URL holds a password.
  deps.log.info(
    {
      postgres: config.databaseUrl !== undefined,
      retentionDays: config.retentionDays,
      bufferSize: config.bufferSize,
    },
    'audit trail: records on stdout',
  );
  return trail;
}

/** The flags' values checked: a retention or bound that is not a positive whole number is a usage error. */
export function auditConfig(values: {
  databaseUrl?: string;
  retentionDays?: string;
  bufferSize?: string;
}): AuditConfig {
  const positive = (flag: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1)
      throw new UsageError(`--${flag}: "${raw}" is not a whole number above 0`);
    return n;
  };
  return {
    ...(values.databaseUrl ? { databaseUrl: values.databaseUrl } : {}),
    retentionDays: positive('audit-retention-days', values.retentionDays, DEFAULT_RETENTION_DAYS),
    bufferSize: positive('audit-buffer-size', values.bufferSize, DEFAULT_BUFFER_SIZE),
  };
}
