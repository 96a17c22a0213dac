import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { HEADER, REPO_ROOT, renderAll } from './codegen.js';
import { customResourceDefinitions } from './v1alpha1/index.js';

function onDisk(path: string): string | undefined {
  try {
    return readFileSync(join(REPO_ROOT, path), 'utf8');
  } catch {
    return undefined;
  }
}

test('checked-in generated files are up to date (fix: node_modules/.bin/tsx operator/api/generate.ts)', async () => {
  const files = await renderAll();
  const stale = [...files].filter(([path, text]) => onDisk(path) !== text).map(([path]) => path);
  expect(stale).toEqual([]);
});

test('rendering is deterministic', async () => {
  expect([...(await renderAll())]).toEqual([...(await renderAll())]);
});

test('every generated file says so and the YAML round-trips to the in-memory CRDs', async () => {
  const files = await renderAll();
  for (const text of files.values()) expect(text.split('\n')[0]).toContain(HEADER);
  for (const crd of customResourceDefinitions) {
    expect(parse(files.get(`crds/${crd.metadata.name}.yaml`) ?? '')).toEqual(crd);
  }
});
