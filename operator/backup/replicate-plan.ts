// What a second-region copy still lacks, as a pure function of what each
// location holds. A unit is what becomes visible as a whole: a full backup or
// a dump (its objects, then manifest.json), or one WAL file (its .gz, then its
// sidecar). Units are read only from their record (manifest or sidecar),
// which is written last, so a unit still being written is never seen.
import { parseJson } from './manifest.js';

export type UnitKind = 'full' | 'dump' | 'wal' | 'history';

export interface StoredObject {
  key: string;
  size: number;
  /** sha256 (hex) of the object as stored, from the record. */
  sha256: string;
}

export interface Unit {
  kind: UnitKind;
  /** full/<id>, dump/<id> or wal/<name>: the same at every location. */
  key: string;
  /** The manifest or sidecar: written last at a replica, first removed by prune. */
  recordKey: string;
  /** The record exactly as the primary stores it: replicas get the same bytes. */
  record: string;
  objects: StoredObject[];
  /** When its content was sealed: finishedAt of a full or dump, shippedAt of a WAL file. */
  sealedAt: string;
  /** The open WAL segment, re-shipped every interval: its content changes under the same key. */
  partial: boolean;
}

const WAL_NAME = /^(?:[0-9A-F]{24}(?:\.partial)?|[0-9A-F]{8}\.history)$/;
const BACKUP_ID = /^[0-9A-Za-z][0-9A-Za-z._-]*$/;
const SHA256 = /^[0-9a-f]{64}$/;

/** The unit a record describes; undefined when the key or text is not one of ours. */
export function unitFromRecord(recordKey: string, text: string): Unit | undefined {
  const parsed = parseJson(text);
  if (!parsed) return undefined;
  const backup = /^(full|dump)\/([^/]+)\/manifest\.json$/.exec(recordKey);
  if (backup) return backupUnit(backup[1] as 'full' | 'dump', backup[2] ?? '', recordKey, text, parsed);
  const wal = /^wal\/([^/]+)\.json$/.exec(recordKey);
  if (wal) return walUnit(wal[1] ?? '', recordKey, text, parsed);
  return undefined;
}

function backupUnit(
  kind: 'full' | 'dump',
  id: string,
  recordKey: string,
  text: string,
  m: Record<string, unknown>,
): Unit | undefined {
  if (!BACKUP_ID.test(id) || m.version !== 1 || m.kind !== kind || m.id !== id) return undefined;
  if (!isTime(m.finishedAt) || !Array.isArray(m.files)) return undefined;
  const objects: StoredObject[] = [];
  for (const f of m.files as unknown[]) {
    const file = (typeof f === 'object' && f !== null ? f : {}) as Record<string, unknown>;
    const { name, size, sha256 } = file;
    if (typeof name !== 'string' || !BACKUP_ID.test(name) || name === 'manifest.json') return undefined;
    if (typeof size !== 'number' || typeof sha256 !== 'string' || !SHA256.test(sha256)) return undefined;
    objects.push({ key: `${kind}/${id}/${name}`, size, sha256 });
  }
  return {
    kind,
    key: `${kind}/${id}`,
    recordKey,
    record: text,
    objects,
    sealedAt: m.finishedAt,
    partial: false,
  };
}

function walUnit(
  name: string,
  recordKey: string,
  text: string,
  s: Record<string, unknown>,
): Unit | undefined {
  if (!WAL_NAME.test(name) || s.version !== 1) return undefined;
  const kind = name.endsWith('.history') ? 'history' : 'wal';
  if (s.kind !== kind || !isTime(s.shippedAt)) return undefined;
  if (typeof s.size !== 'number' || typeof s.sha256 !== 'string' || !SHA256.test(s.sha256)) return undefined;
  return {
    kind,
    key: `wal/${name}`,
    recordKey,
    record: text,
    objects: [{ key: `wal/${name}.gz`, size: s.size, sha256: s.sha256 }],
    sealedAt: s.shippedAt,
    partial: name.endsWith('.partial'),
  };
}

/** Two units with the same fingerprint hold the same bytes. */
export function fingerprint(u: Unit): string {
  return u.objects
    .map((o) => `${o.key}:${o.sha256}`)
    .sort()
    .join('\n');
}

export interface ReplicationPlan {
  /** Units the replica lacks or holds in another version, oldest first. */
  copy: Unit[];
  /** now − sealedAt of the oldest of them; 0 when the replica is in sync. */
  lagSeconds: number;
}

export function replicationPlan(
  primary: readonly Unit[],
  replica: readonly Unit[],
  now: Date,
): ReplicationPlan {
  const held = new Map(replica.map((u) => [u.key, fingerprint(u)]));
  const copy = primary
    .filter((u) => held.get(u.key) !== fingerprint(u))
    .sort((a, b) => sealedMs(a) - sealedMs(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { copy, lagSeconds: lagSeconds(copy, now) };
}

/** How far behind a location is that lacks `missing`: the age of the oldest, never negative. */
export function lagSeconds(missing: readonly Unit[], now: Date): number {
  if (missing.length === 0) return 0;
  const oldest = Math.min(...missing.map(sealedMs));
  return Math.max(0, Math.round((now.getTime() - oldest) / 100) / 10);
}

function sealedMs(u: Unit): number {
  return Date.parse(u.sealedAt);
}

function isTime(v: unknown): v is string {
  return typeof v === 'string' && !Number.isNaN(Date.parse(v));
}
