// The audit table in PostgreSQL: append-only, partitioned by month. Every
// statement here is idempotent, so any replica may prepare the table and a
// batch written twice (its acknowledgement lost) lands once. The URL carries
// a password: no message that leaves this file may contain it.
import pg from 'pg';
import { describeError, scrubberFor } from '../db/migrate/errors.js';
import { AUDIT_TABLE, type Partition } from './partitions.js';
import type { AuditDetails, AuditRecord } from './record.js';

/** Serialises table changes between replicas (and against a second operator on the same database). */
const DDL_LOCK_KEY = 7_202_611_031_522_104_001n;

/** The table, its index and the guard against changes; docs/audit.md shows the same text. */
export const AUDIT_SCHEMA = `CREATE TABLE IF NOT EXISTS cutover_audit (
  id          uuid        NOT NULL,
  seq         bigserial,
  time        timestamptz NOT NULL,
  api_version text        NOT NULL,
  kind        text        NOT NULL,
  namespace   text        NOT NULL,
  name        text        NOT NULL,
  uid         text,
  action      text        NOT NULL,
  type        text        NOT NULL,
  message     text        NOT NULL,
  version     text,
  revision    text,
  details     jsonb       NOT NULL DEFAULT '{}',
  operator    text,
  PRIMARY KEY (time, id)
) PARTITION BY RANGE (time);

CREATE INDEX IF NOT EXISTS cutover_audit_object ON cutover_audit (namespace, name, kind, time);

CREATE OR REPLACE FUNCTION cutover_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'cutover_audit is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'old months leave by dropping their partition (the operator''s retention)';
END
$$;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger
                 WHERE tgname = 'cutover_audit_append_only' AND tgrelid = 'cutover_audit'::regclass) THEN
    CREATE TRIGGER cutover_audit_append_only BEFORE UPDATE OR DELETE ON cutover_audit
      FOR EACH ROW EXECUTE FUNCTION cutover_audit_append_only();
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_trigger
                 WHERE tgname = 'cutover_audit_no_truncate' AND tgrelid = 'cutover_audit'::regclass) THEN
    CREATE TRIGGER cutover_audit_no_truncate BEFORE TRUNCATE ON cutover_audit
      FOR EACH STATEMENT EXECUTE FUNCTION cutover_audit_append_only();
  END IF;
END
$$;

CREATE TABLE IF NOT EXISTS cutover_audit_installations (
  installation   text        NOT NULL,
  retention_days integer     NOT NULL,
  last_seen      timestamptz NOT NULL,
  PRIMARY KEY (installation, retention_days)
);`;

/**
 * A statement-level TRUNCATE trigger on the table is not cloned onto its
 * partitions, so each partition gets its own, in the transaction that
 * creates it; partitions made before this guard existed get it too.
 */
export const PARTITION_GUARD = `DO $$
DECLARE
  part regclass;
BEGIN
  FOR part IN
    SELECT i.inhrelid::regclass FROM pg_inherits i
     WHERE i.inhparent = 'cutover_audit'::regclass
       AND NOT EXISTS (SELECT 1 FROM pg_trigger t
                       WHERE t.tgrelid = i.inhrelid AND t.tgname = 'cutover_audit_no_truncate')
  LOOP
    EXECUTE format('CREATE TRIGGER cutover_audit_no_truncate BEFORE TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION cutover_audit_append_only()', part);
  END LOOP;
END
$$;`;

/**
 * How long the retention's DROP waits for its lock. It needs the table
 * exclusively, and while it waits every INSERT queues behind it: a reader's
 * long query must cost the retention a retry, not the trail its writes.
 */
const DROP_LOCK_TIMEOUT = '2s';

/** The columns a record fills, in the order of values() and of AuditRow. */
export const COLUMNS = [
  'id',
  'time',
  'api_version',
  'kind',
  'namespace',
  'name',
  'uid',
  'action',
  'type',
  'message',
  'version',
  'revision',
  'details',
  'operator',
] as const;

/** One row's parameters, in COLUMNS order. */
function values(r: AuditRecord): Array<string | null> {
  return [
    r.id,
    r.time,
    r.apiVersion,
    r.kind,
    r.namespace,
    r.name,
    r.uid ?? null,
    r.action,
    r.type,
    r.message,
    r.version ?? null,
    r.revision ?? null,
    JSON.stringify(r.details),
    r.operator ?? null,
  ];
}

