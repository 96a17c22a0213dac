// The record of one backup, written last: a backup without its manifest is
// not a backup (a crash mid-upload leaves objects, never something that looks
// complete). Pure (apart from a new id's random part): reading, checking and
// choosing manifests.
import { randomBytes } from 'node:crypto';

export interface BackupFile {
  name: string;
  size: number;
  /** sha256 (hex) of the object as stored. */
  sha256: string;
}

export interface BackupManifest {
  version: 1;
  id: string;
  kind: 'full';
  startedAt: string;
  finishedAt: string;
  /** WAL range the backup needs to be consistent, from PostgreSQL's own backup_manifest. */
  timeline: number;
  startLsn: string;
  endLsn: string;
  /** Sum of the stored objects' sizes, in bytes. */
  size: number;
  files: BackupFile[];
  /**
   * What verify compares a restore with: the database the URL named, the role
   * it connected as, and each user table's estimated row count ("schema.table",
   * pg_class.reltuples, -1 never analysed), read right after the base backup. Absent in manifests from before verify.
   */
  database?: string;
  role?: string;
  tables?: Record<string, number>;
}

export const MANIFEST = 'manifest.json';
export const FULL = 'full';

/**
 * An id that sorts by time and is unique: 20261202T152630.123Z-3f9a. Fulls
 * can start in the same second (a Release's pre-contract backup, the CronJob,
 * `backup now`), and two writers under one prefix can delete or mix each
 * other's objects: milliseconds and 16 random bits keep them apart. `suffix`
 * is for tests that need a fixed id.
 */
export function backupId(at: Date, suffix: string = randomBytes(2).toString('hex')): string {
  return `${at.toISOString().replace(/[-:]/g, '')}-${suffix}`;
}

// Ids from before the milliseconds and suffix (20261202T152630Z) are still
// stored and must keep parsing: both parts are optional.
const ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.(\d{3}))?Z(?:-([0-9a-f]+))?$/;

