// The two installs produce the same objects: `kubectl kustomize config/default`
// and `helm template cutover charts/cutover -n cutover-system --include-crds`
// with default values, compared object by object (kind, namespace, name and
// every field) once Helm's bookkeeping labels are gone. The differences that
// remain are listed below, each with its reason, and each must still exist:
// one that disappears is taken off the list.
// With the audit trail's database, the overlay docs/install.md shows
// (config/audit and a patch of flags) and the chart's audit values give the
// same Deployment.
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import {
  AUDIT_VALUES,
  keyOf,
  KUSTOMIZE_DEFAULT,
  kustomizeDefault,
  kustomizeOverlay,
  renderChart,
  root,
  type Manifest,
} from './tools.js';

/** Labels Helm adds to tell releases apart; they carry no meaning for the objects themselves. */
const BOOKKEEPING_LABELS = [
  'app.kubernetes.io/instance',
  'app.kubernetes.io/version',
  'app.kubernetes.io/managed-by',
  'helm.sh/chart',
];
const NAME_LABEL = 'app.kubernetes.io/name';

interface AllowedDifference {
  why: string;
  /** Removes the difference from both sides; returns false when there was none to remove. */
  reconcile(kustomize: Map<string, Manifest>, helm: Map<string, Manifest>): boolean;
}

const ALLOWED: AllowedDifference[] = [
  {
    why:
      'Namespace cutover-system is created by kustomize only: Helm installs into the release ' +
      'namespace and does not own it (docs/install.md labels it for the restricted profile)',
    reconcile: (kustomize) => kustomize.delete('Namespace//cutover-system'),
  },
  {
    why:
      'Helm puts app.kubernetes.io/name on every object it renders; config/ only on the ' +
      'Deployment, its pods and the metrics Service',
    reconcile: (kustomize, helm) => {
      let found = false;
      for (const [key, h] of helm) {
        const k = kustomize.get(key);
        if (
          k &&
          h.metadata.labels?.[NAME_LABEL] !== undefined &&
          k.metadata.labels?.[NAME_LABEL] === undefined
        ) {
          h.metadata.labels = withoutKeys(h.metadata.labels, [NAME_LABEL]);
          if (Object.keys(h.metadata.labels ?? {}).length === 0) delete h.metadata.labels;
          found = true;
        }
      }
      return found;
    },
  },
];

function withoutKeys(
  map: Record<string, string> | undefined,
  keys: string[],
): Record<string, string> | undefined {
  if (!map) return map;
  return Object.fromEntries(Object.entries(map).filter(([k]) => !keys.includes(k)));
}

/**
 * Drops the bookkeeping labels wherever labels are: metadata, selectors, pod
 * templates. A Service's `selector` is a label map itself; a Deployment's or
 * PodMonitor's holds `matchLabels`, which no bookkeeping label is named like.
 */
function stripBookkeeping(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => stripBookkeeping(v));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  const isLabelMap = key === 'labels' || key === 'matchLabels' || key === 'selector';
  const kept = isLabelMap ? entries.filter(([k]) => !BOOKKEEPING_LABELS.includes(k)) : entries;
  const out = Object.fromEntries(kept.map(([k, v]) => [k, stripBookkeeping(v, k)]));
  if (out.metadata && typeof out.metadata === 'object') {
    const meta = out.metadata as { labels?: Record<string, string> };
    if (meta.labels && Object.keys(meta.labels).length === 0) delete meta.labels;
  }
  return out;
}

function byKey(objects: Manifest[]): Map<string, Manifest> {
  const map = new Map<string, Manifest>();
  for (const m of objects) {
    if (map.has(keyOf(m))) throw new Error(`${keyOf(m)} is rendered twice`);
    map.set(keyOf(m), m);
  }
  return map;
}

let kustomize: Map<string, Manifest>;
let helm: Map<string, Manifest>;
const present: string[] = [];

beforeAll(async () => {
  const [k, h] = await Promise.all([
    kustomizeDefault(),
    renderChart('cutover', 'cutover-system', {}, ['--include-crds']),
  ]);
  kustomize = byKey(k.objects);
  helm = byKey(h.objects.map((m) => stripBookkeeping(m) as Manifest));
  for (const difference of ALLOWED) if (difference.reconcile(kustomize, helm)) present.push(difference.why);
});

test('every listed difference still exists', () => {
  expect(present).toEqual(ALLOWED.map((d) => d.why));
});

test('kustomize and Helm render the same set of objects', () => {
  expect([...helm.keys()].sort()).toEqual([...kustomize.keys()].sort());
});

test('every object is the same, field by field', () => {
  for (const [key, k] of kustomize) {
    expect([key, helm.get(key)]).toEqual([key, k]);
  }
});

test('with the audit database: config/audit plus a flags patch is the chart’s audit values', async () => {
  // docs/install.md's overlay.
  const overlay = await kustomizeOverlay({
    resources: [KUSTOMIZE_DEFAULT],
    components: [resolve(root, 'config/audit')],
    patches: [
      {
        target: { kind: 'Deployment', name: 'cutover-operator' },
        patch: stringify(
          ['--audit-retention-days=730', '--audit-buffer-size=50000'].map((value) => ({
            op: 'add',
            path: '/spec/template/spec/containers/0/args/-',
            value,
          })),
        ),
      },
    ],
  });
  const key = 'Deployment/cutover-system/cutover-operator';
  const fromKustomize = byKey(overlay).get(key);
  const fromHelm = byKey(
    (await renderChart('cutover', 'cutover-system', { audit: AUDIT_VALUES })).objects,
  ).get(key);
  expect(fromKustomize).toBeDefined();
  expect(fromHelm && stripBookkeeping(fromHelm)).toEqual(fromKustomize);
  // Not the default Deployment with nothing added on either side.
  expect(fromKustomize).not.toEqual(kustomize.get(key));
});
