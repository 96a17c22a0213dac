// The image `make image` built, unpacked with umoci and run the way a
// container runtime would: as the image's user, with its environment,
// entrypoint and working directory, on a read-only root filesystem. The
// process lives in a mount namespace of its own (unshare) and chroots into
// the root filesystem; it shares the host's network, so 127.0.0.1 reaches
// the test PostgreSQL and the local cluster. Needs root.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BuildResult } from '../../image/build.js';
import { cacheDir } from '../../image/spec.js';
import { spawnServer, type ServerProcess } from './process.js';

const run = promisify(execFile);

/** The process an OCI runtime would start, as umoci wrote it into the bundle's config.json. */
export interface ImageProcess {
  args: string[];
  env: string[];
  cwd: string;
  user: { uid: number; gid: number };
}

export interface UnpackedImage {
  rootfs: string;
  process: ImageProcess;
  /** The image's labels, as umoci copied them into the runtime config. */
  annotations: Record<string, string>;
  remove(): Promise<void>;
}

/** build.json, which image/build.ts writes beside the archive. */
export function builtImage(): BuildResult {
  const file = join(cacheDir(), 'image/build.json');
  if (!existsSync(file)) throw new Error(`no image at ${file}: run \`make image\` first`);
  return JSON.parse(readFileSync(file, 'utf8')) as BuildResult;
}

/** Unpacks the OCI archive as a user would receive it: the archive, not the build's cache. */
export async function unpackImage(image: BuildResult): Promise<UnpackedImage> {
  if (process.getuid?.() !== 0) throw new Error('running the image needs root (unshare, mount, chroot)');
  const dir = await mkdtemp(join(tmpdir(), 'cutover-image-'));
  try {
    const layout = join(dir, 'layout');
    await mkdir(layout);
    await run('tar', ['-xf', image.archive, '-C', layout]);
    const tag = image.reference.slice(image.reference.lastIndexOf(':') + 1);
    // umoci checks every blob against its digest while it unpacks.
    await run('umoci', ['unpack', '--image', `${layout}:${tag}`, join(dir, 'bundle')], {
      maxBuffer: 16 * 1024 * 1024,
    });
    await rm(layout, { recursive: true });
    const config = JSON.parse(readFileSync(join(dir, 'bundle/config.json'), 'utf8')) as {
      process: ImageProcess;
      annotations?: Record<string, string>;
    };
    return {
      rootfs: join(dir, 'bundle/rootfs'),
      process: config.process,
      annotations: config.annotations ?? {},
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

// Mounts in a private namespace vanish with the process. The root and /tmp
// are read-only: whatever the command needs to write must be a volume.
const ENTER = `
r=$1 tmp=$2 user=$3 cwd=$4
shift 4
mount --bind "$r" "$r"
mount -o remount,bind,ro "$r"
mount --rbind /dev "$r/dev"
mount --rbind /proc "$r/proc"
mount --bind "$tmp" "$r/tmp"
mount -o remount,bind,ro "$r/tmp"
exec /usr/sbin/chroot --userspec="$user" "$r" /usr/bin/env --chdir="$cwd" "$@"
`;

export interface RunInImageOptions {
  /** A host directory shown read-only at /tmp (kubeconfig, migration files). */
  files: string;
  /** Added to the image's environment (DATABASE_URL). */
  env?: Record<string, string>;
  /** Instead of the image's entrypoint, like `docker run --entrypoint`. */
  entrypoint?: string[];
}

/** argv and environment that start `args` after the image's entrypoint, inside the image. */
function command(image: UnpackedImage, args: string[], opts: RunInImageOptions) {
  const { process: p } = image;
  const env: NodeJS.ProcessEnv = {};
  for (const kv of p.env) {
    const i = kv.indexOf('=');
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  Object.assign(env, opts.env);
  const user = `${p.user.uid}:${p.user.gid}`;
  return {
    file: '/usr/bin/unshare',
    argv: [
      '--mount',
      '--propagation',
      'private',
      '/bin/sh',
      '-euc',
      ENTER,
      'enter',
      image.rootfs,
      opts.files,
      user,
      p.cwd,
      ...(opts.entrypoint ?? p.args),
      ...args,
    ],
    env,
  };
}

export interface ImageRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the entrypoint with `args` inside the image and waits for it to exit. */
export async function runInImage(
  image: UnpackedImage,
  args: string[],
  opts: RunInImageOptions,
): Promise<ImageRun> {
  const { file, argv, env } = command(image, args, opts);
  try {
    const { stdout, stderr } = await run(file, argv, { env, timeout: 60_000, maxBuffer: 4 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Starts the entrypoint with `args` inside the image as a long-running process. */
export function startInImage(
  image: UnpackedImage,
  args: string[],
  opts: RunInImageOptions & { logPath: string },
): ServerProcess {
  const { file, argv, env } = command(image, args, opts);
  return spawnServer(file, argv, { logPath: opts.logPath, cwd: '/', env });
}
