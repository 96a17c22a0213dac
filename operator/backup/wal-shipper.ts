// The shipping half of continuous WAL: what pg_receivewal wrote into its
// directory, classified, and shipped to storage: a finished segment once
// (object, sidecar, then the stored partial of it goes), the open one at
// every interval, timeline history files, and gaps recorded when WAL the
// chain needs is gone.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { nextSegment, parseLsn, parseSegment, segmentEndLsn, formatLsn } from './chain.js';
import { WAL, walKeys, type WalGap, type WalSidecar } from './manifest.js';
import type { Storage } from './storage.js';

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

export interface WalStreamResult {
  shipped: number;
  lastSegment?: string;
  lastShippedAt?: string;
  gaps: WalGap[];
}

export class Shipper {
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
