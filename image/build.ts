// `make image`: the operator's OCI image, built without a container engine or
// a registry. Four layers, each cached by a hash of its inputs:
//   debian   mmdebstrap: Debian's essential set + image.json's packages + the user
//   node     the node binary from the npm package image.json names
//   modules  `npm ci --omit=dev` of package-lock.json
//   app      a clean tsc build of operator/, package.json, the bin links
// Every file in a layer carries the time of the last commit that changed the
// layer's inputs (or SOURCE_DATE_EPOCH), so the same commit gives the same
// digest for as long as the Debian mirror serves the same package versions.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BlobStore, tarFile, tarOf } from './blobs.js';
import {
  imageConfig,
  imageIndex,
  imageManifest,
  MEDIA,
  mmdebstrapArgs,
  pushCommands,
  type LayerBlob,
} from './plan.js';
import { binLinks, cacheDir, imageReference, loadImageSpec, REPO_ROOT, type ImageSpec } from './spec.js';

/** Bump when the recipe changes in a way the layer keys do not see. */
const RECIPE = 1;

/** What `make image` leaves in the cache for the smoke test and for people pushing. */
export interface BuildResult {
  reference: string;
  /** The manifest's digest: what a registry reports after a push. */
  digest: string;
  archive: string;
  layout: string;
  archiveBytes: number;
  layers: LayerBlob[];
}

const log = (line: string): void => void process.stdout.write(`image: ${line}\n`);
const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

