// Logical dumps: `pg_dump -Fc` into dump/<id>/db.dump with its manifest
// written last, and their restore with pg_restore into an existing database,
// for restoring into another server or another PostgreSQL version. The
// restore runs in one transaction, so a failure leaves the target as it was.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { scrubberFor } from '../db/migrate.js';
import type { CommandIO } from './command.js';
import {
  DUMP,
  DUMP_FILE,
  addressOf,
  parseDumpManifest,
  sameDatabase,
  type DumpManifest,
} from './dump-manifest.js';
import { BackupError, DEFAULT_PG_BIN, assertUnused, run, sha256, withoutPassword } from './full.js';
import { MANIFEST, backupId, compareIds } from './manifest.js';
import { writeReport } from './report.js';
import { RunWrites, storageFor, type Storage } from './storage.js';

export const dumpUsage = `usage: cutover backup dump --to URI [--database-url URL]

Dumps the database with pg_dump -Fc into URI under dump/<id>/db.dump (SHA-256
in the manifest, written last). The URL defaults to $DATABASE_URL; the user
needs to read every table. Restore with cutover restore --target-url.
exit codes: 0 ok, 1 failed, 2 usage
`;

export const dumpRestoreUsage = `usage: cutover restore --from URI --target-url URL [--backup ID] [--in-place]
       cutover restore --from URI --target-url-env NAME [--backup ID] [--in-place]

Restores the newest logical dump in URI (or dump ID) into the existing
database at URL with pg_restore, in one transaction, after checking its
SHA-256. Owners and grants are not restored: the URL's user owns what is
created. The dump's own source database is refused unless --in-place, which
drops and recreates the dumped objects there (--clean --if-exists).

  --target-url URL        postgres://user:password@host:port/db
  --target-url-env NAME   the URL is read from the environment variable NAME
                          instead: its password stays out of argv (ps, the
                          pod spec), as a Job with a secretKeyRef needs
exit codes: 0 ok, 1 failed, 2 usage or refused
`;

/** A refusal the user can fix with a flag: exit 2. */
export class DumpRefused extends Error {
  override name = 'DumpRefused';
}

export interface DumpOptions {
  databaseUrl: string;
  storage: Storage;
  pgBin?: string;
  now?: () => Date;
  log?: (line: string) => void;
}

