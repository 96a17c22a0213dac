// Status fixtures: real objects the integration test (health.test.ts) saw on
// the local cluster, with the health each reader gave them, so the Argo CD
// scripts and kstatus are re-checked over them without a cluster
// (argocd.test.ts). CUTOVER_WRITE_FIXTURES=1 on health.test.ts rewrites them.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { format, resolveConfig } from 'prettier';
import type { ArgoHealth, JsonValue, KstatusStatus } from '../harness/gitops.js';

export const FIXTURE_DIR = resolve(import.meta.dirname, '../fixtures/status');

export interface Expected {
  kstatus: KstatusStatus;
  argo: ArgoHealth;
}

export interface StatusFixture extends Expected {
  /** What the object is an example of, e.g. "Release held by an approval gate". */
  about: string;
  object: { kind: string; [key: string]: JsonValue };
}

/**
 * The object as stored: the server's bookkeeping left out, and the throwaway
 * namespace, wherever it appears (messages name it too), called "shop".
 */
export function normalize(obj: object, namespace: string): StatusFixture['object'] {
  const text = JSON.stringify(obj).replaceAll(namespace, 'shop');
  const o = JSON.parse(text) as StatusFixture['object'] & { metadata?: Record<string, JsonValue> };
  if (o.metadata) {
    const { managedFields: _f, uid: _u, resourceVersion: _r, creationTimestamp: _c, ...kept } = o.metadata;
    o.metadata = kept;
  }
  return o;
}

/** Written the way `make lint` wants them, so a refresh never leaves Prettier work behind. */
export async function writeFixture(name: string, fixture: StatusFixture): Promise<void> {
  mkdirSync(FIXTURE_DIR, { recursive: true });
  const path = join(FIXTURE_DIR, `${name}.json`);
  const options = { ...(await resolveConfig(path)), filepath: path };
  writeFileSync(path, await format(JSON.stringify(fixture), options));
}

export function readFixtures(): Array<{ name: string; fixture: StatusFixture }> {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({
      name: f.replace(/\.json$/, ''),
      fixture: JSON.parse(readFileSync(join(FIXTURE_DIR, f), 'utf8')) as StatusFixture,
    }));
}