function git(args: string[]): string {
  try {
    return execFileSync('git', ['-C', REPO_ROOT, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

/** SOURCE_DATE_EPOCH, or the time of the last commit that touched `paths` (HEAD's when none did). */
function epochOf(paths: string[]): number {
  const fixed = process.env.SOURCE_DATE_EPOCH;
  if (fixed !== undefined && fixed !== '') {
    if (!/^\d+$/.test(fixed)) throw new Error(`SOURCE_DATE_EPOCH="${fixed}" is not a number of seconds`);
    return Number(fixed);
  }
  const t = git(['log', '-1', '--format=%ct', '--', ...paths]) || git(['log', '-1', '--format=%ct']);
  if (!/^\d+$/.test(t)) throw new Error('no git history to date the image: set SOURCE_DATE_EPOCH');
  return Number(t);
}

/**
 * HEAD's commit, with `-dirty` when a tracked file differs from it or an
 * untracked file would be compiled in: the label must not claim a commit it is not.
 */
function revision(): string {
  const head = git(['rev-parse', 'HEAD']) || 'unknown';
  const changed = git(['status', '--porcelain', '--untracked-files=no']) !== '';
  const added = git(['status', '--porcelain', '--untracked-files=all', '--', 'operator', 'image']) !== '';
  const dirty = changed || added;
  return dirty ? `${head}-dirty` : head;
}

/** Every file under `dir` (relative to the repo), sorted, for hashing. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(REPO_ROOT, rel), { withFileTypes: true })) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

function hashFiles(files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(`${f}\0${sha256(readFileSync(join(REPO_ROOT, f)))}\n`);
  return h.digest('hex');
}

async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; logFile?: string },
) {
  const out = opts.logFile ? createWriteStream(opts.logFile) : undefined;
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? REPO_ROOT,
    env: opts.env ?? process.env,
    stdio: ['ignore', out ? 'pipe' : 'inherit', out ? 'pipe' : 'inherit'],
  });
  if (out) {
    child.stdout?.pipe(out, { end: false });
    child.stderr?.pipe(out, { end: false });
  }
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (out) await new Promise<void>((resolve) => out.end(resolve));
  if (code !== 0) {
    const tail = opts.logFile
      ? `\n${(await readFile(opts.logFile, 'utf8')).split('\n').slice(-30).join('\n')}`
      : '';
    throw new Error(`${cmd} exited with ${String(code)}${tail}`);
  }
}

class Builder {
  readonly dir: string;
  readonly layout: string;
  readonly work: string;
  readonly records: string;
  readonly store: BlobStore;
  readonly used = new Set<string>();

  constructor(
    readonly spec: ImageSpec,
    cache: string,
  ) {
    this.dir = join(cache, 'image');
    this.layout = join(this.dir, 'layout');
    this.work = join(this.dir, 'work');
    this.records = join(this.dir, 'layers');
    this.store = new BlobStore(join(this.layout, 'blobs'));
  }

  /** The layer recorded under `key`, or a new one from `make` (then recorded). */
  async layer(name: string, key: unknown, make: (stage: string) => Promise<LayerBlob>): Promise<LayerBlob> {
    const record = join(this.records, `${name}-${sha256(JSON.stringify({ RECIPE, key }))}.json`);
    this.used.add(record);
    if (existsSync(record)) {
      const blob = JSON.parse(await readFile(record, 'utf8')) as LayerBlob;
      if (this.store.has(blob.digest)) {
        log(`${name}: cached ${blob.digest.slice(0, 19)}`);
        return blob;
      }
    }
    const started = Date.now();
    const stage = join(this.work, name);
    await rm(stage, { recursive: true, force: true });
    await mkdir(stage, { recursive: true });
    const blob = await make(stage);
    await rm(stage, { recursive: true, force: true });
    await mkdir(this.records, { recursive: true });
    await writeFile(record, JSON.stringify(blob, null, 2));
    log(
      `${name}: built in ${((Date.now() - started) / 1000).toFixed(1)} s, ${mib(blob.size)} ${blob.digest.slice(0, 19)}`,
    );
    return blob;
  }

  debian(): Promise<LayerBlob> {
    const { spec } = this;
    const sources = aptSources();
    const script = join(REPO_ROOT, 'image/rootfs.sh');
    const epoch = epochOf(['image/image.json', 'image/rootfs.sh']);
    const key = {
      args: mmdebstrapArgs(spec, 'rootfs.sh', 'sources', 'out.tar'),
      script: readFileSync(script, 'utf8'),
      sources: readFileSync(sources, 'utf8'),
      mmdebstrap: execFileSync('mmdebstrap', ['--version'], { encoding: 'utf8' }).trim(),
      epoch,
    };
    return this.layer('debian', key, async (stage) => {
      const out = join(stage, 'rootfs.tar');
      log(
        `debian: mmdebstrap ${spec.debian.suite} + ${spec.debian.packages.join(' ')} (log: ${this.dir}/mmdebstrap.log)`,
      );
      await run('mmdebstrap', mmdebstrapArgs(spec, script, sources, out), {
        env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
        logFile: join(this.dir, 'mmdebstrap.log'),
      });
      return this.store.putLayer(
        tarFile(out),
        `mmdebstrap --variant=essential ${spec.debian.suite} + ${spec.debian.packages.join(', ')}`,
      );
    });
  }

  node(): Promise<LayerBlob> {
    const { spec } = this;
    const epoch = epochOf(['image/image.json']);
    return this.layer('node', { node: spec.node, binDir: spec.binDir, epoch }, async (stage) => {
      const { package: pkg, version } = spec.node;
      await run('npm', ['pack', '--silent', `${pkg}@${version}`, '--pack-destination', stage], {
        cwd: stage,
        logFile: join(stage, 'npm.log'),
      });
      const unpacked = join(stage, 'package');
      await mkdir(unpacked);
      await run(
        'tar',
        ['-xzf', join(stage, `${pkg}-${version}.tgz`), '-C', unpacked, '--strip-components=1'],
        {},
      );
      const root = join(stage, 'root');
      await mkdir(join(root, spec.binDir), { recursive: true });
      await copyFile(join(unpacked, 'bin/node'), join(root, spec.binDir, 'node'));
      await chmod(join(root, spec.binDir, 'node'), 0o755);
      return this.store.putLayer(
        tarOf(root, { dirs: parents(spec.binDir), trees: [`${spec.binDir.slice(1)}/node`] }, epoch),
        `node ${version} from the npm package ${pkg}`,
      );
    });
  }

  modules(): Promise<LayerBlob> {
    const { spec } = this;
    const epoch = epochOf(['package-lock.json']);
    const lock = readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8');
    return this.layer('modules', { lock: sha256(lock), appDir: spec.appDir, epoch }, async (stage) => {
      const app = join(stage, 'root', spec.appDir);
      await mkdir(app, { recursive: true });
      for (const f of ['package.json', 'package-lock.json']) await copyFile(join(REPO_ROOT, f), join(app, f));
      await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
        cwd: app,
        logFile: join(stage, 'npm.log'),
      });
      const rel = spec.appDir.slice(1);
      return this.store.putLayer(
        tarOf(join(stage, 'root'), { dirs: parents(spec.appDir), trees: [`${rel}/node_modules`] }, epoch),
        'npm ci --omit=dev',
      );
    });
  }

  app(): Promise<LayerBlob> {
    const { spec } = this;
    const inputs = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
    const epoch = epochOf(['operator', ...inputs]);
    const key = { files: hashFiles([...inputs, ...filesUnder('operator')]), bin: binLinks(spec), epoch };
    return this.layer('app', key, async (stage) => {
      const root = join(stage, 'root');
      const app = join(root, spec.appDir);
      // A clean build, not dist/: dist can hold output of deleted sources. No
      // source maps: they would name this checkout's path.
      await run(
        process.execPath,
        [
          join(REPO_ROOT, 'node_modules/typescript/bin/tsc'),
          '-p',
          'tsconfig.build.json',
          '--outDir',
          join(app, 'dist'),
          '--sourceMap',
          'false',
        ],
        {},
      );
      await copyFile(join(REPO_ROOT, 'package.json'), join(app, 'package.json'));
      await mkdir(join(root, spec.binDir), { recursive: true });
      for (const { link, target } of binLinks(spec)) {
        await chmod(join(root, target), 0o755);
        await symlink(target, join(root, link));
      }
      const rel = (p: string): string => p.slice(1);
      return this.store.putLayer(
        tarOf(
          root,
          {
            dirs: [...new Set([...parents(spec.appDir), ...parents(spec.binDir)])].sort(),
            trees: [
              `${rel(spec.appDir)}/dist`,
              `${rel(spec.appDir)}/package.json`,
              ...binLinks(spec).map((l) => rel(l.link)),
            ],
          },
          epoch,
        ),
        'tsc -p tsconfig.build.json; package.json; bin links',
      );
    });
  }

  async build(): Promise<BuildResult> {
    const { spec } = this;
    await mkdir(this.dir, { recursive: true });
    const layers = [await this.debian(), await this.node(), await this.modules(), await this.app()];
    const build = { revision: revision(), epoch: epochOf([]) };
    const config = await this.store.putDocument(MEDIA.config, imageConfig(spec, build, layers));
    const manifest = await this.store.putDocument(MEDIA.manifest, imageManifest(config, layers));
    await writeFile(join(this.layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(join(this.layout, 'index.json'), JSON.stringify(imageIndex(spec, manifest)));

    // Only this build's blobs and records stay: the cache holds one image.
    await this.store.prune(new Set([config.digest, manifest.digest, ...layers.map((l) => l.digest)]));
    for (const name of readdirSync(this.records))
      if (!this.used.has(join(this.records, name))) await rm(join(this.records, name));

    const archive = join(this.dir, `cutover-${spec.version}.oci.tar`);
    const tmp = `${archive}.tmp`;
    const { stream, done } = tarOf(
      this.layout,
      { dirs: [], trees: ['blobs', 'index.json', 'oci-layout'] },
      build.epoch,
    );
    await Promise.all([done, pipeline(stream, createWriteStream(tmp))]);
    await rename(tmp, archive);
    await rm(this.work, { recursive: true, force: true });
    const result: BuildResult = {
      reference: imageReference(spec),
      digest: manifest.digest,
      archive,
      layout: this.layout,
      archiveBytes: (await stat(archive)).size,
      layers,
    };
    await writeFile(join(this.dir, 'build.json'), `${JSON.stringify(result, null, 2)}\n`);
    return result;
  }
}

/** `/usr/local/bin` → usr, usr/local, usr/local/bin: the directory entries a layer carries. */
function parents(abs: string): string[] {
  const parts = abs.split('/').filter(Boolean);
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** The build machine's Debian sources (or IMAGE_APT_SOURCES): the mirror stays a machine setting. */
function aptSources(): string {
  const candidates = [
    process.env.IMAGE_APT_SOURCES,
    '/etc/apt/sources.list.d/debian.sources',
    '/etc/apt/sources.list',
  ].filter((p): p is string => p !== undefined && p !== '');
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error('no apt sources found: set IMAGE_APT_SOURCES to a sources.list or deb822 file');
  return found;
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const started = Date.now();
  const spec = loadImageSpec();
  const r = await new Builder(spec, cacheDir()).build();
  const packed = r.layers.reduce((n, l) => n + l.size, 0);
  const unpacked = r.layers.reduce((n, l) => n + l.unpackedSize, 0);
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.stdout.write(
    [
      '',
      `image    ${r.reference}`,
      `digest   ${r.digest}`,
      `archive  ${r.archive} (${mib(r.archiveBytes)}; layers ${mib(packed)} gzipped, ${mib(unpacked)} unpacked)`,
      `layout   ${r.layout}`,
      '',
      'push (set the repository you publish to):',
      ...pushCommands(spec, r.archive, r.layout).map((c) => `  ${c}`),
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`make image: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
