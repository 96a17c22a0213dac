// A full backup with pg_basebackup over the replication protocol: tar format,
// gzip, the WAL the backup needs fetched into it (so it restores on its own),
// PostgreSQL's own backup_manifest with SHA-256 checksums, and our manifest
// written last. The password never reaches argv (`ps` would show it): it goes
// to pg_basebackup through PGPASSWORD.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { scrubberFor } from '../db/migrate.js';
import { FULL, MANIFEST, backupId, walRangeOf, type BackupFile, type BackupManifest } from './manifest.js';
import { RunWrites, type Storage } from './storage.js';

export const DEFAULT_PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export class BackupError extends Error {
  override name = 'BackupError';
}

export interface FullBackupOptions {
  databaseUrl: string;
  storage: Storage;
  pgBin?: string;
  now?: () => Date;
  log?: (line: string) => void;
}

export async function fullBackup(o: FullBackupOptions): Promise<BackupManifest> {
  const now = o.now ?? (() => new Date());
  const log = o.log ?? (() => undefined);
  const scrub = scrubberFor(o.databaseUrl);
  const started = now();
  const id = backupId(started);
  const prefix = `${FULL}/${id}`;
  const writes = new RunWrites(o.storage);
  const work = await mkdtemp(join(tmpdir(), 'cutover-backup-'));
  try {
    await assertUnused(o.storage, prefix);
    const { url, password } = withoutPassword(o.databaseUrl);
    log(`full backup ${id}: pg_basebackup from ${scrub(o.databaseUrl)}`);
    await run(
      join(o.pgBin ?? DEFAULT_PG_BIN, 'pg_basebackup'),
      [
        '-d',
        url,
        '-D',
        join(work, 'out'),
        '-Ft',
        '-z',
        '-X',
        'fetch',
        '-c',
        'fast',
        '--manifest-checksums=SHA256',
        '-l',
        `cutover ${id}`,
      ],
      { ...process.env, PGCONNECT_TIMEOUT: '10', ...(password ? { PGPASSWORD: password } : {}) },
      scrub,
    );
    const out = join(work, 'out');
    const range = walRangeOf(await readFile(join(out, 'backup_manifest'), 'utf8'));
    const files: BackupFile[] = [];
    for (const name of (await readdir(out)).sort()) {
      const path = join(out, name);
      const size = (await stat(path)).size;
      // Hashed as it is stored: one read of each object, not two.
      files.push({ name, size, sha256: await writes.putFile(`${prefix}/${name}`, path) });
    }
    const contents = await tablesOf(o.databaseUrl);
    const manifest: BackupManifest = {
      version: 1,
      id,
      kind: 'full',
      startedAt: started.toISOString(),
      finishedAt: now().toISOString(),
      ...range,
      size: files.reduce((n, f) => n + f.size, 0),
      files,
      ...contents,
    };
    // Last: until it exists, nothing reads this backup as complete.
    await writes.putText(`${prefix}/${MANIFEST}`, `${JSON.stringify(manifest, null, 2)}\n`);
    log(
      `full backup ${id}: ${manifest.size} bytes, WAL ${range.startLsn}..${range.endLsn} on timeline ${range.timeline}`,
    );
    return manifest;
  } catch (err) {
    // Only the objects this run put: never what another run wrote, even under the same prefix.
    await writes.undo();
    throw err instanceof BackupError
      ? err
      : new BackupError(scrub(err instanceof Error ? err.message : String(err)));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Refuses a prefix that already holds objects: another run's, which this
 * one's objects would mix with. Ids are unique, so this is a second line.
 */
export async function assertUnused(storage: Storage, prefix: string): Promise<void> {
  if ((await storage.list(prefix)).length > 0)
    throw new BackupError(
      `${prefix} already holds objects in ${storage.uri}: refusing to write over another backup`,
    );
}

/**
 * The user tables of the URL's database and the planner's estimate of their
 * rows (pg_class.reltuples; -1 for a table never analysed), for verify to
 * hold a restore against. An estimate, not count(*): counting every row of a
 * large database would cost the backup a second full read.
 */
async function tablesOf(
  databaseUrl: string,
): Promise<{ database: string; role: string; tables: Record<string, number> }> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const who = await client.query<{ database: string; role: string }>(
      'SELECT current_database() AS database, current_user AS role',
    );
    const rows = await client.query<{ name: string; estimate: string }>(
      `SELECT n.nspname || '.' || c.relname AS name, greatest(c.reltuples, -1)::bigint AS estimate
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
        ORDER BY 1`,
    );
    const tables = Object.fromEntries(rows.rows.map((t) => [t.name, Number(t.estimate)]));
    const { database = '', role = '' } = who.rows[0] ?? {};
    return { database, role, tables };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The URL for argv (no password) and the password for the environment. */
export function withoutPassword(databaseUrl: string): { url: string; password?: string } {
  let u: URL;
  try {
    u = new URL(databaseUrl);
  } catch {
    throw new BackupError('the database URL is not a postgres://user:password@host/db URL');
  }
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  u.password = '';
  return { url: u.toString(), password };
}

export function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  scrub: (s: string) => string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, maxBuffer: 4 * 1024 * 1024 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      // pg_basebackup's error and its hint lines, as one line.
      const lines = scrub(String(stderr))
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      const from = Math.max(
        0,
        lines.findIndex((l) => l.includes('error:')),
      );
      reject(new BackupError(lines.slice(from).join(' ') || scrub(err.message)));
    });
  });
}
