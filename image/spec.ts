// What goes into the operator's image, read from image/image.json and
// package.json: the one description both `make image` and the Dockerfile are
// derived from. Pure apart from loadImageSpec().
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..');

/** The build cache (the Makefile's CACHE): outside the clone, shared by the clones on one machine. */
export const cacheDir = (): string => process.env.CUTOVER_CACHE ?? join(homedir(), '.cache/cutover');

export interface ImageSpec {
  /** Registry and repository without a tag, e.g. ghcr.io/cutover/cutover. */
  repository: string;
  /** package.json's version: the image tag and the operator's --version. */
  version: string;
  license: string;
  description: string;
  debian: {
    suite: string;
    packages: string[];
    /** dpkg --path-exclude patterns: files of the packages that never reach the image. */
    pathExclude: string[];
    /** dpkg --path-include patterns: exceptions to pathExclude (licences). */
    pathInclude: string[];
  };
  /** The npm package that carries the node binary, at an exact version. */
  node: { package: string; version: string };
  user: { name: string; uid: number; gid: number; home: string };
  appDir: string;
  binDir: string;
  /** package.json's bin: command name → script relative to appDir. */
  bin: Record<string, string>;
  /** The bin command the image runs. */
  entrypoint: string;
  env: Record<string, string>;
  /** Labels that do not depend on the build (version, revision, created are added per build). */
  labels: Record<string, string>;
}

/** Per build: what the labels and the config's `created` say about the source. */
export interface BuildInfo {
  revision: string;
  /** SOURCE_DATE_EPOCH, seconds. */
  epoch: number;
}

/** The per-build label values: a build's, or the Dockerfile's `${ARG}` references. */
export interface BuildLabels {
  revision: string;
  created: string;
}

export class ImageSpecError extends Error {}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ImageSpecError(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function str(obj: Record<string, unknown>, key: string, what: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v === '')
    throw new ImageSpecError(`${what}.${key} must be a non-empty string`);
  return v;
}

function int(obj: Record<string, unknown>, key: string, what: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new ImageSpecError(`${what}.${key} must be a non-negative integer`);
  return v;
}

function strings(obj: Record<string, unknown>, key: string, what: string): string[] {
  const v = obj[key];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === ''))
    throw new ImageSpecError(`${what}.${key} must be a list of non-empty strings`);
  return v as string[];
}

function stringMap(value: unknown, what: string): Record<string, string> {
  const obj = record(value, what);
  for (const [k, v] of Object.entries(obj))
    if (typeof v !== 'string') throw new ImageSpecError(`${what}.${k} must be a string`);
  return obj as Record<string, string>;
}

// Package names and paths end up in shell lines of the Dockerfile and in argv;
// anything outside these characters is a mistake in image.json, not a feature.
const SAFE_WORD = /^[A-Za-z0-9][A-Za-z0-9.+_:/*-]*$/;
const ABSOLUTE = /^\/[A-Za-z0-9._/-]*$/;

/** Validates image.json (`image`) together with package.json (`pkg`). */
export function parseImageSpec(image: unknown, pkg: unknown): ImageSpec {
  const i = record(image, 'image.json');
  const p = record(pkg, 'package.json');
  const debian = record(i.debian, 'image.json debian');
  const node = record(i.node, 'image.json node');
  const user = record(i.user, 'image.json user');
  const spec: ImageSpec = {
    repository: str(i, 'repository', 'image.json'),
    version: str(p, 'version', 'package.json'),
    license: str(p, 'license', 'package.json'),
    description: str(p, 'description', 'package.json'),
    debian: {
      suite: str(debian, 'suite', 'image.json debian'),
      packages: strings(debian, 'packages', 'image.json debian'),
      pathExclude: strings(debian, 'pathExclude', 'image.json debian'),
      pathInclude: strings(debian, 'pathInclude', 'image.json debian'),
    },
    node: {
      package: str(node, 'package', 'image.json node'),
      version: str(node, 'version', 'image.json node'),
    },
    user: {
      name: str(user, 'name', 'image.json user'),
      uid: int(user, 'uid', 'image.json user'),
      gid: int(user, 'gid', 'image.json user'),
      home: str(user, 'home', 'image.json user'),
    },
    appDir: str(i, 'appDir', 'image.json'),
    binDir: str(i, 'binDir', 'image.json'),
    bin: stringMap(p.bin, 'package.json bin'),
    entrypoint: str(i, 'entrypoint', 'image.json'),
    env: stringMap(i.env, 'image.json env'),
    labels: stringMap(i.labels, 'image.json labels'),
  };
  if (!/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(spec.version))
    throw new ImageSpecError(`package.json version "${spec.version}" is not a semantic version`);
  if (!/^\d+\.\d+\.\d+$/.test(spec.node.version))
    throw new ImageSpecError(`image.json node.version "${spec.node.version}" must be an exact version`);
  if (spec.user.uid === 0)
    throw new ImageSpecError('image.json user.uid must not be 0: the image runs as non-root');
  for (const word of [...spec.debian.packages, spec.debian.suite, spec.node.package, spec.user.name])
    if (!SAFE_WORD.test(word))
      throw new ImageSpecError(`image.json: "${word}" has characters not allowed here`);
  for (const path of [spec.appDir, spec.binDir, spec.user.home])
    if (!ABSOLUTE.test(path))
      throw new ImageSpecError(`image.json: "${path}" must be an absolute plain path`);
  for (const pattern of [...spec.debian.pathExclude, ...spec.debian.pathInclude])
    if (!pattern.startsWith('/') || !SAFE_WORD.test(pattern.slice(1)))
      throw new ImageSpecError(`image.json: path pattern "${pattern}" must be absolute and plain`);
  for (const [name, script] of Object.entries(spec.bin))
    if (!SAFE_WORD.test(name) || !SAFE_WORD.test(script))
      throw new ImageSpecError(`package.json bin "${name}": "${script}" has characters not allowed here`);
  if (!(spec.entrypoint in spec.bin))
    throw new ImageSpecError(`image.json entrypoint "${spec.entrypoint}" is not a package.json bin`);
  return spec;
}

export function loadImageSpec(root = REPO_ROOT): ImageSpec {
  const read = (file: string): unknown => JSON.parse(readFileSync(join(root, file), 'utf8'));
  return parseImageSpec(read('image/image.json'), read('package.json'));
}

/** `repository:version`: what config/manager and the migration Jobs run. */
export const imageReference = (spec: ImageSpec): string => `${spec.repository}:${spec.version}`;

/** The labels of one build: image.json's, then the ones that come from package.json and git. */
export function imageLabels(spec: ImageSpec, build: BuildLabels): Record<string, string> {
  return sortedRecord({
    ...spec.labels,
    'org.opencontainers.image.description': spec.description,
    'org.opencontainers.image.licenses': spec.license,
    'org.opencontainers.image.version': spec.version,
    'org.opencontainers.image.revision': build.revision,
    'org.opencontainers.image.created': build.created,
  });
}

export const createdAt = (epoch: number): string =>
  new Date(epoch * 1000).toISOString().replace('.000Z', 'Z');

/** Absolute path of each bin command inside the image, and what it runs. */
export function binLinks(spec: ImageSpec): Array<{ link: string; target: string }> {
  return Object.entries(spec.bin)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, script]) => ({
      link: `${spec.binDir}/${name}`,
      target: `${spec.appDir}/${script.replace(/^\.\//, '')}`,
    }));
}

/** `user:group` as numbers: Kubernetes' runAsNonRoot can only check a numeric user. */
export const imageUser = (spec: ImageSpec): string => `${spec.user.uid}:${spec.user.gid}`;

export function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
