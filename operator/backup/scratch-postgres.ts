// A throwaway PostgreSQL on a restored data directory, for the restore
// drill: no TCP port (a Unix socket in the scratch directory only), trust
// authentication on that socket (nobody else can reach it, and the drill has
// no password), the restored server's own settings otherwise, since recovery
// refuses to run with fewer connections or workers than the source had.
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { access, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';

const execFileAsync = promisify(execFile);
const PORT = 5432;

export interface ScratchPostgres {
  query<T extends pg.QueryResultRow>(database: string, sql: string): Promise<T[]>;
  logTail(): Promise<string>;
  stop(): Promise<void>;
}

export interface ScratchOptions {
  pgBin: string;
  pgdata: string;
  /** Owns the socket, the log and the HBA file; the caller removes it. */
  scratch: string;
  /** A role that exists in the restored cluster. */
  role: string;
  /** How long replay and promotion may take. */
  timeoutMs: number;
}

export async function startScratchPostgres(o: ScratchOptions): Promise<ScratchPostgres> {
  const socketDir = join(o.scratch, 'socket');
  await mkdir(socketDir, { mode: 0o700 });
  const hba = join(o.scratch, 'pg_hba.conf');
  await writeFile(hba, 'local all all trust\n');
  // A data directory restored from a server whose configuration lives elsewhere (Debian's /etc).
  await access(join(o.pgdata, 'postgresql.conf')).catch(() =>
    writeFile(join(o.pgdata, 'postgresql.conf'), ''),
  );
  const runAs = await serverIdentity();
  if (runAs) await execFileAsync('chown', ['-R', `${runAs.uid}:${runAs.gid}`, o.scratch]);
  if (runAs) await chown(o.scratch, runAs.uid, runAs.gid);
  const logPath = join(o.scratch, 'postgres.log');
  const fd = openSync(logPath, 'a', 0o644);
  const child = (() => {
    try {
      return spawn(
        join(o.pgBin, 'postgres'),
        [
          '-D',
          o.pgdata,
          '-k',
          socketDir,
          '-p',
          String(PORT),
          '-c',
          'listen_addresses=',
          '-c',
          `hba_file=${hba}`,
          '-c',
          'archive_mode=off',
          '-c',
          'shared_preload_libraries=',
          '-c',
          'logging_collector=off',
        ],
        {
          stdio: ['ignore', fd, fd],
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', TZ: 'UTC' },
          ...(runAs ?? {}),
        },
      );
    } finally {
      closeSync(fd);
    }
  })();
  let exited = false;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', () => ((exited = true), resolve()));
    child.once('error', () => ((exited = true), resolve()));
  });
  const logTail = async (): Promise<string> => {
    const text = await readFile(logPath, 'utf8').catch(() => '');
    return text.slice(-4000);
  };
  const query = async <T extends pg.QueryResultRow>(database: string, sql: string): Promise<T[]> => {
    const client = new pg.Client({ host: socketDir, port: PORT, user: o.role, database });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<T>(sql)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const stop = async (): Promise<void> => {
    if (exited) return;
    // Fast shutdown; an immediate one if it does not finish in time.
    child.kill('SIGINT');
    if (await Promise.race([gone.then(() => true), delay(30_000, false)])) return;
    child.kill('SIGKILL');
    await gone;
  };

  const deadline = Date.now() + o.timeoutMs;
  let last = 'it never answered';
  for (;;) {
    if (exited) throw new Error(`the restored server stopped: ${lastErrors(await logTail())}`);
    try {
      const [row] = await query<{ recovering: boolean }>(
        'postgres',
        'SELECT pg_is_in_recovery() AS recovering',
      );
      if (row?.recovering === false) break;
      last = 'it was still replaying';
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the restored server was not promoted within ${o.timeoutMs / 1000}s (${last})`);
    }
    await Promise.race([delay(200), gone]);
  }
  return { query, logTail, stop };
}

/** The server's FATAL/PANIC lines, which say why it would not come up. */
function lastErrors(log: string): string {
  const lines = log.split('\n').filter((l) => /\b(FATAL|PANIC|ERROR):/.test(l));
  return (lines.slice(-2).join(' ') || log.trim().split('\n').at(-1) || 'no log').replace(/\s+/g, ' ');
}

/** PostgreSQL will not run as root: as root, run it as the postgres user (or PG_RUN_AS). */
async function serverIdentity(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const name = process.env.PG_RUN_AS ?? 'postgres';
  for (const line of (await readFile('/etc/passwd', 'utf8')).split('\n')) {
    const [entry, , uid, gid] = line.split(':');
    if (entry === name && uid !== undefined && gid !== undefined)
      return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error(`PostgreSQL will not run as root and there is no '${name}' user to run it as`);
}
