// Writes what follows from package.json's version and image/image.json: the
// Dockerfile, operator/version.ts (the --version and the default migration
// image), the image tag in config/manager and the chart's appVersion. `--check` writes nothing and
// fails when a file is stale (make verify).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderDockerfile, renderVersionModule, withAppVersion, withImageTag } from './render.js';
import { loadImageSpec, REPO_ROOT } from './spec.js';

function main(check: boolean): number {
  const spec = loadImageSpec();
  const read = (file: string): string => readFileSync(join(REPO_ROOT, file), 'utf8');
  const kustomization = 'config/manager/kustomization.yaml';
  const chart = 'charts/cutover/Chart.yaml';
  const files: Record<string, string> = {
    Dockerfile: renderDockerfile(spec),
    'operator/version.ts': renderVersionModule(spec),
    [kustomization]: withImageTag(read(kustomization), spec),
    [chart]: withAppVersion(read(chart), spec),
  };
  const stale: string[] = [];
  for (const [file, want] of Object.entries(files)) {
    let have: string | undefined;
    try {
      have = read(file);
    } catch {
      have = undefined;
    }
    if (have === want) continue;
    if (check) stale.push(file);
    else writeFileSync(join(REPO_ROOT, file), want);
  }
  if (stale.length > 0) {
    process.stderr.write(`stale: ${stale.join(', ')}; run \`npm run generate\` and commit the result\n`);
    return 1;
  }
  return 0;
}

process.exitCode = main(process.argv.includes('--check'));
