// `kubectl apply --server-side -k config/default` on the local cluster: every
// object the kustomization renders is created, and the operator Deployment
// becomes Available in cutover-system under the restricted Pod Security
// profile (KWOK runs no container, it marks the admitted pods Ready).
// The image the operator gives migration and backup Jobs (CUTOVER_IMAGE)
// follows its own, also through an overlay's `images:` override.
// Everything this test created is deleted again, except the cutover.dev CRDs:
// they are the ones the harness installs (installCrds applies the same crds/
// with the same field manager), and other tests use them.
import { installCrds, kubectl, objectApi } from '../harness/kube.js';
import { waitFor } from '../harness/wait.js';
import {
  ensureMonitoringCrds,
  exists,
  expectDeploymentUp,
  keyOf,
  KUSTOMIZE_DEFAULT,
  kustomizeDefault,
  kustomizeOverlay,
  operatorImages,
  podSecurityRefusal,
  type Manifest,
} from './tools.js';

const NAMESPACE = 'cutover-system';
const api = objectApi();
let objects: Manifest[] = [];
let created: Manifest[] = [];
let removeMonitoringCrds: () => Promise<void> = async () => undefined;

beforeAll(async () => {
  objects = (await kustomizeDefault()).objects;
  await installCrds();
  removeMonitoringCrds = await ensureMonitoringCrds();
  // Another test (test/operator/rbac.test.ts) may have made some of these
  // already; only what this test creates is removed afterwards.
  const before = await Promise.all(objects.map((m) => exists(api, m)));
  created = objects.filter((m, i) => !before[i] && m.kind !== 'CustomResourceDefinition');
});

afterAll(async () => {
  const namespaceCreated = created.some((m) => m.kind === 'Namespace');
  for (const m of created.filter((o) => o.kind !== 'Namespace')) {
    if (namespaceCreated && m.metadata.namespace === NAMESPACE) continue;
    await api.delete(m).catch(() => undefined);
  }
  if (namespaceCreated) {
    await kubectl('delete', 'namespace', NAMESPACE, '--ignore-not-found', '--wait=false');
    await waitFor(
      async () =>
        !(await exists(api, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } })),
      {
        timeoutMs: 90_000,
        description: `namespace ${NAMESPACE} to be deleted`,
      },
    );
  }
  await removeMonitoringCrds();
});

test('config/default renders the namespace, CRDs, RBAC, Deployment, metrics Service, PodMonitor and PrometheusRule', () => {
  const kinds = new Set(objects.map((m) => m.kind));
  for (const kind of [
    'Namespace',
    'CustomResourceDefinition',
    'ServiceAccount',
    'ClusterRole',
    'ClusterRoleBinding',
    'Role',
    'RoleBinding',
    'Deployment',
    'Service',
    'PodMonitor',
    'PrometheusRule',
    'ValidatingAdmissionPolicy',
    'ValidatingAdmissionPolicyBinding',
  ]) {
    expect(kinds).toContain(kind);
  }
  const namespace = objects.find((m) => m.kind === 'Namespace');
  expect(namespace?.metadata).toMatchObject({
    name: NAMESPACE,
    labels: { 'pod-security.kubernetes.io/enforce': 'restricted' },
  });
});

test('the Jobs image follows the operator image, also when an overlay overrides it', async () => {
  const tagged = operatorImages(objects);
  expect(tagged.image).toMatch(/^ghcr\.io\/cutover\/cutover:\d+\.\d+\.\d+/);
  expect(tagged.env).toBe(tagged.image);

  // What `kustomize edit set image` writes into a user's overlay: its images
  // transformer runs after config/manager was built, and must still reach the env.
  const render = async (image: Record<string, string>) =>
    operatorImages(
      await kustomizeOverlay({
        resources: [KUSTOMIZE_DEFAULT],
        images: [{ name: 'ghcr.io/cutover/cutover', ...image }],
      }),
    );
  const byTag = 'registry.example/team/cutover:9.9.9-rc.1';
  expect(await render({ newName: 'registry.example/team/cutover', newTag: '9.9.9-rc.1' })).toEqual({
    image: byTag,
    env: byTag,
  });
  const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
  expect(await render({ newName: 'registry.example/team/cutover', digest })).toEqual({
    image: `registry.example/team/cutover@${digest}`,
    env: `registry.example/team/cutover@${digest}`,
  });
});

test('kubectl apply --server-side -k config/default brings the operator up under the restricted profile', async () => {
  // The harness's field manager, so the CRDs stay owned exactly as installCrds leaves them.
  await kubectl('apply', '--server-side', '--field-manager', 'cutover', '-k', KUSTOMIZE_DEFAULT);

  for (const m of objects) {
    expect([keyOf(m), await exists(api, m)]).toEqual([keyOf(m), true]);
  }
  const labels = JSON.parse(
    await kubectl('get', 'namespace', NAMESPACE, '-o', 'jsonpath={.metadata.labels}'),
  ) as Record<string, string>;
  expect(labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  expect(await podSecurityRefusal(NAMESPACE)).toMatch(/violates PodSecurity "restricted/);

  await expectDeploymentUp(NAMESPACE, 'cutover-operator');

  // The Service finds the operator's pods: its endpoints name both replicas.
  const endpoints = await waitFor(
    async () => {
      const text = await kubectl(
        'get',
        'endpointslices',
        '-n',
        NAMESPACE,
        '-l',
        'kubernetes.io/service-name=cutover-operator-metrics',
        '-o',
        'jsonpath={range .items[*].endpoints[*]}{.targetRef.name}{"\\n"}{end}',
      );
      const names = text.split('\n').filter(Boolean);
      return names.length === 2 ? names : false;
    },
    { timeoutMs: 30_000, description: 'the metrics Service to select both operator pods' },
  );
  expect(endpoints.every((n) => n.startsWith('cutover-operator-'))).toBe(true);
});
