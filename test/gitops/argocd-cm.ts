// config/argocd/argocd-cm-patch.yaml is made from the Lua health scripts
// beside it, so the patch users merge into Argo CD's argocd-cm can never say
// something the tested scripts do not. `npm run generate` rewrites it and
// `make verify` fails when it is stale (operator/api/generate.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARGOCD_DIR, HEALTH_SCRIPTS, type HealthKind } from '../harness/gitops.js';

export const PATCH_PATH = join(ARGOCD_DIR, 'argocd-cm-patch.yaml');

export function healthKey(kind: HealthKind): string {
  return `resource.customizations.health.cutover.dev_${kind}`;
}

export function renderArgocdCmPatch(): string {
  const kinds = (Object.keys(HEALTH_SCRIPTS) as HealthKind[]).sort();
  const entries = kinds.map((kind) => {
    const lua = readFileSync(join(ARGOCD_DIR, HEALTH_SCRIPTS[kind]), 'utf8').trimEnd();
    const body = lua
      .split('\n')
      .map((line) => (line === '' ? '' : `    ${line}`))
      .join('\n');
    return `  ${healthKey(kind)}: |\n${body}\n`;
  });
  return [
    '# Generated from config/argocd/*.lua by `npm run generate`; edit the .lua files.',
    "# Argo CD health checks for Cutover's kinds: merge into argocd-cm (docs/gitops.md).",
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: argocd-cm',
    'data:',
    ...entries,
  ].join('\n');
}
