// Retention as a pure plan: what a store holds (read by prune.ts) in, one
// decision per unit out, each with the reason that gets logged. Deleting the
// wrong thing is the one mistake a backup tool cannot undo, so every rule
// errs towards keeping:
// - the keepAtLeast newest complete fulls stay whatever their age, and at
//   least one always does, so the only restorable chain is never deleted;
// - a full without a manifest (failed, or still running) never counts towards
//   keepAtLeast, so a failed newest backup cannot push a good one out;
// - WAL goes only when it lies before the start of the oldest full that
//   point-in-time restore within retention.incremental starts from, and never
//   inside a kept full's own WAL range;
// - anything not understood is left alone.
import { compareIds, timeOfId, type BackupManifest } from './manifest.js';
import type { DumpManifest } from './dump-manifest.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** A backup without a manifest younger than this may still be running. */
export const INCOMPLETE_SAFETY_MS = 24 * HOUR;
/** PostgreSQL's default WAL segment size: 256 segments per 4 GiB "log" file. */
const SEGMENTS_PER_LOG = 256;

export interface RetentionPolicy {
  /** retention.full: age after which fulls and dumps go. */
  fullMs: number;
  /** retention.incremental: how far back point-in-time restore must reach. */
  walMs: number;
  /** Newest complete fulls (and, separately, dumps) kept regardless of age. */
  keepAtLeast: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { fullMs: 30 * DAY, walMs: 7 * DAY, keepAtLeast: 3 };

export interface RetentionInput {
  fulls: readonly BackupManifest[];
  /** Ids under full/ that hold objects but no manifest. */
  incompleteFulls: readonly string[];
  /** Every key under wal/, as listed. */
  walKeys: readonly string[];
  dumps: readonly DumpManifest[];
  incompleteDumps: readonly string[];
  /** Units (full/<id>, dump/<id>) whose manifest exists but is not understood. */
  unreadable: readonly string[];
}

/** One storage operation; a unit's steps put its record (manifest, sidecar) first. */
export type Step = { op: 'delete'; key: string } | { op: 'remove'; prefix: string };

export interface Decision {
  kind: 'full' | 'dump' | 'wal';
  /** full/<id>, dump/<id> or wal/<name>. */
  unit: string;
  action: 'keep' | 'delete';
  reason: string;
  /** Empty for a keep. */
  steps: Step[];
}

export function planRetention(input: RetentionInput, policy: RetentionPolicy, now: Date): Decision[] {
  const fulls = decideBackups('full', input.fulls, policy, now);
  const keptFulls = input.fulls.filter((m) =>
    fulls.some((d) => d.unit === `full/${m.id}` && d.action === 'keep'),
  );
  return [
    ...fulls,
    ...input.incompleteFulls.map((id) => decideIncomplete('full', id, now)),
    ...decideWal(input.walKeys, keptFulls, policy, now),
    ...decideBackups('dump', input.dumps, policy, now),
    ...input.incompleteDumps.map((id) => decideIncomplete('dump', id, now)),
    ...input.unreadable.map((unit): Decision => ({
      kind: unit.startsWith('dump/') ? 'dump' : 'full',
      unit,
      action: 'keep',
      reason: 'manifest not understood (another version?): left alone',
      steps: [],
    })),
  ];
}

/** One log line per decision. */
export function describeDecision(d: Decision): string {
  return `${d.action} ${d.unit}: ${d.reason}`;
}

function decideBackups(
  kind: 'full' | 'dump',
  manifests: readonly { id: string; startedAt: string }[],
  policy: RetentionPolicy,
  now: Date,
): Decision[] {
  // At least one, whatever the policy says: the newest complete backup is the only sure restore.
  const keep = Math.max(1, policy.keepAtLeast);
  return [...manifests]
    .sort((a, b) => byIdDescending(a.id, b.id))
    .map((m, i): Decision => {
      const unit = `${kind}/${m.id}`;
      const age = now.getTime() - Date.parse(m.startedAt);
      if (i < keep) return keepIt(kind, unit, `one of the ${keep} newest complete ${kind}s (keepAtLeast)`);
      if (!(age > policy.fullMs))
        return keepIt(kind, unit, `${formatAge(age)} old, within retention.full ${formatAge(policy.fullMs)}`);
      return {
        kind,
        unit,
        action: 'delete',
        reason: `${formatAge(age)} old, past retention.full ${formatAge(policy.fullMs)}; ${keep} newer complete ${kind}s stay`,
        steps: [
          { op: 'delete', key: `${unit}/manifest.json` },
          { op: 'remove', prefix: unit },
        ],
      };
    });
}

function decideIncomplete(kind: 'full' | 'dump', id: string, now: Date): Decision {
  const unit = `${kind}/${id}`;
  const at = timeOfId(id);
  if (at === undefined) return keepIt(kind, unit, 'not a backup id: left alone');
  const age = now.getTime() - at.getTime();
  if (!(age > INCOMPLETE_SAFETY_MS))
    return keepIt(kind, unit, `no manifest, ${formatAge(age)} old: may still be running`);
  return {
    kind,
    unit,
    action: 'delete',
    reason: `no manifest and ${formatAge(age)} old: what a failed ${kind} left (never counted as a backup)`,
    steps: [{ op: 'remove', prefix: unit }],
  };
}

interface WalEntry {
  /** wal/<name> without the extension. */
  unit: string;
  kind: 'segment' | 'partial' | 'history' | 'unknown';
  /** Segment number (LSN / 16 MiB) of a segment or partial. */
  segno: number;
  sidecar?: string;
  object?: string;
}

function decideWal(
  keys: readonly string[],
  keptFulls: readonly BackupManifest[],
  policy: RetentionPolicy,
  now: Date,
): Decision[] {
  const entries = walEntries(keys);
  if (keptFulls.length === 0) {
    return entries.map((e) =>
      keepIt('wal', e.unit, 'no complete full backup: all WAL stays until one exists'),
    );
  }
  const base = walBase(keptFulls, now.getTime() - policy.walMs);
  const horizon = segnoOf(base.startLsn);
  const ranges = keptFulls.map((m) => ({ id: m.id, from: segnoOf(m.startLsn), to: segnoOf(m.endLsn) }));
  const complete = new Set(entries.filter((e) => e.kind === 'segment' && e.sidecar).map((e) => e.unit));
  const newestPartial = entries
    .filter((e) => e.kind === 'partial')
    .reduce<WalEntry | undefined>((a, e) => (a === undefined || e.unit > a.unit ? e : a), undefined);
  const baseName = `start of full ${base.id} (${base.startLsn})`;

  return entries.map((e): Decision => {
    if (e.kind === 'history')
      return keepIt('wal', e.unit, 'timeline history: small, and needed to follow a timeline');
    if (e.kind === 'unknown') return keepIt('wal', e.unit, 'not a WAL object name: left alone');
    if (e === newestPartial)
      return keepIt('wal', e.unit, 'the newest partial segment: WAL still being written');
    if (e.kind === 'partial' && complete.has(e.unit.replace(/\.partial$/, '')))
      return deleteWal(e, 'superseded by its complete segment');
    if (e.segno >= horizon) return keepIt('wal', e.unit, `at or after the ${baseName}`);
    const owner = ranges.find((r) => e.segno >= r.from && e.segno <= r.to);
    if (owner) return keepIt('wal', e.unit, `inside the WAL range of kept full ${owner.id}`);
    return deleteWal(
      e,
      `before the ${baseName}, the oldest full point-in-time restore within retention.incremental ${formatAge(policy.walMs)} needs`,
    );
  });
}

/**
 * The full a restore to the oldest point within retention.incremental starts
 * from: the newest kept full that was finished by then (a full is a starting
 * point only from its end), or the oldest kept full when none was.
 */
function walBase(keptFulls: readonly BackupManifest[], cutoff: number): BackupManifest {
  const newestFirst = [...keptFulls].sort((a, b) => byIdDescending(a.id, b.id));
  const finished = newestFirst.find((m) => Date.parse(m.finishedAt) <= cutoff);
  return finished ?? (newestFirst.at(-1) as BackupManifest);
}

function deleteWal(e: WalEntry, reason: string): Decision {
  const steps: Step[] = [];
  if (e.sidecar) steps.push({ op: 'delete', key: e.sidecar });
  if (e.object) steps.push({ op: 'delete', key: e.object });
  return { kind: 'wal', unit: e.unit, action: 'delete', reason, steps };
}

const SEGMENT = /^wal\/([0-9A-F]{24})(\.partial)?\.(gz|json)$/;
const HISTORY = /^wal\/([0-9A-F]{8}\.history)\.(gz|json)$/;

/** Groups the listing into units: a segment's object and sidecar are one. */
function walEntries(keys: readonly string[]): WalEntry[] {
  const byUnit = new Map<string, WalEntry>();
  for (const key of keys) {
    const seg = SEGMENT.exec(key);
    const hist = seg ? undefined : HISTORY.exec(key);
    const unit = seg ? `wal/${seg[1] ?? ''}${seg[2] ?? ''}` : hist ? `wal/${hist[1] ?? ''}` : key;
    const entry = byUnit.get(unit) ?? {
      unit,
      kind: seg ? (seg[2] ? 'partial' : 'segment') : hist ? 'history' : 'unknown',
      segno: seg ? segnoOfName(seg[1] ?? '') : 0,
    };
    const ext = seg?.[3] ?? hist?.[2];
    if (ext === 'json') entry.sidecar = key;
    else entry.object = key;
    byUnit.set(unit, entry);
  }
  return [...byUnit.values()].sort((a, b) => a.segno - b.segno || (a.unit < b.unit ? -1 : 1));
}

/** Segment number of an LSN such as 0/3000028: which 16 MiB segment holds it. */
export function segnoOf(lsn: string): number {
  const m = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(lsn);
  if (!m) throw new Error(`${lsn}: not an LSN`);
  return parseInt(m[1] ?? '', 16) * SEGMENTS_PER_LOG + Math.floor(parseInt(m[2] ?? '', 16) / 2 ** 24);
}

/** The file name PostgreSQL gives the segment holding `lsn` on `timeline`. */
export function segmentName(timeline: number, lsn: string): string {
  const segno = segnoOf(lsn);
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  return hex(timeline) + hex(Math.floor(segno / SEGMENTS_PER_LOG)) + hex(segno % SEGMENTS_PER_LOG);
}

// The timeline (first 8 digits) does not order segments: replay from a full
// goes forward by position whichever timeline it follows.
function segnoOfName(name: string): number {
  return parseInt(name.slice(8, 16), 16) * SEGMENTS_PER_LOG + parseInt(name.slice(16, 24), 16);
}

// Where it always was: the id's format now lives beside backupId.
export { timeOfId };

export function formatAge(ms: number): string {
  if (ms >= DAY && ms % DAY === 0) return `${ms / DAY}d`;
  if (ms >= DAY) return `${(ms / DAY).toFixed(1)}d`;
  if (ms >= HOUR) return `${Math.floor(ms / HOUR)}h`;
  return `${Math.max(0, Math.floor(ms / 60_000))}m`;
}

function keepIt(kind: Decision['kind'], unit: string, reason: string): Decision {
  return { kind, unit, action: 'keep', reason, steps: [] };
}

function byIdDescending(a: string, b: string): number {
  return compareIds(b, a);
}
