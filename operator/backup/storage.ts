// Where backups live, behind one small interface: a directory today
// (file:///path, a mounted PVC in a Job), S3-compatible object storage next.
// Objects are written whole or not at all (a temporary name, then a rename),
// so a reader never sees half an object under its real name.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { S3Storage, s3ConfigFrom } from './s3.js';

export class StorageError extends Error {
  override name = 'StorageError';
}

export interface Storage {
  /** The URI it was opened from, safe to print (no credentials). */
  readonly uri: string;
  /** Copies the local file at `path` to `key`. */
  putFile(key: string, path: string): Promise<void>;
  putText(key: string, text: string): Promise<void>;
  /** Copies `key` to the local file at `path`. */
  getFile(key: string, path: string): Promise<void>;
  /** The object's text, or undefined when there is none. */
  getText(key: string): Promise<string | undefined>;
  /** Keys directly below `prefix` (one level, like a directory listing). */
  list(prefix: string): Promise<string[]>;
  /** Removes everything under `prefix`: what a failed backup wrote. */
  remove(prefix: string): Promise<void>;
  /** Removes the one object `key`; nothing when it is already gone. */
  delete(key: string): Promise<void>;
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

  async putFile(key: string, from: string): Promise<void> {
    const to = this.path(key);
    await mkdir(dirname(to), { recursive: true });
    const partial = `${to}.partial`;
    await pipeline(createReadStream(from), createWriteStream(partial));
    await rename(partial, to);
  }

  async putText(key: string, text: string): Promise<void> {
    const to = this.path(key);
    await mkdir(dirname(to), { recursive: true });
    const partial = `${to}.partial`;
    await writeFile(partial, text);
    await rename(partial, to);
  }

  async getFile(key: string, to: string): Promise<void> {
    await pipeline(createReadStream(this.path(key)), createWriteStream(to));
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

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === 'ENOENT';
}
