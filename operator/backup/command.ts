// `cutover backup full` and `cutover restore`: what backup Jobs will run, and
// what a person can run by hand. A failure is one line on stderr and a
// non-zero exit; the database URL's password never appears in either.
import { parseArgs } from 'node:util';
import { scrubberFor } from '../db/migrate.js';
import { runDumpCommand, runDumpRestoreCommand, scrubArgs } from './dump.js';
import { fullBackup } from './full.js';
import { runPruneCommand } from './prune.js';
import { runReplicateCommand } from './replicate.js';
import { writeReport } from './report.js';
import { restoreFull } from './restore.js';
import { storageFor } from './storage.js';

export const backupUsage = `usage: cutover backup full --to URI [--database-url URL]

Takes a full base backup with pg_basebackup (tar, gzip, the WAL it needs
included, SHA-256 checksums) into URI, under full/<id>/, and writes its
manifest last. The URL defaults to $DATABASE_URL; the user needs REPLICATION.

  --to URI            file:///absolute/path, or s3://bucket/prefix with
                      AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
  --database-url URL  postgres://user:password@host:port/db

also:  cutover backup dump --to URI [--database-url URL]   a pg_dump -Fc (dump --help)
       cutover backup prune --from URI [--apply] [...]     retention, a dry run by default (prune --help)
       cutover backup wal --to URI [...]                  continuous WAL until stopped (wal --help)
       cutover backup replicate --from URI --to URI [...]  copies to a second region (replicate --help)
exit codes: 0 ok, 1 failed, 2 usage
`;

export const restoreUsage = `usage: cutover restore --from URI --pgdata DIR [--backup ID]

Restores the newest complete full backup in URI (file:///path or
s3://bucket/prefix, as for cutover backup) or backup ID into DIR,
which must be new or empty, after checking every object against the
manifest. \`postgres -D DIR\` then starts consistent at the backup's end.
With --to-time T, --to-lsn LSN or --latest, the WAL stored by
\`cutover backup wal\` is added and replayed up to the target
(cutover restore --latest --help).

also:  cutover restore --from URI --target-url URL [--backup ID] [--in-place]
       cutover restore --from URI --target-url-env NAME [--backup ID] [--in-place]
       a logical dump into an existing database, its URL given or read from
       the variable NAME (cutover restore --target-url= --help)

exit codes: 0 ok, 1 failed, 2 usage
`;

export interface CommandIO {
  env: NodeJS.ProcessEnv;
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  /** Stops a long-running command (backup wal) instead of SIGTERM/SIGINT. */
  signal?: AbortSignal;
}

const defaultIO: CommandIO = {
  env: process.env,
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
};

export async function runBackupCommand(args: string[], io: CommandIO = defaultIO): Promise<number> {
  if (args[0] === 'dump') return runDumpCommand(args.slice(1), io);
  if (args[0] === 'prune') return runPruneCommand(args.slice(1), io);
  if (args[0] === 'replicate') return runReplicateCommand(args.slice(1), io);
  if (args[0] === 'wal') return (await import('./wal.js')).runWalCommand(args.slice(1), io);
  let values: { to?: string; 'database-url'?: string; help?: boolean };
  try {
    const parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        to: { type: 'string' },
        'database-url': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    values = parsed.values;
    if (values.help) return (io.stdout(backupUsage.trimEnd()), 0);
    if (parsed.positionals[0] !== 'full' || parsed.positionals.length > 1) {
      throw new Error(`unknown kind '${parsed.positionals.join(' ')}': only 'full' is implemented`);
    }
    if (!values.to) throw new Error('--to is required');
  } catch (err) {
    // The unknown kind is echoed: `backup full postgres://u:pw@…` must not print pw.
    io.stderr(`cutover backup: ${scrubArgs(args)(message(err))}`);
    io.stderr(backupUsage.trimEnd());
    return 2;
  }
  const url = values['database-url'] ?? io.env.DATABASE_URL;
  if (!url) {
    io.stderr('cutover backup: no database: pass --database-url or set DATABASE_URL');
    return 2;
  }
  const scrub = scrubberFor(url);
  try {
    const storage = storageFor(values.to, io.env);
    const m = await fullBackup({ databaseUrl: url, storage, log: (l) => io.stdout(scrub(l)) });
    io.stdout(`backup ${m.id} complete in ${storage.uri}`);
    const { id, startedAt, finishedAt, size, startLsn, endLsn } = m;
    await writeReport(io.env, { kind: 'full', ok: true, id, startedAt, finishedAt, size, startLsn, endLsn });
    return 0;
  } catch (err) {
    const error = scrub(message(err));
    io.stderr(`cutover backup: ${error}`);
    await writeReport(io.env, { kind: 'full', ok: false, error });
    return 1;
  }
}

export async function runRestoreCommand(args: string[], io: CommandIO = defaultIO): Promise<number> {
  // A logical dump goes into a database, not a data directory: its own flags.
  if (args.some((a) => /^--target-url(-env)?(=|$)/.test(a))) return runDumpRestoreCommand(args, io);
  const pitr = await import('./pitr.js');
  if (pitr.wantsPointInTime(args)) return pitr.runPointInTimeRestore(args, io);
  let values: { from?: string; pgdata?: string; backup?: string; help?: boolean };
  try {
    values = parseArgs({
      args,
      options: {
        from: { type: 'string' },
        pgdata: { type: 'string' },
        backup: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
    if (values.help) return (io.stdout(restoreUsage.trimEnd()), 0);
    if (!values.from || !values.pgdata) throw new Error('--from and --pgdata are required');
  } catch (err) {
    io.stderr(`cutover restore: ${scrubArgs(args)(message(err))}`);
    io.stderr(restoreUsage.trimEnd());
    return 2;
  }
  try {
    const storage = storageFor(values.from, io.env);
    const m = await restoreFull({ storage, pgdata: values.pgdata, backup: values.backup, log: io.stdout });
    io.stdout(`restored backup ${m.id}`);
    return 0;
  } catch (err) {
    io.stderr(`cutover restore: ${message(err)}`);
    return 1;
  }
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
}
