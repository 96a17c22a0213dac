// Continuous WAL: pg_receivewal streams from a physical replication slot into
// a local directory, and this process ships what it writes. A finished
// segment is stored once (object, then sidecar, then the stored partial of it
// goes); the open segment is re-shipped every interval, read at that moment,
// which is what bounds the RPO. The slot makes the server keep WAL while this
// process is down, so a restart resumes where it stopped; when WAL is gone
// anyway (slot dropped) the hole is recorded, never papered over.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { scrubberFor } from '../db/migrate.js';
import { BackupError, DEFAULT_PG_BIN, withoutPassword } from './full.js';
import { WAL } from './manifest.js';
import { parseDuration } from '../runtime/duration.js';
import type { CommandIO } from './command.js';
import { writeReport } from './report.js';
import { Shipper, type WalStreamResult } from './wal-shipper.js';
import { storageFor, type Storage } from './storage.js';

export const DEFAULT_SLOT = 'cutover_wal';
export const DEFAULT_INTERVAL_MS = 5_000;

export interface WalStreamOptions {
  databaseUrl: string;
  storage: Storage;
  slot?: string;
  intervalMs?: number;
  /** pg_receivewal's directory; a temporary one (removed at the end) when absent. */
  dir?: string;
  pgBin?: string;
  signal: AbortSignal;
  now?: () => Date;
  log?: (line: string) => void;
  warn?: (line: string) => void;
}

export async function streamWal(o: WalStreamOptions): Promise<WalStreamResult> {
  const scrub = scrubberFor(o.databaseUrl);
  const pgBin = o.pgBin ?? DEFAULT_PG_BIN;
  const slot = o.slot ?? DEFAULT_SLOT;
  const { url, password } = withoutPassword(o.databaseUrl);
  const env = { ...process.env, PGCONNECT_TIMEOUT: '10', ...(password ? { PGPASSWORD: password } : {}) };
  const ownDir = o.dir === undefined;
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'cutover-wal-')));
  await mkdir(dir, { recursive: true });
  const shipper = new Shipper(o.storage, pgBin, o.now ?? (() => new Date()), o.log ?? (() => undefined));
  let receiver: Receiver | undefined;
  try {
    await runTool(
      join(pgBin, 'pg_receivewal'),
      ['-d', url, '-S', slot, '--create-slot', '--if-not-exists'],
      env,
      scrub,
    );
    shipper.lastStored = await lastStoredSegment(o.storage);
    receiver = await startReceiver(
      join(pgBin, 'pg_receivewal'),
      ['-d', url, '-S', slot, '-D', dir, '--no-loop', '-s', '1'],
      env,
      o.signal,
    );
    (o.log ?? (() => undefined))(`streaming WAL through slot ${slot} into ${o.storage.uri}`);
    const interval = o.intervalMs ?? DEFAULT_INTERVAL_MS;
    while (!o.signal.aborted && receiver.exitCode === undefined) {
      const tick = Date.now();
      await shipper.ship(dir, o.warn ?? (() => undefined));
      // A fixed cadence: the time spent shipping counts against the interval, which is the RPO bound.
      await Promise.race([
        delay(Math.max(0, interval - (Date.now() - tick)), undefined, { signal: o.signal }).catch(
          () => undefined,
        ),
        receiver.exited,
      ]);
    }
    // Stopped (pg_receivewal may have had the terminal's SIGINT too), or the stream ended.
    if (o.signal.aborted) {
      if (receiver.exitCode === undefined) receiver.child.kill('SIGTERM');
      await receiver.exited;
      // What pg_receivewal wrote before it stopped: the last word on the open segment.
      await shipper.ship(dir, o.warn ?? (() => undefined));
      return shipper.result();
    }
    await shipper.ship(dir, o.warn ?? (() => undefined));
    throw new BackupError(receiverFailure(scrub(receiver.stderr()), receiver.exitCode ?? null));
  } catch (err) {
    throw err instanceof BackupError
      ? err
      : new BackupError(scrub(err instanceof Error ? err.message : String(err)));
  } finally {
    // A storage failure ends the loop with the stream still running: it must not outlive us.
    if (receiver && receiver.exitCode === undefined) {
      receiver.child.kill('SIGTERM');
      await receiver.exited;
    }
    if (ownDir) await rm(dir, { recursive: true, force: true });
  }
}

function receiverFailure(stderr: string, code: number | null): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.includes('error:') || l.includes('fatal:') || l.includes('FATAL'));
  return lines.length > 0
    ? lines.slice(0, 2).join(' ')
    : `pg_receivewal exited with code ${String(code)}: ${stderr.trim().split('\n').at(-1) ?? ''}`;
}

async function lastStoredSegment(storage: Storage): Promise<string | undefined> {
  const names = (await storage.list(WAL))
    .map((k) => /\/([0-9A-F]{24})\.json$/.exec(k)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort();
  return names.at(-1);
}

interface Receiver {
  child: ChildProcess;
  exited: Promise<void>;
  exitCode: number | null | undefined;
  stderr(): string;
}

// After a crash the server may hold the slot for the dead connection a
// little longer; a restart within that moment would otherwise fail.
const SLOT_BUSY = /replication slot "[^"]*" is active for PID/;
const SLOT_BUSY_ATTEMPTS = 15;

