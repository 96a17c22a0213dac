// The chain: which fulls are stored, which WAL follows each of them without a
// hole, and so the span of time a restore can reach. Pure, apart from
// readChain, which lists and parses the storage (the source of truth: the
// operator's status and the prune and restore commands all read it here).
import {
  WAL,
  compareIds,
  parseWalGap,
  parseWalSidecar,
  type BackupManifest,
  type WalGap,
  type WalSidecar,
} from './manifest.js';
import { listBackups } from './restore.js';
import type { Storage } from './storage.js';

/** PostgreSQL's default, and the only size this code supports: --wal-segsize at initdb changes it. */
export const SEGMENT_BYTES = 16n * 1024n * 1024n;
const SEGMENTS_PER_XLOGID = 0x1_0000_0000n / SEGMENT_BYTES;

export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(lsn);
  if (!m) throw new Error(`${lsn}: not an LSN (expected hex/hex, e.g. 0/3000148)`);
  return (BigInt(`0x${m[1] ?? '0'}`) << 32n) | BigInt(`0x${m[2] ?? '0'}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

function hex8(n: bigint | number): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

export function segmentName(timeline: number, segNo: bigint): string {
  return `${hex8(timeline)}${hex8(segNo / SEGMENTS_PER_XLOGID)}${hex8(segNo % SEGMENTS_PER_XLOGID)}`;
}

/** The timeline and sequence number in a segment's name. */
export function parseSegment(name: string): { timeline: number; segNo: bigint } {
  const m = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/.exec(name);
  if (!m) throw new Error(`${name}: not a WAL segment name`);
  const timeline = Number.parseInt(m[1] ?? '', 16);
  return { timeline, segNo: BigInt(`0x${m[2] ?? ''}`) * SEGMENTS_PER_XLOGID + BigInt(`0x${m[3] ?? ''}`) };
}

/** The segment that holds `lsn` on `timeline`. */
export function segmentOf(timeline: number, lsn: string): string {
  return segmentName(timeline, parseLsn(lsn) / SEGMENT_BYTES);
}

export function nextSegment(name: string, by = 1n): string {
  const { timeline, segNo } = parseSegment(name);
  return segmentName(timeline, segNo + by);
}

export function segmentStartLsn(name: string): string {
  return formatLsn(parseSegment(name).segNo * SEGMENT_BYTES);
}

/** Where the segment's WAL ends: the first byte of the next one. */
export function segmentEndLsn(name: string): string {
  return formatLsn((parseSegment(name).segNo + 1n) * SEGMENT_BYTES);
}

export interface WalIndex {
  complete: ReadonlyMap<string, WalSidecar>;
  partial: ReadonlyMap<string, WalSidecar>;
  history: readonly WalSidecar[];
  gaps: readonly WalGap[];
}

export function indexWal(wal: readonly WalSidecar[], gaps: readonly WalGap[] = []): WalIndex {
  const complete = new Map<string, WalSidecar>();
  const partial = new Map<string, WalSidecar>();
  const history: WalSidecar[] = [];
  for (const s of wal) {
    if (s.kind === 'history') history.push(s);
    else if (s.partial) partial.set(s.segment, s);
    else complete.set(s.segment, s);
  }
  return { complete, partial, history, gaps };
}

export interface WalRun {
  /** The segments to replay after the full, in order; a partial one last. */
  segments: WalSidecar[];
  /** The first segment the run needs and does not have. */
  missing: string;
}

/**
 * The WAL that continues `full` without a hole: from the segment holding the
 * backup's end (the earlier ones are in the backup itself) for as long as
 * complete segments follow, then the open one if it is stored.
 */
export function walRun(full: BackupManifest, index: WalIndex): WalRun {
  const segments: WalSidecar[] = [];
  let at = segmentOf(full.timeline, full.endLsn);
  // pg_basebackup -X fetch (WAL inside base.tar.gz) ends the backup with a
  // switch to a new segment and only then reads the one holding the end, so
  // the backup carries that segment whole: a slot created just after the
  // full starts the WAL with the next one. (-X stream, pg_wal.tar.gz, stops
  // at the end LSN: its last segment is not whole.)
  const stored = (name: string): boolean => index.complete.has(name) || index.partial.has(name);
  const fetched = !full.files.some((f) => f.name === 'pg_wal.tar.gz');
  if (fetched && !stored(at) && stored(nextSegment(at))) at = nextSegment(at);
  for (let s = index.complete.get(at); s; s = index.complete.get(at)) {
    segments.push(s);
    at = nextSegment(at);
  }
  const open = index.partial.get(at);
  if (open) {
    segments.push(open);
    at = nextSegment(at);
  }
  return { segments, missing: at };
}

export interface Chain {
  /** Complete fulls, newest first. */
  fulls: BackupManifest[];
  /** Stored complete segments on the newest full's timeline. */
  segments?: { first: string; last: string; count: number };
  /** The earliest time a restore can reach with WAL replayed up to any later point. */
  firstRecoverabilityPoint?: string;
  /** The latest time a restore can reach. */
  lastRecoverabilityPoint?: string;
  /** The newest commit in the WAL that reaches lastRecoverabilityPoint. */
  lastCommitAt?: string;
  /** How long ago the newest WAL object was shipped. */
  walBehindSeconds?: number;
  /** Stored WAL after a hole: it cannot be replayed from the newest full. */
  broken?: { from: string; reason: string };
}

const newestFirst = (a: BackupManifest, b: BackupManifest): number => compareIds(b.id, a.id);
const later = (a: string | undefined, b: string | undefined): string | undefined =>
  a === undefined ? b : b === undefined ? a : Date.parse(a) >= Date.parse(b) ? a : b;

export function chainOf(
  fullsIn: readonly BackupManifest[],
  wal: readonly WalSidecar[],
  gaps: readonly WalGap[],
  now: Date,
): Chain {
  const fulls = [...fullsIn].sort(newestFirst);
  const index = indexWal(wal, gaps);
  const shipped = wal.filter((s) => s.kind === 'wal').map((s) => s.shippedAt);
  const newestShip = shipped.reduce<string | undefined>((a, b) => later(a, b), undefined);
  const chain: Chain = {
    fulls,
    ...(newestShip === undefined
      ? {}
      : { walBehindSeconds: Math.max(0, (now.getTime() - Date.parse(newestShip)) / 1000) }),
  };
  const newest = fulls[0];
  if (!newest) return chain;

  const names = [...index.complete.keys()].filter((n) => parseSegment(n).timeline === newest.timeline).sort();
  const [first] = names;
  const last = names.at(-1);
  if (first !== undefined && last !== undefined) chain.segments = { first, last, count: names.length };

  const run = walRun(newest, index);
  const reached = run.segments.at(-1);
  chain.lastRecoverabilityPoint = later(newest.finishedAt, reached?.shippedAt);
  const lastCommitAt = run.segments.reduce<string | undefined>((a, s) => later(a, s.lastCommitAt), undefined);
  if (lastCommitAt !== undefined) chain.lastCommitAt = lastCommitAt;

  // The oldest full whose WAL reaches the newest one's: every point from its end on is reachable.
  const newestStart = parseSegment(segmentOf(newest.timeline, newest.endLsn)).segNo;
  let firstPoint = newest.finishedAt;
  for (const f of fulls.slice(1)) {
    if (f.timeline !== newest.timeline) break;
    if (parseSegment(walRun(f, index).missing).segNo <= newestStart) break;
    firstPoint = f.finishedAt;
  }
  chain.firstRecoverabilityPoint = firstPoint;

  const beyond = [...index.complete.keys(), ...index.partial.keys()].some(
    (n) => parseSegment(n).timeline === newest.timeline && n > run.missing,
  );
  if (beyond) {
    // A partial may precede the hole: what it holds is good, the rest of its segment is lost.
    const open = run.segments.at(-1)?.partial ? run.segments.at(-1)?.segment : undefined;
    const gap = gaps.find(
      (g) =>
        g.timeline === newest.timeline &&
        [run.missing, open].some((s) => s !== undefined && g.from <= s && s <= g.to),
    );
    chain.broken = {
      from: gap?.from ?? run.missing,
      reason: gap
        ? `WAL ${gap.from}..${gap.to} was never received (the WAL process found it gone from the server at ${gap.detectedAt}); take a new full backup`
        : `WAL segment ${run.missing} is missing from the storage`,
    };
  }
  return chain;
}

export interface StoredWal {
  wal: WalSidecar[];
  gaps: WalGap[];
}

/** Every WAL sidecar whose object is stored too, and the gap records. */
// Sidecars are small and many (one per 16 MiB of WAL): read a few at a time.
const READ_CONCURRENCY = 16;

/**
 * `cache`: sidecars already read, by key. A sealed segment's sidecar never
 * changes, so a caller that reads the chain every few seconds (the operator)
 * reads each once; the open partial's is read afresh every time.
 */
export async function readWal(storage: Storage, cache?: Map<string, string>): Promise<StoredWal> {
  const keys = new Set(await storage.list(WAL));
  const sidecars = [...keys].filter((k) => k.endsWith('.json')).sort();
  if (cache) for (const k of cache.keys()) if (!keys.has(k)) cache.delete(k);
  const texts: Array<string | undefined> = new Array<string | undefined>(sidecars.length);
  let next = 0;
  const read = async (key: string): Promise<string | undefined> => {
    const hit = cache?.get(key);
    if (hit !== undefined) return hit;
    const text = await storage.getText(key);
    if (cache && text !== undefined && !key.includes('.partial.')) cache.set(key, text);
    return text;
  };
  const reader = async (): Promise<void> => {
    for (let i = next++; i < sidecars.length; i = next++) texts[i] = await read(sidecars[i] ?? '');
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, sidecars.length) }, reader));
  const wal: WalSidecar[] = [];
  const gaps: WalGap[] = [];
  sidecars.forEach((key, i) => {
    const text = texts[i];
    if (text === undefined) return;
    if (key.startsWith(`${WAL}/gap-`)) {
      const gap = parseWalGap(text);
      if (gap) gaps.push(gap);
      return;
    }
    const sidecar = parseWalSidecar(text);
    if (sidecar && keys.has(key.replace(/\.json$/, '.gz'))) wal.push(sidecar);
  });
  return { wal, gaps };
}

export async function readChain(
  storage: Storage,
  now: Date = new Date(),
): Promise<Chain & StoredWal & { index: WalIndex }> {
  const [fulls, stored] = await Promise.all([listBackups(storage), readWal(storage)]);
  return {
    ...chainOf(fulls, stored.wal, stored.gaps, now),
    ...stored,
    index: indexWal(stored.wal, stored.gaps),
  };
}
