// Continuous WAL: pg_receivewal streams from a physical replication slot into
// a local directory, and this process ships what it writes. A finished
// segment is stored once (object, then sidecar, then the stored partial of it
// goes); the open segment is re-shipped every interval, read at that moment,
// which is what bounds the RPO. The slot makes the server keep WAL while this
// process is down, so a restart resumes where it stopped; when WAL is gone
// anyway (slot dropped) the hole is recorded, never papered over.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { scrubberFor } from '../db/migrate.js';
import { nextSegment, parseLsn, parseSegment, segmentEndLsn, formatLsn } from './chain.js';
import { BackupError, DEFAULT_PG_BIN, withoutPassword } from './full.js';
import { WAL, walKeys, type WalGap, type WalSidecar } from './manifest.js';
import { parseDuration } from '../runtime/duration.js';
import type { CommandIO } from './command.js';
import { writeReport } from './report.js';
import { storageFor, type Storage } from './storage.js';

export const DEFAULT_SLOT = 'cutover_wal';
export const DEFAULT_INTERVAL_MS = 5_000;

/** What pg_receivewal has written into its directory, by kind. */
export interface LocalWal {
  /** Finished segments, oldest first. */
  complete: string[];
  /** The open segment's name (without .partial), if any. */
  partial?: string;
  /** Timeline history files (00000002.history). */
  history: string[];
}

export function classifyLocal(files: readonly string[]): LocalWal {
  const complete = files.filter((f) => /^[0-9A-F]{24}$/.test(f)).sort();
  const partials = files
    .filter((f) => /^[0-9A-F]{24}\.partial$/.test(f))
    .map((f) => f.slice(0, 24))
    .sort();
  const history = files.filter((f) => /^[0-9A-F]{8}\.history$/.test(f)).sort();
  const partial = partials.at(-1);
  return { complete, history, ...(partial === undefined ? {} : { partial }) };
}

/**
 * The segments nobody will ever ship: the stream resumed after the next one
 * the storage expected, on the same timeline (the slot was dropped, or the
 * server removed WAL it no longer had to keep).
 */
export function gapBetween(
  lastStored: string | undefined,
  firstReceived: string | undefined,
): { from: string; to: string } | undefined {
  if (lastStored === undefined || firstReceived === undefined) return undefined;
  const stored = parseSegment(lastStored);
  const received = parseSegment(firstReceived);
  if (stored.timeline !== received.timeline || received.segNo <= stored.segNo + 1n) return undefined;
  return { from: nextSegment(lastStored), to: nextSegment(firstReceived, -1n) };
}

const LSN = /([0-9A-F]{1,8}\/[0-9A-F]{1,8})/g;

/**
 * What pg_waldump says about a segment: the newest commit or abort time
 * (what a time target can stop at) and, from its closing error, the LSN up
 * to which the records are valid.
 */
export function parseWaldump(stdout: string, stderr: string): { lastCommitAt?: string; endLsn?: string } {
  let lastCommitAt: string | undefined;
  for (const m of stdout.matchAll(
    /desc: (?:COMMIT|ABORT)\S* (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?) UTC/g,
  )) {
    const iso = new Date(`${m[1] ?? ''}T${m[2] ?? ''}Z`);
    if (!Number.isNaN(iso.getTime())) lastCommitAt = iso.toISOString();
  }
  const error = stderr.split('\n').find((l) => l.includes('error in WAL record at')) ?? '';
  const lsns = [...error.matchAll(LSN)].map((m) => parseLsn(m[1] ?? ''));
  const end = lsns.reduce<bigint | undefined>((a, b) => (a === undefined || b > a ? b : a), undefined);
  return {
    ...(lastCommitAt === undefined ? {} : { lastCommitAt }),
    ...(end === undefined ? {} : { endLsn: formatLsn(end) }),
  };
}

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

export interface WalStreamResult {
  shipped: number;
  lastSegment?: string;
  lastShippedAt?: string;
  gaps: WalGap[];
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

class Shipper {
  lastStored: string | undefined;
  private checkedGap = false;
  private readonly shippedHistory = new Set<string>();
  private lastPartial: { sidecar: WalSidecar; mtimeMs: number } | undefined;
  private readonly out: WalStreamResult = { shipped: 0, gaps: [] };

  constructor(
    private readonly storage: Storage,
    private readonly pgBin: string,
    private readonly now: () => Date,
    private readonly log: (line: string) => void,
  ) {}

  result(): WalStreamResult {
    return this.out;
  }

