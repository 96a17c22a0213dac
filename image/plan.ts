// The recipe of `make image` as data: mmdebstrap's arguments, the layers and
// the OCI documents (config, manifest, index). Pure: image/build.ts runs it,
// image/dockerfile.test.ts checks the Dockerfile says the same.
import {
  binLinks,
  createdAt,
  imageLabels,
  imageReference,
  imageUser,
  sortedRecord,
  type BuildInfo,
  type BuildLabels,
  type ImageSpec,
} from './spec.js';

export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** A blob as the manifest refers to it. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** A built layer: its compressed blob and the digest of the uncompressed tar. */
export interface LayerBlob extends Descriptor {
  diffId: string;
  /** Bytes of the uncompressed tar. */
  unpackedSize: number;
  /** What made it, for the config's history. */
  createdBy: string;
}

/**
 * mmdebstrap's arguments for the Debian layer: the `essential` variant (no
 * apt, no init) plus the image's packages, with dpkg leaving out the paths
 * image.json excludes, and image/rootfs.sh (at `script` on the build
 * machine) run around the install. `sources` is a sources.list or deb822
 * file: the build machine's mirror, so nothing here names one.
 */
export function mmdebstrapArgs(spec: ImageSpec, script: string, sources: string, output: string): string[] {
  if (script.includes("'")) throw new Error(`rootfs script path ${script} contains a quote`);
  const u = spec.user;
  return [
    '--mode=root',
    '--variant=essential',
    '--format=tar',
    '--architectures=amd64',
    `--include=${spec.debian.packages.join(',')}`,
    ...spec.debian.pathExclude.map((p) => `--dpkgopt=path-exclude=${p}`),
    ...spec.debian.pathInclude.map((p) => `--dpkgopt=path-include=${p}`),
    `--essential-hook=sh '${script}' before "$1"`,
    `--customize-hook=sh '${script}' after "$1" ${u.name} ${u.uid} ${u.gid} ${u.home}`,
    spec.debian.suite,
    output,
    sources,
  ];
}

/** The container's process: what `docker inspect` shows under Config. */
export function runtimeConfig(spec: ImageSpec, build: BuildLabels) {
  const entrypoint = binLinks(spec).find((l) => l.link.endsWith(`/${spec.entrypoint}`));
  if (!entrypoint) throw new Error(`no bin link for the entrypoint ${spec.entrypoint}`);
  return {
    User: imageUser(spec),
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Entrypoint: [entrypoint.link],
    WorkingDir: spec.appDir,
    Labels: imageLabels(spec, build),
  };
}

export function imageConfig(spec: ImageSpec, build: BuildInfo, layers: LayerBlob[]) {
  const created = createdAt(build.epoch);
  return {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: runtimeConfig(spec, { revision: build.revision, created }),
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({ created, created_by: l.createdBy })),
  };
}

export function imageManifest(config: Descriptor, layers: LayerBlob[]) {
  return {
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
}

/** index.json of the layout: one manifest, tagged with the version (skopeo's `oci-archive:PATH:TAG`). */
export function imageIndex(spec: ImageSpec, manifest: Descriptor) {
  return {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [
      {
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.size,
        platform: { architecture: 'amd64', os: 'linux' },
        annotations: sortedRecord({ 'org.opencontainers.image.ref.name': spec.version }),
      },
    ],
  };
}

/** Canonical bytes of an OCI document: the digest is over exactly these. */
export const documentBytes = (doc: unknown): Buffer => Buffer.from(JSON.stringify(doc));

/** What a user runs to publish the archive. */
export function pushCommands(spec: ImageSpec, archive: string, layout: string): string[] {
  const ref = imageReference(spec);
  return [
    `skopeo copy oci-archive:${archive}:${spec.version} docker://${ref}`,
    `crane push ${layout} ${ref}`,
  ];
}
