// `kubectl cutover audit <release>`: a Release's audit records from the
// operator's PostgreSQL table, oldest first. The connection comes from
// --database-url, else $CUTOVER_AUDIT_DATABASE_URL (as the operator reads it),
// else libpq's PG* variables; the URL and its password never reach output.
import pg from 'pg';
import { describeError, scrubberFor } from '../db/migrate/errors.js';
import { AUDIT_DATABASE_URL_ENV } from '../audit/index.js';
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

interface Row {
  id: string;
  time: Date;
  api_version: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string | null;
  action: string;
  type: 'Normal' | 'Warning';
  message: string;
  version: string | null;
  revision: string | null;
  details: AuditDetails | null;
  operator: string | null;
}

const SELECT = `SELECT id, time, api_version, kind, namespace, name, uid, action, type, message,
       version, revision, details, operator
  FROM cutover_audit
 WHERE namespace = $1 AND kind = 'Release' AND name = $2 AND ($3::timestamptz IS NULL OR time >= $3)
 ORDER BY time, seq`;

export function recordOf(r: Row): AuditRecord {
  return {
    id: r.id,
    time: r.time.toISOString(),
    apiVersion: r.api_version,
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    ...(r.uid ? { uid: r.uid } : {}),
    action: r.action,
    type: r.type,
    message: r.message,
    ...(r.version ? { version: r.version } : {}),
    ...(r.revision ? { revision: r.revision } : {}),
    details: r.details ?? {},
    ...(r.operator ? { operator: r.operator } : {}),
  };
}

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
  const client = new pg.Client({
    ...(url !== undefined ? { connectionString: url } : {}),
    application_name: 'kubectl-cutover',
    connectionTimeoutMillis: 10_000,
    query_timeout: 30_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<Row>(SELECT, [
      q.namespace,
      q.release,
      q.since?.toISOString() ?? null,
    ]);
    return rows.map(recordOf);
  } catch (err) {
    if (err instanceof pg.DatabaseError && err.code === '42P01')
      throw new AuditReadError(
        'that database has no cutover_audit table: is the operator started with --audit-database-url pointing at it?',
      );
    throw new AuditReadError(scrub(`audit database: ${describeError(err)}`));
  } finally {
    await client.end().catch(() => undefined);
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
