// Writes every generated file: the CRDs and types, what follows from the
// image spec (image/generate.ts), the chart's copies
// (test/install/chart-files.ts) and the Argo CD health patch
// (test/gitops/argocd-cm.ts); with --check, only compares.
//
//   node_modules/.bin/tsx operator/api/generate.ts          regenerate
//   node_modules/.bin/tsx operator/api/generate.ts --check  exit 1 when stale
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { imageFiles } from '../../image/generate.js';
import { PATCH_PATH, renderArgocdCmPatch } from '../../test/gitops/argocd-cm.js';
import { CHART_COPY_DIRS, chartCopies } from '../../test/install/chart-files.js';
import { CRD_DIR, REPO_ROOT, TYPES_DIR, renderAll } from './codegen.js';

const FIX = 'node_modules/.bin/tsx operator/api/generate.ts';

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

// Files in the output directories that look generated but no longer are
// (a renamed kind): they would otherwise linger and be applied.
function leftovers(expected: Map<string, string>): string[] {
  const owned: [string, (name: string) => boolean][] = [
    [CRD_DIR, (n) => n.endsWith('.cutover.dev.yaml')],
    [TYPES_DIR, (n) => n.endsWith('.ts')],
    ...CHART_COPY_DIRS.map((dir): [string, () => boolean] => [dir, () => true]),
  ];
  return owned.flatMap(([dir, isOurs]) => {
    let names: string[];
    try {
      names = readdirSync(join(REPO_ROOT, dir));
    } catch {
      names = [];
    }
    return names
      .filter(isOurs)
      .map((n) => `${dir}/${n}`)
      .filter((p) => !expected.has(p));
  });
}

async function main(check: boolean): Promise<number> {
  const api = await renderAll();
  const files = new Map([
    ...api,
    ...imageFiles(),
    ...chartCopies(api),
    [relative(REPO_ROOT, PATCH_PATH), renderArgocdCmPatch()],
  ]);
  const stale = [...files].filter(([path, text]) => readOrUndefined(join(REPO_ROOT, path)) !== text);
  const extra = leftovers(files);
  if (check) {
    if (stale.length === 0 && extra.length === 0) return 0;
    for (const [path] of stale) {
      const missing = readOrUndefined(join(REPO_ROOT, path)) === undefined;
      console.error(`${missing ? 'missing' : 'stale'}: ${path}`);
    }
    for (const path of extra) console.error(`not generated any more: ${path}`);
    console.error(`generated files are out of date; run: ${FIX}`);
    return 1;
  }
  for (const [path, text] of stale) {
    mkdirSync(dirname(join(REPO_ROOT, path)), { recursive: true });
    writeFileSync(join(REPO_ROOT, path), text);
    console.log(`wrote ${path}`);
  }
  for (const path of extra) {
    rmSync(join(REPO_ROOT, path));
    console.log(`removed ${path}`);
  }
  return 0;
}

const args = process.argv.slice(2);
if (args.some((a) => a !== '--check')) {
  console.error(`usage: ${FIX} [--check]`);
  process.exit(2);
}
process.exitCode = await main(args.includes('--check'));