/** A row as pg reads COLUMNS back. */
export interface AuditRow {
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

/** The inverse of values(): the documented record, without the columns left empty. */
export function recordOfRow(r: AuditRow): AuditRecord {
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

/** The INSERT of a batch: one statement, so the batch lands whole or not at all. */
export function insertStatement(records: readonly AuditRecord[]): {
  text: string;
  values: Array<string | null>;
} {
  const params: Array<string | null> = [];
  const rows = records.map((r) => {
    const start = params.length;
    params.push(...values(r));
    return `(${COLUMNS.map((_, i) => `$${start + i + 1}`).join(', ')})`;
  });
  return {
    text: `INSERT INTO ${AUDIT_TABLE} (${COLUMNS.join(', ')}) VALUES ${rows.join(', ')} ON CONFLICT DO NOTHING`,
    values: params,
  };
}

/** The partition's DDL; its name and bounds come from numbers (partitions.ts), never from input. */
export function createPartitionStatement(p: Partition): string {
  return `CREATE TABLE IF NOT EXISTS ${p.name} PARTITION OF ${AUDIT_TABLE} FOR VALUES FROM ('${p.from.toISOString()}') TO ('${p.to.toISOString()}')`;
}

export interface AuditStore {
  /** The table, its guards and these partitions, created where missing. */
  prepare(partitions: readonly Partition[]): Promise<void>;
  /** Names of the table's partitions. */
  partitions(): Promise<string[]>;
  drop(partition: Partition): Promise<void>;
  /** Says that `installation` keeps records `retentionDays`, as of `at`. */
  register(installation: string, retentionDays: number, at: Date): Promise<void>;
  /** The retentions of the installations that registered at `since` or later. */
  retentions(since: Date): Promise<number[]>;
  insert(records: readonly AuditRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** An Error whose message is safe to log: no URL user-info, no password. */
export class AuditStoreError extends Error {
  override name = 'AuditStoreError';
  constructor(
    message: string,
    /** PostgreSQL's SQLSTATE, when the server refused. */
    readonly code?: string,
  ) {
    super(message);
  }
}

const sqlState = (err: unknown): string | undefined =>
  err instanceof AuditStoreError ? err.code : undefined;

/** The table or a partition the trail believes in is gone (a reset, a restore, a hand-made DROP). */
export function isMissingTable(err: unknown): boolean {
  const code = sqlState(err);
  return (
    code === '42P01' ||
    code === '23514' ||
    (err instanceof Error && /no partition of relation/.test(err.message))
  );
}

/** The server refused the data itself (classes 22 and 23): sending it again cannot help. */
export function isRefusedData(err: unknown): boolean {
  const code = sqlState(err);
  return code !== undefined && /^2[23]/.test(code) && !isMissingTable(err);
}

export function postgresStore(url: string, { timeoutMs = 10_000 } = {}): AuditStore {
  const scrub = scrubberFor(url);
  let pool: pg.Pool | undefined;
  const connect = (): pg.Pool => {
    if (pool) return pool;
    // Created lazily: pg parses the URL here, and its errors may quote it.
    pool = new pg.Pool({
      connectionString: url,
      application_name: 'cutover-audit',
      max: 1,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: timeoutMs,
      statement_timeout: timeoutMs,
      query_timeout: timeoutMs + 1000,
    });
    // An idle connection the server closes emits here; the next query opens another.
    pool.on('error', () => undefined);
    return pool;
  };
  const run = async <T>(fn: (p: pg.Pool) => Promise<T>): Promise<T> => {
    try {
      return await fn(connect());
    } catch (err) {
      throw new AuditStoreError(
        scrub(describeError(err)),
        err instanceof pg.DatabaseError ? err.code : undefined,
      );
    }
  };
  const ddl = (statements: readonly string[]) =>
    run(async (p) => {
      const client = await p.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [DDL_LOCK_KEY.toString()]);
        for (const s of statements) await client.query(s);
        await client.query('COMMIT');
        client.release();
      } catch (err) {
        // A connection in an unknown state is not given back to the pool.
        client.release(err instanceof Error ? err : true);
        throw err;
      }
    });

  return {
    prepare: (partitions) =>
      ddl([AUDIT_SCHEMA, ...partitions.map(createPartitionStatement), PARTITION_GUARD]),
    partitions: () =>
      run(async (p) => {
        const { rows } = await p.query<{ name: string }>(
          `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = to_regclass($1)`,
          [AUDIT_TABLE],
        );
        return rows.map((r) => r.name);
      }),
    drop: (partition) =>
      ddl([`SET LOCAL lock_timeout = '${DROP_LOCK_TIMEOUT}'`, `DROP TABLE IF EXISTS ${partition.name}`]),
    register: async (installation, retentionDays, at) => {
      await run((p) =>
        p.query(
          `INSERT INTO cutover_audit_installations (installation, retention_days, last_seen) VALUES ($1, $2, $3)
           ON CONFLICT (installation, retention_days) DO UPDATE SET last_seen = EXCLUDED.last_seen`,
          [installation, retentionDays, at.toISOString()],
        ),
      );
    },
    retentions: (since) =>
      run(async (p) => {
        const { rows } = await p.query<{ days: number }>(
          'SELECT retention_days AS days FROM cutover_audit_installations WHERE last_seen >= $1',
          [since.toISOString()],
        );
        return rows.map((r) => r.days);
      }),
    insert: async (records) => {
      if (records.length === 0) return;
      await run((p) => p.query(insertStatement(records)));
    },
    close: async () => {
      await pool?.end().catch(() => undefined);
      pool = undefined;
    },
  };
}
