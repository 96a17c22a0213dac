// Content-addressed blobs of an OCI layout, and layers made reproducibly from
// a directory or a tar file: GNU tar with sorted names, one owner, one mtime
// and normalized modes, then gzip. Same files in → same digest out.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { documentBytes, MEDIA, type Descriptor, type LayerBlob } from './plan.js';

export class BlobStore {
  constructor(readonly dir: string) {}

  path(digest: string): string {
    return join(this.dir, digest.replace(':', '/'));
  }

  has(digest: string): boolean {
    return existsSync(this.path(digest));
  }

  async putDocument(mediaType: string, doc: unknown): Promise<Descriptor> {
    const bytes = documentBytes(doc);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await mkdir(join(this.dir, 'sha256'), { recursive: true });
    await writeFile(this.path(digest), bytes);
    return { mediaType, digest, size: bytes.length };
  }

  /**
   * Gzips `tar` into a blob. Returns the compressed digest and size, and the
   * digest of the uncompressed stream (the config's diff_id).
   */
  async putLayer(tar: TarSource, createdBy: string): Promise<LayerBlob> {
    await mkdir(join(this.dir, 'sha256'), { recursive: true });
    const tmp = join(this.dir, `.incoming-${process.pid}`);
    const raw = createHash('sha256');
    const packed = createHash('sha256');
    let size = 0;
    let unpackedSize = 0;
    const piped = pipeline(
      tar.stream,
      tap((chunk) => {
        raw.update(chunk);
        unpackedSize += chunk.length;
      }),
      // zlib writes no file name and a zero mtime into the gzip header.
      createGzip({ level: 6 }),
      tap((chunk) => {
        packed.update(chunk);
        size += chunk.length;
      }),
      createWriteStream(tmp),
    );
    await Promise.all([piped, tar.done]);
    const digest = `sha256:${packed.digest('hex')}`;
    await rename(tmp, this.path(digest));
    return {
      mediaType: MEDIA.layer,
      digest,
      size,
      diffId: `sha256:${raw.digest('hex')}`,
      unpackedSize,
      createdBy,
    };
  }

  /** Removes every blob not in `keep`. */
  async prune(keep: Set<string>): Promise<void> {
    const dir = join(this.dir, 'sha256');
    for (const name of await readdir(dir).catch(() => [] as string[]))
      if (!keep.has(`sha256:${name}`)) await rm(join(dir, name), { force: true });
  }
}

function tap(fn: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      fn(chunk);
      done(null, chunk);
    },
  });
}

/** GNU tar's flags for an archive that depends only on the files' names, contents and kinds. */
export function reproducibleTarFlags(epoch: number): string[] {
  return [
    '--sort=name',
    '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    `--mtime=@${epoch}`,
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mode=u+rwX,go+rX,go-w',
  ];
}

/** A tar archive being read, and the end of whatever writes it. */
export interface TarSource {
  stream: Readable;
  done: Promise<void>;
}

/**
 * A tar stream, reproducibly, of the directories `dirs` alone (parents a layer
 * must carry with their own mode and owner) and of the `trees` with all they
 * hold. Paths are relative to `root`, in the order given.
 */
export function tarOf(root: string, entries: { dirs: string[]; trees: string[] }, epoch: number): TarSource {
  const args = ['--create', '--file=-', ...reproducibleTarFlags(epoch), '-C', root];
  for (const p of [...entries.dirs, ...entries.trees])
    if (p.startsWith('-') || p.startsWith('/')) throw new Error(`tar entry "${p}" must be a relative path`);
  args.push('--no-recursion', ...entries.dirs, '--recursion', ...entries.trees);
  const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`tar exited with ${String(code)}: ${stderr.trim()}`)),
    );
  });
  return { stream: child.stdout, done };
}

export const tarFile = (path: string): TarSource => ({
  stream: createReadStream(path),
  done: Promise.resolve(),
});
