// A migration set: files named NNN_name.up.sql / NNN_name.down.sql, usually
// mounted from a ConfigMap. Parsing is pure; only loadMigrationDir touches
// the filesystem.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SqlFile } from './lint.js';

export type { SqlFile };

export interface Migration {
  /** The NNN prefix as a number; leading zeros do not make a different version. */
  version: number;
  /** The part between `NNN_` and `.up.sql`. */
  name: string;
  up: SqlFile;
  down?: SqlFile;
  /** sha256 (hex) of the up file's UTF-8 bytes. */
  checksum: string;
}

export class MigrationSetError extends Error {
  override name = 'MigrationSetError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

// The name part is restricted so that `.up.sql`/`.down.sql` is unambiguous
// and the file name is safe to print and to store.
const FILE_NAME = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_-]*)\.(up|down)\.sql$/;

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql, 'utf8').digest('hex');
}

/** Validates file names and pairs up/down files; the result is sorted by version. */
export function parseMigrationSet(files: readonly SqlFile[]): Migration[] {
  const seenNames = new Set<string>();
  const ups = new Map<number, SqlFile & { label: string }>();
  const downs = new Map<number, SqlFile & { label: string }>();

  for (const file of files) {
    if (seenNames.has(file.name))
      throw new MigrationSetError(file.name, 'appears twice in the migration set');
    seenNames.add(file.name);
    const m = FILE_NAME.exec(file.name);
    if (!m) {
      throw new MigrationSetError(
        file.name,
        'is not a migration file name: expected NNN_name.up.sql or NNN_name.down.sql (name: letters, digits, _ and -)',
      );
    }
    const [, digits = '', label = '', direction] = m;
    const version = Number(digits);
    if (!Number.isSafeInteger(version)) {
      throw new MigrationSetError(
        file.name,
        `version ${digits} is too large (at most ${Number.MAX_SAFE_INTEGER})`,
      );
    }
    const target = direction === 'up' ? ups : downs;
    const other = target.get(version);
    if (other) {
      throw new MigrationSetError(file.name, `has the same version ${version} as ${other.name}`);
    }
    target.set(version, { ...file, label });
  }

  for (const [version, down] of downs) {
    const up = ups.get(version);
    if (!up)
      throw new MigrationSetError(down.name, `is a down file without an up file for version ${version}`);
    if (up.label !== down.label) {
      throw new MigrationSetError(down.name, `does not match the up file of version ${version}, ${up.name}`);
    }
  }

  return [...ups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([version, up]) => {
      const down = downs.get(version);
      return {
        version,
        name: up.label,
        up: { name: up.name, sql: up.sql },
        ...(down ? { down: { name: down.name, sql: down.sql } } : {}),
        checksum: checksumOf(up.sql),
      };
    });
}

/** The down file that pairs with an up file: `001_users.up.sql` → `001_users.down.sql`. */
export function downFileFor(upName: string): string {
  return upName.replace(/\.up\.sql$/, '.down.sql');
}

/**
 * The up files, in version order, that have no down file. The operator can
 * refuse a set it could not roll back before any of it is applied.
 */
export function missingDownFiles(set: readonly Migration[]): string[] {
  return [...set]
    .sort((a, b) => a.version - b.version)
    .filter((m) => !m.down)
    .map((m) => m.up.name);
}

/**
 * Reads every file of a directory. A ConfigMap volume holds its keys as
 * symlinks into a hidden `..data` directory, so dot entries are skipped and
 * symlinks are followed.
 */
export async function loadMigrationDir(dir: string): Promise<SqlFile[]> {
  const entries = (await readdir(dir)).filter((name) => !name.startsWith('.')).sort();
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const files: SqlFile[] = [];
  for (const name of entries) {
    const path = join(dir, name);
    const info = await stat(path);
    if (!info.isFile()) throw new MigrationSetError(name, 'is not a regular file');
    let sql: string;
    try {
      sql = decoder.decode(await readFile(path));
    } catch {
      throw new MigrationSetError(name, 'is not valid UTF-8');
    }
    files.push({ name, sql });
  }
  return files;
}

export async function loadMigrationSet(dir: string): Promise<Migration[]> {
  return parseMigrationSet(await loadMigrationDir(dir));
}
