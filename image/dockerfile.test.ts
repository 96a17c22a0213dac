// The committed Dockerfile and `make image` must install the same things. The
// Dockerfile is read back as text and compared with the recipe image/build.ts
// runs (image/plan.ts), so a hand edit to either side shows up here.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mmdebstrapArgs, runtimeConfig } from './plan.js';
import { renderDockerfile } from './render.js';
import { binLinks, loadImageSpec, REPO_ROOT } from './spec.js';

const spec = loadImageSpec();
const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
// One logical instruction per line, comments dropped.
const lines = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .filter((l) => l.trim() !== '' && !l.startsWith('#'));
const finalStage = lines.slice(lines.findLastIndex((l) => l.startsWith('FROM ')));
const buildStage = lines.slice(
  0,
  lines.findLastIndex((l) => l.startsWith('FROM ')),
);

function instruction(stage: string[], name: string): string[] {
  return stage.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim());
}

/** The image a stage starts from, once its platform has been checked against `make image`'s. */
function base(stage: string[]): string {
  const [platform = '', image = ''] = one(stage, 'FROM').split(' ');
  expect(platform).toBe('--platform=linux/amd64');
  return image;
}

function one(stage: string[], name: string): string {
  const found = instruction(stage, name);
  expect(found).toHaveLength(1);
  return found[0] ?? '';
}

function match(text: string, re: RegExp): string[] {
  const m = re.exec(text);
  if (!m) throw new Error(`Dockerfile: nothing matches ${String(re)}`);
  return m.slice(1);
}

/** What the build script hands mmdebstrap. */
const debootstrap = mmdebstrapArgs(spec, 'rootfs.sh', 'sources', 'out.tar');
const flagValues = (prefix: string): string[] =>
  debootstrap.filter((a) => a.startsWith(prefix)).map((a) => a.slice(prefix.length));
const config = runtimeConfig(spec, { revision: 'REV', created: 'CREATED' });

describe('Dockerfile and make image', () => {
  it('is the Dockerfile the spec renders (make verify checks the same)', () => {
    expect(dockerfile).toBe(renderDockerfile(spec));
  });

  it('install the same Debian packages with the same dpkg path filters', () => {
    const run = instruction(finalStage, 'RUN').join('\n');
    const [packages = ''] = match(run, /apt-get install -y --no-install-recommends ([^&]+?) &&/);
    expect(packages.split(/\s+/).sort()).toEqual(flagValues('--include=')[0]?.split(',').sort());
    const filters = [...run.matchAll(/'(path-(?:exclude|include)=[^']+)'/g)].map((m) => m[1]);
    expect(filters).toEqual(flagValues('--dpkgopt='));
    expect(match(base(finalStage), /^debian:(\w+)-slim$/)).toEqual([spec.debian.suite]);
    expect(debootstrap).toContain(spec.debian.suite);
  });

  it('run the same rootfs.sh steps, with the same user', () => {
    const run = instruction(finalStage, 'RUN').join('\n');
    expect(run).toContain('sh /rootfs.sh before /');
    const [hook = ''] = flagValues('--customize-hook=');
    const after = (text: string): string[] => match(text, /rootfs\.sh'? after \S+ (\S+) (\d+) (\d+) (\S+)/);
    expect(after(run)).toEqual(after(hook));
    expect(after(run)).toEqual([
      spec.user.name,
      String(spec.user.uid),
      String(spec.user.gid),
      spec.user.home,
    ]);
  });

  it('take the same node binary from the npm registry', () => {
    const run = instruction(buildStage, 'RUN').join('\n');
    expect(match(run, /npm pack --silent (\S+)@(\S+)/)).toEqual([spec.node.package, spec.node.version]);
    const [major = ''] = match(base(buildStage), /^node:(\d+)-/);
    expect(major).toBe(spec.node.version.split('.')[0]);
    expect(major).toBe('24');
    expect(instruction(finalStage, 'COPY')).toContain(`--from=build /node/bin/node ${spec.binDir}/node`);
  });

  it('copy the app and its production modules to the same place, with the same commands on PATH', () => {
    const copies = instruction(finalStage, 'COPY');
    expect(copies).toContain(`--from=build /stage/node_modules ${spec.appDir}/node_modules`);
    expect(copies).toContain(`--from=build /src/dist ${spec.appDir}/dist`);
    expect(copies).toContain(`package.json ${spec.appDir}/package.json`);
    expect(instruction(buildStage, 'RUN').join('\n')).toContain('npm ci --prefix /stage --omit=dev');
    const links = [
      ...instruction(finalStage, 'RUN')
        .join('\n')
        .matchAll(/ln -s (\S+) (\S+)/g),
    ].map((m) => ({
      target: m[1],
      link: m[2],
    }));
    expect(links).toEqual(binLinks(spec));
    expect(links.map((l) => l.link)).toEqual(['/usr/local/bin/cutover', '/usr/local/bin/kubectl-cutover']);
  });

  it('set the same user, environment, working directory and entrypoint', () => {
    expect(one(finalStage, 'USER')).toBe(config.User);
    expect(config.User).toBe('65532:65532');
    expect(one(finalStage, 'WORKDIR')).toBe(config.WorkingDir);
    expect(JSON.parse(one(finalStage, 'ENTRYPOINT'))).toEqual(config.Entrypoint);
    expect(one(finalStage, 'ENV').split(/\s+/)).toEqual(config.Env);
  });

  it('carry the same labels; revision and created come from build arguments', () => {
    const labels = Object.fromEntries(
      [...one(finalStage, 'LABEL').matchAll(/(\S+?)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    expect(Object.keys(labels).sort()).toEqual(Object.keys(config.Labels).sort());
    for (const [k, v] of Object.entries(config.Labels)) {
      if (k.endsWith('.revision')) expect(labels[k]).toBe('${REVISION}');
      else if (k.endsWith('.created')) expect(labels[k]).toBe('${CREATED}');
      else expect(labels[k]).toBe(v);
    }
    expect(labels['org.opencontainers.image.version']).toBe(spec.version);
  });
});