  async ship(dir: string, warn: (line: string) => void): Promise<void> {
    const local = classifyLocal(await readdir(dir));
    for (const name of local.history) {
      if (this.shippedHistory.has(name)) continue;
      await this.put(dir, name, {
        kind: 'history',
        segment: name.slice(0, 8),
        timeline: Number.parseInt(name.slice(0, 8), 16),
      });
      this.shippedHistory.add(name);
    }
    const first = local.complete[0] ?? local.partial;
    if (!this.checkedGap && first !== undefined) {
      this.checkedGap = true;
      await this.recordGap(first, warn);
    }
    for (const name of local.complete) {
      await this.put(dir, name, { kind: 'wal', segment: name, timeline: parseSegment(name).timeline });
      // The stored partial is superseded: sidecar first, so it never looks complete half-deleted.
      const partial = walKeys(name, true);
      await this.storage.delete(partial.sidecar);
      await this.storage.delete(partial.object);
      await rm(join(dir, name), { force: true });
      this.lastStored = name;
    }
    if (local.partial !== undefined) {
      await this.shipPartial(dir, local.partial).catch((err: unknown) => {
        // Renamed to its complete name between the listing and the read: shipped next time.
        if ((err as { code?: string }).code !== 'ENOENT') throw err;
      });
    }
  }

  /**
   * The open segment, again. Unwritten since the last time (an idle
   * database), only its sidecar is renewed: the stored object still holds
   * all of it, and re-uploading megabytes every interval would buy nothing.
   */
  private async shipPartial(dir: string, segment: string): Promise<void> {
    const before = await stat(join(dir, `${segment}.partial`));
    const last = this.lastPartial;
    if (last && last.sidecar.segment === segment && last.mtimeMs === before.mtimeMs) {
      const sidecar: WalSidecar = { ...last.sidecar, shippedAt: this.now().toISOString() };
      await this.storage.putText(walKeys(segment, true).sidecar, `${JSON.stringify(sidecar, null, 2)}\n`);
      this.lastPartial = { sidecar, mtimeMs: before.mtimeMs };
      this.out.lastShippedAt = sidecar.shippedAt;
      return;
    }
    const sidecar = await this.put(dir, `${segment}.partial`, {
      kind: 'wal',
      segment,
      timeline: parseSegment(segment).timeline,
      partial: true,
    });
    this.lastPartial = { sidecar, mtimeMs: before.mtimeMs };
  }

  private async recordGap(first: string, warn: (line: string) => void): Promise<void> {
    const gap = gapBetween(this.lastStored, first);
    if (!gap) return;
    const record: WalGap = {
      version: 1,
      kind: 'gap',
      timeline: parseSegment(first).timeline,
      ...gap,
      detectedAt: this.now().toISOString(),
    };
    await this.storage.putText(
      `${WAL}/gap-${gap.from}-${gap.to}.json`,
      `${JSON.stringify(record, null, 2)}\n`,
    );
    this.out.gaps.push(record);
    warn(
      `WAL gap: segments ${gap.from}..${gap.to} are gone from the server (was the slot dropped?); the chain is broken there until the next full backup`,
    );
  }

  /** Compresses a consistent copy of a local file and stores it with its sidecar. */
  private async put(
    dir: string,
    file: string,
    what: Pick<WalSidecar, 'kind' | 'segment' | 'timeline' | 'partial'>,
  ): Promise<WalSidecar> {
    const work = await mkdtemp(join(tmpdir(), 'cutover-ship-'));
    try {
      const shippedAt = this.now().toISOString();
      // The copy is the moment of reading; gzip and pg_waldump then work on still data.
      const plain = join(work, what.kind === 'history' ? file : what.segment);
      await copyFile(join(dir, file), plain);
      const gz = join(work, 'object.gz');
      const hash = createHash('sha256');
      let size = 0;
      const tap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      });
      await pipeline(createReadStream(plain), createGzip({ level: 3 }), tap, createWriteStream(gz));
      const facts = what.kind === 'wal' ? await this.inspect(work, what.segment) : {};
      const sidecar: WalSidecar = {
        version: 1,
        ...what,
        size,
        sha256: hash.digest('hex'),
        shippedAt,
        ...(facts.lastCommitAt ? { lastCommitAt: facts.lastCommitAt } : {}),
        ...(what.kind !== 'wal'
          ? {}
          : what.partial
            ? facts.endLsn
              ? { endLsn: facts.endLsn }
              : {}
            : { endLsn: segmentEndLsn(what.segment) }),
      };
      const keys = walKeys(what.kind === 'history' ? file : what.segment, what.partial === true);
      await this.storage.putFile(keys.object, gz);
      await this.storage.putText(keys.sidecar, `${JSON.stringify(sidecar, null, 2)}\n`);
      this.out.lastShippedAt = shippedAt;
      if (!what.partial) {
        this.out.shipped += 1;
        if (what.kind === 'wal') this.out.lastSegment = what.segment;
        this.log(`shipped ${keys.object} (${size} bytes)`);
      }
      return sidecar;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  private async inspect(dir: string, segment: string): Promise<{ lastCommitAt?: string; endLsn?: string }> {
    return new Promise((resolve) => {
      execFile(
        join(this.pgBin, 'pg_waldump'),
        ['-p', dir, '-r', 'Transaction', segment],
        { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC' }, maxBuffer: 256 * 1024 * 1024 },
        (_err, stdout, stderr) => resolve(parseWaldump(String(stdout), String(stderr))),
      );
    });
  }
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
