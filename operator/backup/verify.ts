// The restore drill: the newest full and all the WAL after it restored into a
// scratch directory, a throwaway server started on it, and the result held
// against the storage: promoted, replayed as far as the newest stored WAL,
// every table the full's manifest lists present. A backup nobody restored is
// a hope; this makes it a fact, or a loud failure naming what is wrong.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../runtime/duration.js';
import { parseLsn, segmentStartLsn } from './chain.js';
import type { CommandIO } from './command.js';
import { DEFAULT_PG_BIN } from './full.js';
import type { BackupManifest, WalSidecar } from './manifest.js';
import { restorePointInTime } from './pitr.js';
import { writeReport } from './report.js';
import { startScratchPostgres, type ScratchPostgres } from './scratch-postgres.js';
import { storageFor, type Storage } from './storage.js';

export interface TableCheck {
  /** Rows in the restore; undefined when the table is missing from it. */
  restored?: number;
  /** Rows the full's manifest recorded; undefined for a table created since. */
  atBackup?: number;
}

export interface VerifyResult {
  ok: boolean;
  backup: string;
  walObjects: number;
  replayLsn: string;
  /** The least the replay had to reach: where the newest stored WAL is known valid. */
  expectedLsn: string;
  lastRecoverabilityPoint?: string;
  tables: Record<string, TableCheck>;
  problems: string[];
}

/** The least LSN a replay of `segments` after `full` reaches. */
export function expectedReplayLsn(full: BackupManifest, segments: readonly WalSidecar[]): string {
  const last = segments.at(-1);
  if (!last) return full.endLsn;
  // A complete segment's last record may continue into the next, unstored one.
  if (last.partial) return last.endLsn ?? segmentStartLsn(last.segment);
  return segmentStartLsn(last.segment);
}

/** Holds the restored tables against the manifest's: a table missing from the restore is a failure. */
export function compareTables(
  atBackup: Readonly<Record<string, number>> | undefined,
  restored: Readonly<Record<string, number>>,
): { tables: Record<string, TableCheck>; problems: string[] } {
  const tables: Record<string, TableCheck> = {};
  for (const [name, rows] of Object.entries(restored)) tables[name] = { restored: rows };
  const problems: string[] = [];
  for (const [name, rows] of Object.entries(atBackup ?? {})) {
    tables[name] = { ...tables[name], atBackup: rows };
    if (!(name in restored))
      problems.push(`table ${name} is in the backup's manifest but not in the restore`);
  }
  return { tables, problems };
}

