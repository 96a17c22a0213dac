// The record of one logical dump (pg_dump -Fc), written last like a full
// backup's. Pure: the type, its parser, and the source it names.
import { isFileList, parseJson, type BackupFile } from './manifest.js';

export const DUMP = 'dump';
export const DUMP_FILE = 'db.dump';

export interface DumpManifest {
  version: 1;
  kind: 'dump';
  id: string;
  startedAt: string;
  finishedAt: string;
  /** The dumped database's name. */
  database: string;
  /**
   * Where it was dumped from, without credentials: a restore into this same
   * database is refused unless asked for explicitly.
   */
  host: string;
  port: number;
  size: number;
  files: BackupFile[];
}

export interface DatabaseAddress {
  host: string;
  port: number;
  database: string;
}

/** Host, port and database of a postgres:// URL, with libpq's defaults; never the credentials. */
export function addressOf(databaseUrl: string): DatabaseAddress {
  const u = new URL(databaseUrl);
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username);
  return { host: u.hostname || 'localhost', port: Number(u.port || 5432), database };
}

// Different spellings of this machine name the same server.
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function sameDatabase(a: DatabaseAddress, b: DatabaseAddress): boolean {
  const host = (h: string) => (LOOPBACK.has(h.toLowerCase()) ? 'localhost' : h.toLowerCase());
  return host(a.host) === host(b.host) && a.port === b.port && a.database === b.database;
}

export function parseDumpManifest(text: string): DumpManifest | undefined {
  const m = parseJson(text);
  if (!m) return undefined;
  const o = m as Partial<DumpManifest>;
  const ok =
    o.version === 1 &&
    o.kind === 'dump' &&
    typeof o.id === 'string' &&
    typeof o.startedAt === 'string' &&
    typeof o.database === 'string' &&
    typeof o.host === 'string' &&
    typeof o.port === 'number' &&
    isFileList(o.files);
  return ok ? (o as DumpManifest) : undefined;
}
