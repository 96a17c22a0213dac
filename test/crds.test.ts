// The generated CRDs against a real kube-apiserver: they install, every
// sample is admitted, every invalid fixture is refused with a message that
// names its field, and kubectl explain / get show what the schema promises.
import * as k8s from '@kubernetes/client-node';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { createNamespace, deleteNamespace, kubeConfig, kubectl, objectApi } from './harness/kube.js';
import { waitFor } from './harness/wait.js';

const root = resolve(import.meta.dirname, '..');
const FIELD_MANAGER = 'cutover';

interface Manifest extends k8s.KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: k8s.V1ObjectMeta & { name: string };
  spec: Record<string, unknown>;
}

function manifests(dir: string): [string, Manifest][] {
  return readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .sort()
    .map((f) => [f, parse(readFileSync(join(root, dir, f), 'utf8')) as Manifest]);
}

const crdFiles = readdirSync(join(root, 'crds')).filter((f) => f.endsWith('.cutover.dev.yaml'));
const samples = manifests('config/samples');
// Boundary values a rule must let through; without them, a rule that refused
// everything would pass the invalid corpus.
const valid = [...samples, ...manifests('test/fixtures/valid')];
const fixtures = manifests('test/fixtures/invalid').map(
  ([file, m]) => [file, m.metadata.annotations?.['cutover.dev/test-expect'] ?? '', m] as const,
);

// The apiserver's Status message, which is what kubectl shows the user.
function messageOf(err: unknown): string {
  if (err instanceof k8s.ApiException) {
    const body: unknown = err.body;
    try {
      const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string };
      return status.message ?? String(body);
    } catch {
      return String(body);
    }
  }
  return err instanceof Error ? err.message : String(err);
}

function codeOf(err: unknown): number | undefined {
  return err instanceof k8s.ApiException ? err.code : undefined;
}

let api: k8s.KubernetesObjectApi;
let namespace: string;

function inNamespace(m: Manifest): Manifest {
  return { ...m, metadata: { ...m.metadata, namespace } };
}

async function established(name: string, ext: k8s.ApiextensionsV1Api): Promise<boolean> {
  const crd = await ext.readCustomResourceDefinition({ name });
  const conditions = crd.status?.conditions ?? [];
  const isTrue = (type: string) => conditions.some((c) => c.type === type && c.status === 'True');
  return isTrue('Established') && isTrue('NamesAccepted');
}

beforeAll(async () => {
  const kc = kubeConfig();
  api = objectApi(kc);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  // loadYaml yields the typed model, which the client serialises back with
  // the x-kubernetes-* keys intact; a plain object would lose them.
  const crds = crdFiles.map((f) =>
    k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(join(root, 'crds', f), 'utf8')),
  );
  for (const crd of crds) {
    try {
      await api.patch(crd, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
    } catch (err) {
      throw new Error(`applying ${crd.metadata?.name ?? '?'}: ${messageOf(err)}`, { cause: err });
    }
  }
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    await waitFor(() => established(name, ext), { timeoutMs: 60_000, description: `${name} Established` });
  }
  namespace = await createNamespace('cutover-crds', api);
  // Established means the apiserver serves the kinds; listing each proves
  // this client's discovery sees them too.
  for (const crd of crds) {
    await waitFor(() => api.list(`${crd.spec.group}/v1alpha1`, crd.spec.names.kind, namespace), {
      timeoutMs: 30_000,
      description: `${crd.spec.names.kind} served`,
    });
  }
});

afterAll(async () => {
  if (namespace !== undefined) await deleteNamespace(namespace, api);
});

test('the corpus covers every kind', () => {
  expect(samples.length).toBe(4);
  expect(valid.length).toBeGreaterThan(samples.length);
  expect(fixtures.length).toBeGreaterThanOrEqual(36);
});

test.each(valid)('%s is accepted', async (_file, sample) => {
  const created = await api.create(inNamespace(sample), undefined, 'All', FIELD_MANAGER);
  expect(created.metadata?.name).toBe(sample.metadata.name);
});

test.each(fixtures)('%s is rejected naming the field: %s', async (_file, expected, fixture) => {
  expect(expected).not.toBe('');
  let error: unknown;
  try {
    await api.create(inNamespace(fixture), undefined, 'All', FIELD_MANAGER);
  } catch (err) {
    error = err;
  }
  expect(error).toBeDefined();
  expect(codeOf(error)).toBe(422);
  expect(messageOf(error)).toContain(expected);
});

