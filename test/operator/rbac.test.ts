// The operator running with exactly the permissions of config/rbac (a
// ServiceAccount token, not the admin kubeconfig) completes a rollout with a
// migration Job and reads a failed Job's message: the ClusterRole is enough.
import { join, resolve } from 'node:path';
import { startExecutor } from '../harness/executor.js';
import {
  clusterEndpoint,
  createNamespace,
  deleteNamespace,
  installCrds,
  kubectl,
  objectApi,
  writeKubeconfig,
} from '../harness/kube.js';
import { startOperator, type OperatorProcess } from '../harness/operator.js';
import { waitFor } from '../harness/wait.js';
import { environment, httpRoute, readRelease, release } from '../release/fixtures.js';

const root = resolve(import.meta.dirname, '../..');
const api = objectApi();
let ns: string;
let op: OperatorProcess | undefined;
let executor: Awaited<ReturnType<typeof startExecutor>> | undefined;

beforeAll(async () => {
  await installCrds();
  await kubectl('create', 'namespace', 'cutover-system').catch(() => undefined);
  await kubectl('apply', '--server-side', '-k', join(root, 'config/rbac'));
  ns = await createNamespace('rbac', api);
  await api.create(environment(ns));
  executor = await startExecutor({ namespaces: [ns] });
});

afterAll(async () => {
  await op?.kill9();
  await executor?.stop();
  await deleteNamespace(ns, api);
});

test('config/rbac is enough for a rollout with migrations', async () => {
  const token = (
    await kubectl('-n', 'cutover-system', 'create', 'token', 'cutover', '--duration', '1h')
  ).trim();
  const path = writeKubeconfig(await clusterEndpoint(), token);
  op = await startOperator({
    kubeconfig: path,
    leaseNamespace: 'cutover-system',
    leaseName: `rbac-${process.pid}`,
  });
  await op.waitReady();

  const jobMigration = (command: string) => ({
    migrations: {
      databaseSecretRef: { name: 'db', key: 'url' },
      expand: { image: 'example.com/migrator:1', command: ['sh', '-c', command] },
    },
  });
  await api.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db', namespace: ns },
    stringData: { url: 'postgres://unused' },
  } as never);
  await api.create(httpRoute(ns, 'ok'));
  await api.create(release(ns, 'ok', { extra: jobMigration('exit 0') }));
  await api.create(
    release(ns, 'bad', {
      mode: 'Service',
      extra: jobMigration('echo "no database here" >/dev/termination-log; exit 3'),
    }),
  );

  await waitFor(async () => (await readRelease(api, ns, 'ok')).status?.phase === 'Succeeded', {
    timeoutMs: 60_000,
    description: 'the rollout under config/rbac',
  });
  await waitFor(async () => (await readRelease(api, ns, 'bad')).status?.phase === 'Failed', {
    timeoutMs: 60_000,
    description: 'the failing migration under config/rbac',
  });
  const bad = await readRelease(api, ns, 'bad');
  expect(bad.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain('no database here');
  const log = await op.proc.logTail(64 * 1024);
  expect(log).not.toMatch(/forbidden|RBAC denies/i);
  expect(await op.metric('cutover_reconcile_errors_total')).toBe(0);
});
