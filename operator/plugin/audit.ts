// `kubectl cutover audit <release>`: a Release's audit records from the
// operator's PostgreSQL table, oldest first. The connection comes from
// --database-url, else $CUTOVER_AUDIT_DATABASE_URL (as the operator reads it),
// else libpq's PG* variables; the URL and its password never reach output.
import pg from 'pg';
import { describeError, scrubberFor } from '../db/migrate/errors.js';
import { AUDIT_DATABASE_URL_ENV } from '../audit/index.js';
import { AUDIT_TABLE } from '../audit/partitions.js';
import { COLUMNS, recordOfRow, type AuditRow } from '../audit/postgres.js';
import type { AuditDetails, AuditRecord } from '../audit/record.js';
import { formatTime, palette, table, type Cell } from './render.js';

export interface AuditQuery {
  namespace: string;
  release: string;
  /** Only records at or after this instant. */
  since?: Date;
}

/** --since: a duration back from now (24h, 7d, 1h30m) or an RFC 3339 instant. */
export type Since = { agoMs: number } | { at: string };

export function sinceInstant(since: Since, now: Date): Date {
  return 'agoMs' in since ? new Date(now.getTime() - since.agoMs) : new Date(since.at);
}

const SELECT = `SELECT ${COLUMNS.join(', ')} FROM ${AUDIT_TABLE}
 WHERE namespace = $1 AND kind = 'Release' AND name = $2 AND ($3::timestamptz IS NULL OR time >= $3)
 ORDER BY time, seq`;

/** The connection string to use, or undefined to let pg read PG* variables. */
export function auditDatabaseUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  // Set but empty (an optional Secret key that is absent) is unset.
  return flag ?? (env[AUDIT_DATABASE_URL_ENV] || undefined);
}

export class AuditReadError extends Error {}

export async function readAudit(url: string | undefined, env: NodeJS.ProcessEnv, q: AuditQuery) {
  if (url === undefined && env.PGHOST === undefined && env.PGDATABASE === undefined)
    throw new AuditReadError(
      `no audit database: set ${AUDIT_DATABASE_URL_ENV} (the URL the operator's --audit-database-url has), pass --database-url, or set PGHOST and friends`,
    );
  const scrub = scrubberFor(url ?? '');
  let client: pg.Client | undefined;
  try {
    // Inside the try: pg parses the URL in the constructor, and its errors may quote it.
    client = new pg.Client({
      ...(url !== undefined ? { connectionString: url } : {}),
      application_name: 'kubectl-cutover',
      connectionTimeoutMillis: 10_000,
      query_timeout: 30_000,
    });
    client.on('error', () => undefined);
    await client.connect();
    const { rows } = await client.query<AuditRow>(SELECT, [
      q.namespace,
      q.release,
      q.since?.toISOString() ?? null,
    ]);
    return rows.map(recordOfRow);
  } catch (err) {
    if (err instanceof pg.DatabaseError && err.code === '42P01')
      throw new AuditReadError(
        `that database has no ${AUDIT_TABLE} table: is the operator started with --audit-database-url pointing at it?`,
      );
    throw new AuditReadError(scrub(`audit database: ${describeError(err)}`));
  } finally {
    await client?.end().catch(() => undefined);
  }
}

const detailsText = (d: AuditDetails): string =>
  Object.entries(d)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');

/** The records as a table, oldest first; messages kept whole (they say why). */
export function renderAudit(
  records: readonly AuditRecord[],
  q: AuditQuery,
  opts: { color: boolean },
): string {
  const p = palette(opts.color);
  if (records.length === 0) {
    const since = q.since ? ` since ${formatTime(q.since.toISOString())}` : '';
    return `No audit records for release "${q.release}" in namespace "${q.namespace}"${since}.\n`;
  }
  const rows = records.map((r): Cell[] => [
    formatTime(r.time),
    r.type === 'Warning' ? { text: r.action, style: 'yellow' } : r.action,
    r.version ?? '-',
    detailsText(r.details) || '-',
    r.message,
  ]);
  return `${table(['TIME', 'ACTION', 'VERSION', 'DETAILS', 'MESSAGE'], rows, p).join('\n')}\n`;
}