async function startReceiver(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
): Promise<Receiver> {
  for (let attempt = 1; ; attempt += 1) {
    const receiver = spawnReceiver(file, args, env);
    const settled = await Promise.race([receiver.exited.then(() => true), delay(2_000, false)]);
    if (!settled || !SLOT_BUSY.test(receiver.stderr()) || attempt >= SLOT_BUSY_ATTEMPTS || signal.aborted)
      return receiver;
    await delay(1_000, undefined, { signal }).catch(() => undefined);
  }
}

function spawnReceiver(file: string, args: string[], env: NodeJS.ProcessEnv): Receiver {
  const child = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4096);
  });
  const receiver: Receiver = {
    child,
    exitCode: undefined,
    stderr: () => tail,
    exited: new Promise((resolve) => {
      child.once('error', (err) => {
        tail += `\n${file}: error: ${err.message}`;
        receiver.exitCode = null;
        resolve();
      });
      child.once('close', (code) => {
        receiver.exitCode = code;
        resolve();
      });
    }),
  };
  return receiver;
}

function runTool(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  scrub: (s: string) => string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      reject(
        new BackupError(
          receiverFailure(scrub(String(stderr)), typeof err.code === 'number' ? err.code : null),
        ),
      );
    });
  });
}

export const walUsage = `usage: cutover backup wal --to URI [--database-url URL] [--slot NAME] [--interval 5s] [--dir DIR]

Streams WAL with pg_receivewal through a physical replication slot (created
if missing) and ships it to URI until SIGTERM or SIGINT: each finished
segment once, as wal/<SEGMENT>.gz with its sidecar, and the open segment
every --interval, which bounds how much a lost server takes with it.

  --slot NAME      replication slot (default ${DEFAULT_SLOT}); the server keeps WAL for it
                   while this process is down
  --interval D     how often the open segment is shipped (default 5s)
  --dir DIR        pg_receivewal's working directory (default a temporary one)

exit codes: 0 stopped by a signal, 1 failed (the stream ended: database down,
wrong password), 2 usage
`;

export async function runWalCommand(args: string[], io: CommandIO): Promise<number> {
  let values: {
    to?: string;
    'database-url'?: string;
    slot?: string;
    interval?: string;
    dir?: string;
    help?: boolean;
  };
  let intervalMs = DEFAULT_INTERVAL_MS;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        to: { type: 'string' },
        'database-url': { type: 'string' },
        slot: { type: 'string' },
        interval: { type: 'string' },
        dir: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
    if (values.help) return (io.stdout(walUsage.trimEnd()), 0);
    if (!values.to) throw new Error('--to is required');
    if (values.interval !== undefined) intervalMs = parseDuration(values.interval);
    if (!(intervalMs >= 100)) throw new Error(`--interval ${values.interval ?? ''} is shorter than 100ms`);
    if (values.slot !== undefined && !/^[a-z0-9_]{1,63}$/.test(values.slot))
      throw new Error(`--slot ${values.slot}: lower-case letters, digits and _ only`);
  } catch (err) {
    io.stderr(`cutover backup wal: ${oneLine(err)}`);
    io.stderr(walUsage.trimEnd());
    return 2;
  }
  const url = values['database-url'] ?? io.env.DATABASE_URL;
  if (!url) {
    io.stderr('cutover backup wal: no database: pass --database-url or set DATABASE_URL');
    return 2;
  }
  const scrub = scrubberFor(url);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  if (io.signal) io.signal.addEventListener('abort', onSignal, { once: true });
  else for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, onSignal);
  const startedAt = new Date().toISOString();
  try {
    const storage = storageFor(values.to, io.env);
    const r = await streamWal({
      databaseUrl: url,
      storage,
      intervalMs,
      signal: stop.signal,
      ...(values.slot ? { slot: values.slot } : {}),
      ...(values.dir ? { dir: values.dir } : {}),
      log: (l) => io.stdout(scrub(l)),
      warn: (l) => io.stderr(`cutover backup wal: ${scrub(l)}`),
    });
    io.stdout(
      `stopped: ${r.shipped} objects shipped${r.lastSegment ? `, last segment ${r.lastSegment}` : ''}`,
    );
    await writeReport(io.env, {
      kind: 'wal',
      ok: true,
      startedAt,
      finishedAt: new Date().toISOString(),
      ...(r.lastShippedAt ? { lastRecoverabilityPoint: r.lastShippedAt } : {}),
      detail: {
        shipped: r.shipped,
        lastSegment: r.lastSegment,
        gaps: r.gaps.map((g) => `${g.from}..${g.to}`),
      },
    });
    return 0;
  } catch (err) {
    const error = scrub(oneLine(err));
    io.stderr(`cutover backup wal: ${error}`);
    await writeReport(io.env, {
      kind: 'wal',
      ok: false,
      error,
      startedAt,
      finishedAt: new Date().toISOString(),
    });
    return 1;
  } finally {
    for (const s of ['SIGTERM', 'SIGINT'] as const) process.removeListener(s, onSignal);
  }
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
}
