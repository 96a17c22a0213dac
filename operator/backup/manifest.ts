// The record of one backup, written last: a backup without its manifest is
// not a backup (a crash mid-upload leaves objects, never something that looks
// complete). Pure: reading, checking and choosing manifests.

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
}

export const MANIFEST = 'manifest.json';
export const FULL = 'full';

/** An id that sorts by time: 20261202T152630Z. */
export function backupId(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
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
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null) return undefined;
  const o = m as Partial<BackupManifest>;
  const ok =
    o.version === 1 &&
    o.kind === 'full' &&
    typeof o.id === 'string' &&
    typeof o.endLsn === 'string' &&
    Array.isArray(o.files) &&
    o.files.every(
      (f) => typeof f.name === 'string' && typeof f.sha256 === 'string' && typeof f.size === 'number',
    );
  return ok ? (o as BackupManifest) : undefined;
}

/** The newest complete backup, or the one named `id`. */
export function chooseBackup(manifests: readonly BackupManifest[], id?: string): BackupManifest | undefined {
  if (id !== undefined) return manifests.find((m) => m.id === id);
  return [...manifests].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))[0];
}