export interface VerifyOptions {
  storage: Storage;
  pgBin?: string;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export async function verify(o: VerifyOptions): Promise<VerifyResult> {
  const log = o.log ?? (() => undefined);
  const scratch = await mkdtemp(join(tmpdir(), 'cutover-verify-'));
  const pgdata = join(scratch, 'data');
  try {
    const plan = await restorePointInTime({ storage: o.storage, pgdata, target: { latest: true }, log });
    const role = plan.full.role ?? 'postgres';
    const database = plan.full.database ?? 'postgres';
    const server = await startScratchPostgres({
      pgBin: o.pgBin ?? DEFAULT_PG_BIN,
      pgdata,
      scratch,
      role,
      timeoutMs: o.timeoutMs ?? 600_000,
    });
    try {
      const [replay] = await server.query<{ lsn: string }>(
        'postgres',
        'SELECT pg_last_wal_replay_lsn()::text AS lsn',
      );
      const replayLsn = replay?.lsn ?? '0/0';
      const expectedLsn = expectedReplayLsn(plan.full, plan.segments);
      const restored = await countTables(server.query, database);
      const { tables, problems } = compareTables(plan.full.tables, restored);
      if (parseLsn(replayLsn) < parseLsn(expectedLsn))
        problems.unshift(`replay stopped at ${replayLsn}, before ${expectedLsn} where the stored WAL ends`);
      if (plan.chain.broken)
        problems.push(`the chain is broken from ${plan.chain.broken.from}: ${plan.chain.broken.reason}`);
      return {
        ok: problems.length === 0,
        backup: plan.full.id,
        walObjects: plan.segments.length,
        replayLsn,
        expectedLsn,
        ...(plan.chain.lastRecoverabilityPoint
          ? { lastRecoverabilityPoint: plan.chain.lastRecoverabilityPoint }
          : {}),
        tables,
        problems,
      };
    } finally {
      await server.stop();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function countTables(
  query: ScratchPostgres['query'],
  database: string,
): Promise<Record<string, number>> {
  const names = await query<{ name: string; quoted: string }>(
    database,
    `SELECT n.nspname || '.' || c.relname AS name, format('%I.%I', n.nspname, c.relname) AS quoted
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
      ORDER BY 1`,
  );
  const out: Record<string, number> = {};
  for (const t of names) {
    // As in the manifest: -1 for a table the role may not read; it is there all the same.
    const [r] = await query<{ n: string }>(database, `SELECT count(*) AS n FROM ${t.quoted}`).catch(() => []);
    out[t.name] = Number(r?.n ?? -1);
  }
  return out;
}

export const verifyUsage = `usage: cutover verify --from URI [--timeout 10m]

The restore drill: restores the newest full backup in URI and all the WAL
stored after it into a scratch directory, starts a throwaway PostgreSQL on
it (a Unix socket only), waits until it has replayed and promoted, checks it
reached the newest stored WAL and holds every table the backup's manifest
lists, prints the tables and row counts, and removes everything it made.
A corrupted or missing object fails the drill, named.

  --timeout D   how long replay and promotion may take (default 10m)

exit codes: 0 verified, 1 failed, 2 usage
`;

export async function runVerifyCommand(
  args: string[],
  io: CommandIO = {
    env: process.env,
    stdout: (l) => process.stdout.write(`${l}\n`),
    stderr: (l) => process.stderr.write(`${l}\n`),
  },
): Promise<number> {
  let from: string;
  let timeoutMs = 600_000;
  try {
    const { values } = parseArgs({
      args,
      options: {
        from: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) return (io.stdout(verifyUsage.trimEnd()), 0);
    if (!values.from) throw new Error('--from is required');
    from = values.from;
    if (values.timeout !== undefined) timeoutMs = parseDuration(values.timeout);
  } catch (err) {
    io.stderr(`cutover verify: ${oneLine(err)}`);
    io.stderr(verifyUsage.trimEnd());
    return 2;
  }
  const startedAt = new Date().toISOString();
  try {
    const r = await verify({ storage: storageFor(from, io.env), timeoutMs, log: io.stdout });
    io.stdout(
      `backup ${r.backup} + ${r.walObjects} WAL objects: replayed to ${r.replayLsn} (stored WAL valid to ${r.expectedLsn})`,
    );
    for (const [name, t] of Object.entries(r.tables)) {
      io.stdout(`  ${name}: ${t.restored ?? 'MISSING'} rows restored${atBackup(t.atBackup)}`);
    }
    const detail = {
      walObjects: r.walObjects,
      replayLsn: r.replayLsn,
      tables: r.tables,
      problems: r.problems,
    };
    const report = {
      kind: 'verify' as const,
      id: r.backup,
      startedAt,
      finishedAt: new Date().toISOString(),
      detail,
    };
    if (!r.ok) {
      const error = `backup ${r.backup} did not verify: ${r.problems.join('; ')}`;
      io.stderr(`cutover verify: ${error}`);
      await writeReport(io.env, { ...report, ok: false, error });
      return 1;
    }
    io.stdout(
      `verified backup ${r.backup}${r.lastRecoverabilityPoint ? ` up to ${r.lastRecoverabilityPoint}` : ''}`,
    );
    await writeReport(io.env, {
      ...report,
      ok: true,
      ...(r.lastRecoverabilityPoint ? { lastRecoverabilityPoint: r.lastRecoverabilityPoint } : {}),
    });
    return 0;
  } catch (err) {
    const error = oneLine(err);
    io.stderr(`cutover verify: ${error}`);
    await writeReport(io.env, {
      kind: 'verify',
      ok: false,
      error,
      startedAt,
      finishedAt: new Date().toISOString(),
    });
    return 1;
  }
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
}

/** The manifest's figure is the planner's estimate; -1: the table had never been analysed. */
function atBackup(rows: number | undefined): string {
  if (rows === undefined) return '';
  return rows < 0 ? ', not yet analysed at the backup' : `, ${rows} at the backup (estimated)`;
}
