// What follows from package.json's version and image/image.json: the
// Dockerfile, operator/version.ts (the --version and the default migration
// image), the image tag in config/manager and the chart's appVersion.
// operator/api/generate.ts writes them with the other generated files.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderDockerfile, renderVersionModule, withAppVersion, withImageTag } from './render.js';
import { loadImageSpec, REPO_ROOT } from './spec.js';

/** Each file by its path from the repository root, as it should read. */
export function imageFiles(): Map<string, string> {
  const spec = loadImageSpec();
  const read = (file: string): string => readFileSync(join(REPO_ROOT, file), 'utf8');
  const kustomization = 'config/manager/kustomization.yaml';
  const chart = 'charts/cutover/Chart.yaml';
  return new Map([
    ['Dockerfile', renderDockerfile(spec)],
    ['operator/version.ts', renderVersionModule(spec)],
    [kustomization, withImageTag(read(kustomization), spec)],
    [chart, withAppVersion(read(chart), spec)],
  ]);
}