export async function takeDump(o: DumpOptions): Promise<DumpManifest> {
  const now = o.now ?? (() => new Date());
  const log = o.log ?? (() => undefined);
  const scrub = scrubberFor(o.databaseUrl);
  const started = now();
  const id = backupId(started);
  const prefix = `${DUMP}/${id}`;
  const writes = new RunWrites(o.storage);
  const work = await mkdtemp(join(tmpdir(), 'cutover-dump-'));
  try {
    await assertUnused(o.storage, prefix);
    const { url, password } = withoutPassword(o.databaseUrl);
    const { host, port, database } = addressOf(o.databaseUrl);
    log(`dump ${id}: pg_dump -Fc of ${scrub(o.databaseUrl)}`);
    const path = join(work, DUMP_FILE);
    await run(
      join(o.pgBin ?? DEFAULT_PG_BIN, 'pg_dump'),
      ['-d', url, '-Fc', '-f', path],
      pgEnv(password),
      scrub,
    );
    const file = { name: DUMP_FILE, size: (await stat(path)).size, sha256: await sha256(path) };
    await writes.putFile(`${prefix}/${DUMP_FILE}`, path);
    const manifest: DumpManifest = {
      version: 1,
      kind: 'dump',
      id,
      startedAt: started.toISOString(),
      finishedAt: now().toISOString(),
      database,
      host,
      port,
      size: file.size,
      files: [file],
    };
    // Last: until it exists, nothing reads this dump as complete.
    await writes.putText(`${prefix}/${MANIFEST}`, `${JSON.stringify(manifest, null, 2)}\n`);
    log(`dump ${id}: ${file.size} bytes`);
    return manifest;
  } catch (err) {
    // Only the objects this run put: never what another run wrote, even under the same prefix.
    await writes.undo();
    throw new BackupError(scrub(err instanceof Error ? err.message : String(err)));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function listDumps(storage: Storage): Promise<DumpManifest[]> {
  const out: DumpManifest[] = [];
  for (const dir of await storage.list(DUMP)) {
    const text = await storage.getText(`${dir}/${MANIFEST}`);
    const m = text === undefined ? undefined : parseDumpManifest(text);
    if (m) out.push(m);
  }
  return out;
}

export interface DumpRestoreOptions {
  storage: Storage;
  targetUrl: string;
  /** A dump id; the newest complete one when absent. */
  backup?: string;
  /** Allows the dump's own source database as the target, replacing what it dumped. */
  inPlace: boolean;
  pgBin?: string;
  log?: (line: string) => void;
}

export async function restoreDump(o: DumpRestoreOptions): Promise<DumpManifest> {
  const log = o.log ?? (() => undefined);
  const scrub = scrubberFor(o.targetUrl);
  const dumps = (await listDumps(o.storage)).sort((a, b) => compareIds(b.id, a.id));
  const chosen = o.backup === undefined ? dumps[0] : dumps.find((m) => m.id === o.backup);
  if (!chosen) {
    throw new BackupError(
      o.backup ? `no complete dump ${o.backup} in ${o.storage.uri}` : `no complete dump in ${o.storage.uri}`,
    );
  }
  const { url, password } = withoutPassword(o.targetUrl);
  const target = addressOf(o.targetUrl);
  if (!o.inPlace && sameDatabase(chosen, target)) {
    throw new DumpRefused(
      `dump ${chosen.id} was taken from ${target.host}:${target.port}/${target.database}, the target: pass --in-place to replace its contents`,
    );
  }
  const work = await mkdtemp(join(tmpdir(), 'cutover-dump-restore-'));
  try {
    const path = join(work, DUMP_FILE);
    const file = chosen.files.find((f) => f.name === DUMP_FILE);
    if (!file) throw new BackupError(`dump ${chosen.id}: its manifest lists no ${DUMP_FILE}`);
    await o.storage.getFile(`${DUMP}/${chosen.id}/${DUMP_FILE}`, path);
    if ((await sha256(path)) !== file.sha256) {
      throw new BackupError(
        `dump ${chosen.id}: ${DUMP_FILE} is corrupted (its SHA-256 differs from the manifest); nothing was restored`,
      );
    }
    log(`dump ${chosen.id}: verified, restoring into ${target.host}:${target.port}/${target.database}`);
    await run(
      join(o.pgBin ?? DEFAULT_PG_BIN, 'pg_restore'),
      [
        '-d',
        url,
        '--single-transaction',
        '--exit-on-error',
        '--no-owner',
        '--no-privileges',
        ...(o.inPlace ? ['--clean', '--if-exists'] : []),
        path,
      ],
      pgEnv(password),
      scrub,
    );
    return chosen;
  } catch (err) {
    throw err instanceof BackupError
      ? err
      : new BackupError(scrub(err instanceof Error ? err.message : String(err)));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function runDumpCommand(args: string[], io: CommandIO): Promise<number> {
  let values: { to?: string; 'database-url'?: string; help?: boolean };
  try {
    values = parseArgs({
      args,
      options: {
        to: { type: 'string' },
        'database-url': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
    if (values.help) return (io.stdout(dumpUsage.trimEnd()), 0);
    if (!values.to) throw new Error('--to is required');
  } catch (err) {
    io.stderr(`cutover backup dump: ${scrubArgs(args)(oneLine(err))}`);
    io.stderr(dumpUsage.trimEnd());
    return 2;
  }
  const url = values['database-url'] ?? io.env.DATABASE_URL;
  if (!url) {
    io.stderr('cutover backup dump: no database: pass --database-url or set DATABASE_URL');
    return 2;
  }
  const scrub = scrubberFor(url);
  try {
    const storage = storageFor(values.to, io.env);
    const m = await takeDump({ databaseUrl: url, storage, log: (l) => io.stdout(scrub(l)) });
    io.stdout(`dump ${m.id} complete in ${storage.uri}`);
    const { id, startedAt, finishedAt, size } = m;
    await writeReport(io.env, { kind: 'dump', ok: true, id, startedAt, finishedAt, size });
    return 0;
  } catch (err) {
    const error = scrub(oneLine(err));
    io.stderr(`cutover backup dump: ${error}`);
    await writeReport(io.env, { kind: 'dump', ok: false, error });
    return 1;
  }
}

export async function runDumpRestoreCommand(args: string[], io: CommandIO): Promise<number> {
  let values: {
    from?: string;
    'target-url'?: string;
    'target-url-env'?: string;
    backup?: string;
    'in-place'?: boolean;
    help?: boolean;
  };
  try {
    values = parseArgs({
      args,
      options: {
        from: { type: 'string' },
        'target-url': { type: 'string' },
        'target-url-env': { type: 'string' },
        backup: { type: 'string' },
        'in-place': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
    if (values.help) return (io.stdout(dumpRestoreUsage.trimEnd()), 0);
    if (values['target-url'] !== undefined && values['target-url-env'] !== undefined)
      throw new Error('--target-url and --target-url-env are mutually exclusive');
    if (!values.from || !(values['target-url'] || values['target-url-env']))
      throw new Error('--from and --target-url (or --target-url-env) are required');
  } catch (err) {
    // A parse error quotes what it did not understand: a URL, password and all.
    io.stderr(`cutover restore: ${scrubArgs(args)(oneLine(err))}`);
    io.stderr(dumpRestoreUsage.trimEnd());
    return 2;
  }
  const envName = values['target-url-env'];
  const targetUrl = envName === undefined ? values['target-url'] : io.env[envName];
  if (!targetUrl) {
    io.stderr(`cutover restore: --target-url-env ${envName ?? ''}: the variable is empty or not set`);
    return 2;
  }
  const scrub = scrubberFor(targetUrl);
  try {
    const storage = storageFor(values.from, io.env);
    const m = await restoreDump({
      storage,
      targetUrl,
      backup: values.backup,
      inPlace: values['in-place'] === true,
      log: (l) => io.stdout(scrub(l)),
    });
    io.stdout(`restored dump ${m.id}`);
    await writeReport(io.env, { kind: 'restore', ok: true, id: m.id });
    return 0;
  } catch (err) {
    const error = scrub(oneLine(err));
    io.stderr(`cutover restore: ${error}`);
    await writeReport(io.env, { kind: 'restore', ok: false, error });
    return err instanceof DumpRefused ? 2 : 1;
  }
}

function pgEnv(password: string | undefined): NodeJS.ProcessEnv {
  return { ...process.env, PGCONNECT_TIMEOUT: '10', ...(password ? { PGPASSWORD: password } : {}) };
}

/**
 * Scrubs a message that may quote any of `args`: a URL's userinfo, and each
 * URL argument's password wherever it appears (--opt=URL included).
 */
export function scrubArgs(args: readonly string[]): (text: string) => string {
  const scrubs = args.map((a) => scrubberFor(a.replace(/^--[^=]*=/, '')));
  return (text) => scrubs.reduce((t, scrub) => scrub(t), text);
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
}
