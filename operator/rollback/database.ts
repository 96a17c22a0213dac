// The DatabasePool signal: how much of max_connections is in use, read over
// one short-lived connection. The URL carries a password; no message that
// leaves this file may contain it.
import pg from 'pg';
import { scrubberFor } from '../db/migrate.js';
import { describeError } from '../db/migrate/errors.js';

export type PoolUsage =
  { ok: true; ratio: number; connections: number; maxConnections: number } | { ok: false; error: string };

/** Resolves, never rejects, and keeps the URL and password out of its errors. */
export type PoolUsageReader = (url: string, timeoutMs: number) => Promise<PoolUsage>;

// Client backends only: autovacuum, the checkpointer, WAL writers and the
// like appear in pg_stat_activity but do not take a max_connections slot.
// Our own connection is counted: it is one of the slots while we look.
const SQL = `SELECT count(*)::int AS connections, current_setting('max_connections')::int AS max_connections
  FROM pg_stat_activity WHERE backend_type = 'client backend'`;

interface Row {
  connections: number;
  max_connections: number;
}

/** Never rejects: an unreachable database makes the reading Inconclusive, not the reconcile fail. */
export async function poolUsage(url: string, timeoutMs: number): Promise<PoolUsage> {
  const scrub = scrubberFor(url);
  const timeout = Math.max(1, Math.round(timeoutMs));
  let client: pg.Client | undefined;
  try {
    // Inside the try: pg parses the URL in the constructor, and its errors may quote it.
    client = new pg.Client({
      connectionString: url,
      application_name: 'cutover-analysis',
      connectionTimeoutMillis: timeout,
      // Bounds the server's work and our wait for it, in case the server never answers.
      statement_timeout: timeout,
      query_timeout: timeout,
    });
    // A connection dropped mid-query emits 'error'; the awaited call reports it.
    client.on('error', () => undefined);
    await client.connect();
    const { rows } = await client.query<Row>(SQL);
    const row = rows[0];
    if (!row || !(row.max_connections > 0)) return { ok: false, error: 'max_connections could not be read' };
    return {
      ok: true,
      ratio: row.connections / row.max_connections,
      connections: row.connections,
      maxConnections: row.max_connections,
    };
  } catch (err) {
    return { ok: false, error: scrub(`database: ${describeError(err)}`) };
  } finally {
    await client?.end().catch(() => undefined);
  }
}