test('defaults are filled in at admission', async () => {
  const environment = await api.create(
    {
      apiVersion: 'cutover.dev/v1alpha1',
      kind: 'Environment',
      metadata: { name: 'defaults', namespace },
      spec: { tier: 'staging' },
    } as Manifest,
    undefined,
    'All',
  );
  expect((environment as Manifest).spec).toEqual({
    tier: 'staging',
    drift: { mode: 'Report' },
    defaults: { traffic: { steps: [10, 25, 50, 100], stepDuration: '2m' } },
  });
  const policy = (await api.create(
    {
      apiVersion: 'cutover.dev/v1alpha1',
      kind: 'RollbackPolicy',
      metadata: { name: 'defaults', namespace },
      spec: {
        prometheus: { address: 'http://prometheus:9090' },
        triggers: [{ name: 'errors', builtin: 'ErrorRate', threshold: '1%' }],
      },
    } as Manifest,
    undefined,
    'All',
  )) as Manifest;
  expect(policy.spec).toMatchObject({
    prometheus: { timeout: '5s' },
    interval: '30s',
    failureLimit: 2,
    minRequestRate: 1,
    onInconclusive: 'Pause',
    database: { onRollback: 'None' },
  });
});

test("a RollbackPolicy without spec.prometheus still gets the 5s timeout; explain names the operator's flag", async () => {
  const policy = (await api.create(
    {
      apiVersion: 'cutover.dev/v1alpha1',
      kind: 'RollbackPolicy',
      metadata: { name: 'no-prometheus', namespace },
      spec: { triggers: [{ name: 'errors', builtin: 'ErrorRate', threshold: '1%' }] },
    } as Manifest,
    undefined,
    'All',
  )) as Manifest;
  expect(policy.spec.prometheus).toEqual({ timeout: '5s' });
  const out = await waitFor(
    async () => {
      const text = await kubectl('explain', 'rollbackpolicy.spec.prometheus');
      return text.includes('address') ? text : false;
    },
    { timeoutMs: 30_000, description: 'kubectl explain to know RollbackPolicy' },
  );
  expect(out.replace(/\s+/g, ' ')).toContain(
    "When address is unset, the operator's --prometheus-address (CUTOVER_PROMETHEUS_ADDRESS; the Helm value prometheus.address) applies.",
  );
  expect(out).not.toMatch(/address\s+<string> -required-/);
});

describe('with the sample Release created', () => {
  const sample = samples.find(([, m]) => m.kind === 'Release')?.[1];

  beforeAll(async () => {
    if (sample === undefined) throw new Error('no Release sample');
    await api.create(inNamespace(sample), undefined, undefined, FIELD_MANAGER);
  });

  test('kubectl get rel prints APP ENV VERSION STABLE PHASE WEIGHT AGE', async () => {
    const out = await kubectl('get', 'rel', '-n', namespace);
    const [header, row] = out.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual([
      'NAME',
      'APP',
      'ENV',
      'VERSION',
      'STABLE',
      'PHASE',
      'WEIGHT',
      'AGE',
    ]);
    expect(row?.split(/\s+/).slice(0, 4)).toEqual(['shop', 'shop', 'production', '2.4.0']);
  });

  test('the categories include every kind', async () => {
    const out = await kubectl('get', 'cutover', '-n', namespace, '-o', 'name');
    expect(out).toContain('release.cutover.dev/shop');
  });

  test('spec.application cannot change', async () => {
    let error: unknown;
    try {
      await api.patch(
        {
          apiVersion: 'cutover.dev/v1alpha1',
          kind: 'Release',
          metadata: { name: 'shop', namespace },
          spec: { application: 'shop2' },
        },
        undefined,
        undefined,
        'someone-else',
        undefined,
        k8s.PatchStrategy.MergePatch,
      );
    } catch (err) {
      error = err;
    }
    expect(messageOf(error)).toContain('spec.application is immutable');
  });
});

test('kubectl explain release.spec.traffic shows the field descriptions', async () => {
  // The published OpenAPI document trails Established by a moment.
  const out = await waitFor(
    async () => {
      const text = await kubectl('explain', 'release.spec.traffic');
      return text.includes('httpRouteRef') ? text : false;
    },
    { timeoutMs: 30_000, description: 'kubectl explain to know Release' },
  );
  expect(out).toContain('How traffic moves from the stable slot to the new one.');
  expect(out).toContain('HTTPRoute whose backend weights the operator manages');
  expect(out).toContain('strictly increasing');
  for (const field of ['mode', 'httpRouteRef', 'steps', 'stepDuration'])
    expect(out).toMatch(new RegExp(`^\\s+${field}\\b`, 'm'));
});