/** The start time a backup id (20261202T152630.123Z-3f9a, or 20261202T152630Z) encodes. */
export function timeOfId(id: string): Date | undefined {
  const m = ID.exec(id);
  if (!m) return undefined;
  const at = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7] ?? '000'}Z`);
  // Date rolls 20261302 over into January; an id that does not round-trip is not one.
  return Number.isNaN(at.getTime()) ||
    at.getUTCMonth() + 1 !== Number(m[2]) ||
    at.getUTCDate() !== Number(m[3])
    ? undefined
    : at;
}

/**
 * Oldest first. By the time the ids encode, then as strings: as strings alone,
 * an old id (…30Z) would sort after a new one of the same second (…30.500Z-…).
 */
export function compareIds(a: string, b: string): number {
  const ta = timeOfId(a)?.getTime();
  const tb = timeOfId(b)?.getTime();
  if (ta !== undefined && tb !== undefined && ta !== tb) return ta - tb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The WAL range in PostgreSQL's backup_manifest (the JSON pg_basebackup writes beside the backup). */
export function walRangeOf(pgManifest: string): { timeline: number; startLsn: string; endLsn: string } {
  const parsed: unknown = JSON.parse(pgManifest);
  const ranges = (parsed as { 'WAL-Ranges'?: unknown })['WAL-Ranges'];
  const first: unknown = Array.isArray(ranges) ? ranges[0] : undefined;
  const r = (first ?? {}) as Record<string, unknown>;
  if (
    typeof r.Timeline !== 'number' ||
    typeof r['Start-LSN'] !== 'string' ||
    typeof r['End-LSN'] !== 'string'
  ) {
    throw new Error('backup_manifest has no WAL range');
  }
  return { timeline: r.Timeline, startLsn: r['Start-LSN'], endLsn: r['End-LSN'] };
}

/** Parses a stored manifest; undefined when it is not one (a foreign file, a newer format). */
export function parseManifest(text: string): BackupManifest | undefined {
  const m = parseJson(text);
  if (!m) return undefined;
  const o = m as Partial<BackupManifest>;
  const ok =
    o.version === 1 &&
    o.kind === 'full' &&
    typeof o.id === 'string' &&
    typeof o.endLsn === 'string' &&
    isFileList(o.files);
  return ok ? (o as BackupManifest) : undefined;
}

/** The newest complete backup, or the one named `id`. */
export function chooseBackup(manifests: readonly BackupManifest[], id?: string): BackupManifest | undefined {
  if (id !== undefined) return manifests.find((m) => m.id === id);
  return [...manifests].sort((a, b) => compareIds(b.id, a.id))[0];
}

export const WAL = 'wal';

/**
 * The record of one stored WAL object (`wal/<name>.gz`), written after the
 * object: a segment exists only when its sidecar does and matches.
 */
export interface WalSidecar {
  version: 1;
  kind: 'wal' | 'history';
  /** 24 hex digits for a segment (000000010000000000000003), 8 for a history file's timeline. */
  segment: string;
  timeline: number;
  /** Bytes of the stored .gz. */
  size: number;
  /** sha256 (hex) of the stored .gz. */
  sha256: string;
  /** When the content was read: everything the server had streamed before is in it. */
  shippedAt: string;
  /** The open segment, re-shipped every interval until it is complete. */
  partial?: true;
  /** The WAL is valid up to at least here (a lower bound; for a partial, where the valid data ends). */
  endLsn?: string;
  /** The newest commit timestamp in the object, when it holds one. */
  lastCommitAt?: string;
}

/** Where the WAL process found a hole it cannot fill (`wal/gap-<from>-<to>.json`). */
export interface WalGap {
  version: 1;
  kind: 'gap';
  timeline: number;
  /** First missing segment. */
  from: string;
  /** Last missing segment. */
  to: string;
  detectedAt: string;
}

const SEGMENT_NAME = /^[0-9A-F]{24}$/;
const HISTORY_NAME = /^[0-9A-F]{8}$/;

/** The objects a manifest lists, each with its name, size and sha256. */
export function isFileList(files: unknown): files is BackupFile[] {
  return (
    Array.isArray(files) &&
    files.every(
      (f: Partial<BackupFile>) =>
        typeof f.name === 'string' && typeof f.sha256 === 'string' && typeof f.size === 'number',
    )
  );
}

/** A JSON object, or undefined for anything else (bad JSON, an array, a scalar). */
export function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Parses a stored WAL sidecar; undefined when it is not one. */
export function parseWalSidecar(text: string): WalSidecar | undefined {
  const o = parseJson(text);
  if (!o || o.version !== 1 || (o.kind !== 'wal' && o.kind !== 'history')) return undefined;
  const name = o.kind === 'wal' ? SEGMENT_NAME : HISTORY_NAME;
  const ok =
    typeof o.segment === 'string' &&
    name.test(o.segment) &&
    typeof o.timeline === 'number' &&
    typeof o.size === 'number' &&
    typeof o.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(o.sha256) &&
    typeof o.shippedAt === 'string' &&
    !Number.isNaN(Date.parse(o.shippedAt)) &&
    (o.partial === undefined || o.partial === true) &&
    (o.endLsn === undefined || typeof o.endLsn === 'string') &&
    (o.lastCommitAt === undefined || typeof o.lastCommitAt === 'string');
  return ok ? (o as unknown as WalSidecar) : undefined;
}

/** Parses a stored gap record; undefined when it is not one. */
export function parseWalGap(text: string): WalGap | undefined {
  const o = parseJson(text);
  const ok =
    o !== undefined &&
    o.version === 1 &&
    o.kind === 'gap' &&
    typeof o.timeline === 'number' &&
    typeof o.from === 'string' &&
    SEGMENT_NAME.test(o.from) &&
    typeof o.to === 'string' &&
    SEGMENT_NAME.test(o.to) &&
    typeof o.detectedAt === 'string';
  return ok ? (o as unknown as WalGap) : undefined;
}

/** Storage keys of a WAL object and its sidecar: `wal/<name>[.partial].gz` and `.json`. */
export function walKeys(name: string, partial = false): { object: string; sidecar: string } {
  const base = `${WAL}/${name}${partial ? '.partial' : ''}`;
  return { object: `${base}.gz`, sidecar: `${base}.json` };
}
