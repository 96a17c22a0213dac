// Where backups live, behind one small interface: a directory today
// (file:///path, a mounted PVC in a Job), S3-compatible object storage next.
// Objects are written whole or not at all (a temporary name, then a rename),
// so a reader never sees half an object under its real name.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { S3Storage, s3ConfigFrom } from './s3.js';

export class StorageError extends Error {
  override name = 'StorageError';
}

export interface Storage {
  /** The URI it was opened from, safe to print (no credentials). */
  readonly uri: string;
  /** Copies the local file at `path` to `key`; the sha256 (hex) of the bytes sent, hashed on the way. */
  putFile(key: string, path: string): Promise<string>;
  putText(key: string, text: string): Promise<void>;
  /** Copies `key` to the local file at `path`; the sha256 (hex) of the bytes written, hashed on the way. */
  getFile(key: string, path: string): Promise<string>;
  /** The object's text, or undefined when there is none. */
  getText(key: string): Promise<string | undefined>;
  /** Keys directly below `prefix` (one level, like a directory listing). */
  list(prefix: string): Promise<string[]>;
  /** Removes everything under `prefix`: a unit prune has decided to delete. */
  remove(prefix: string): Promise<void>;
  /** Removes the one object `key`; nothing when it is already gone. */
  delete(key: string): Promise<void>;
  /**
   * The object's own file, when the storage is a directory on this machine:
   * a restore reads it where it lies instead of copying it first. Objects
   * are never rewritten in place (a new one is renamed over), so what was
   * hashed is what is read next.
   */
  localPath?(key: string): string;
}

/** `envPrefix`: where an s3:// location's AWS_* variables are read (s3ConfigFrom). */
export function storageFor(uri: string, env: NodeJS.ProcessEnv = process.env, envPrefix = ''): Storage {
  if (uri.startsWith('file://')) return new FileStorage(uri);
  if (uri.startsWith('s3://')) return new S3Storage(uri, s3ConfigFrom(env, envPrefix));
  throw new StorageError(`${uri}: not a storage URI; expected file:///path or s3://bucket/prefix`);
}

class FileStorage implements Storage {
  private readonly root: string;

  constructor(readonly uri: string) {
    let root: string;
    try {
      root = fileURLToPath(uri);
    } catch {
      throw new StorageError(`${uri}: not a file:///absolute/path URI`);
    }
    if (!isAbsolute(root)) throw new StorageError(`${uri}: the path must be absolute`);
    this.root = root;
  }

  private path(key: string): string {
    const path = join(this.root, key);
    const rel = relative(this.root, path);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new StorageError(`${key}: not a key inside ${this.uri}`);
    }
    return path;
  }

  async putFile(key: string, from: string): Promise<string> {
    const to = this.path(key);
    await mkdir(dirname(to), { recursive: true });
    const partial = `${to}.partial`;
    const hash = sha256Tap();
    try {
      await pipeline(createReadStream(from, CHUNK), hash.tap, createWriteStream(partial));
    } catch (err) {
      // A failed run deletes the keys it put, not their temporary names: this one goes here.
      await rm(partial, { force: true });
      throw err;
    }
    await rename(partial, to);
    return hash.digest();
  }

  async putText(key: string, text: string): Promise<void> {
    const to = this.path(key);
    await mkdir(dirname(to), { recursive: true });
    const partial = `${to}.partial`;
    await writeFile(partial, text);
    await rename(partial, to);
  }

  async getFile(key: string, to: string): Promise<string> {
    const hash = sha256Tap();
    await pipeline(createReadStream(this.path(key), CHUNK), hash.tap, createWriteStream(to));
    return hash.digest();
  }

  localPath(key: string): string {
    return this.path(key);
  }

  async getText(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.path(key), 'utf8');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async remove(prefix: string): Promise<void> {
    await rm(this.path(prefix), { recursive: true, force: true });
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
    // A directory is not an object: once a unit's (full/<id>/) last object
    // is deleted, its directory goes too, as the prefix does in a bucket.
    // rmdir removes only an empty one, so another writer's objects stay; the
    // top-level ones (wal/, full/) stay whatever they hold.
    const parent = dirname(key);
    if (parent.includes('/')) {
      await rmdir(this.path(parent)).catch((err: unknown) => {
        const code = (err as { code?: string }).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw err;
      });
    }
  }

  async list(prefix: string): Promise<string[]> {
    const dir = join(this.root, prefix);
    try {
      await stat(dir);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    const entries = await readdir(dir);
    return entries.filter((e) => !e.endsWith('.partial')).map((e) => `${prefix.replace(/\/?$/, '/')}${e}`);
  }
}

/**
 * What one backup run puts, so a failed run deletes exactly that: never its
 * whole prefix, which could hold what another run wrote.
 */
export class RunWrites {
  private readonly keys: string[] = [];

  constructor(private readonly storage: Storage) {}

  putFile(key: string, path: string): Promise<string> {
    // Recorded before the put: a put that fails half way may have left the object.
    this.keys.push(key);
    return this.storage.putFile(key, path);
  }

  putText(key: string, text: string): Promise<void> {
    this.keys.push(key);
    return this.storage.putText(key, text);
  }

  /** Deletes every key put, the last first; best effort, the run's own error is the one reported. */
  async undo(): Promise<void> {
    for (const key of [...this.keys].reverse()) await this.storage.delete(key).catch(() => undefined);
  }
}

// Fewer, larger reads: a copy of a base backup is hundreds of megabytes.
const CHUNK = { highWaterMark: 1 << 20 };

/** sha256 (hex) of a local file, read once in large chunks. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, CHUNK)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A pass-through that hashes what flows through it, so a copy checks its
 * bytes without reading the file a second time.
 */
export function sha256Tap(): { tap: Transform; digest: () => string } {
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  return { tap, digest: () => hash.digest('hex') };
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === 'ENOENT';
}
