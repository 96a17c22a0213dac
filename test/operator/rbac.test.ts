// The operator running with exactly the permissions of config/rbac (a
// ServiceAccount token, not the admin kubeconfig) completes a rollout with a
// migration Job and reads a failed Job's message: the ClusterRole is enough.
import { join, resolve } from 'node:path';
import { startExecutor } from '../harness/executor.js';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  kubeconfigForServiceAccount,
  kubectl,
  objectApi,
  waitNoTerminatingNamespaces,
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
  await waitNoTerminatingNamespaces();
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
  op = await startOperator({
    kubeconfig: await kubeconfigForServiceAccount('cutover-system', 'cutover'),
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

test('config/rbac is enough for a BackupPolicy: its CronJobs and WAL Deployment applied, then removed with their kinds', async () => {
  if (!op) throw new Error('the operator of the first test is not running');
  await api.create({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'backups', namespace: ns },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  } as never);
  const policy = {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'BackupPolicy',
    metadata: { name: 'nightly', namespace: ns },
    spec: {
      databaseSecretRef: { name: 'db', key: 'url' },
      full: { schedule: '0 2 * * *' },
      incremental: { interval: '5s' },
      verify: { schedule: '0 4 * * 0' },
      storage: { pvc: { claimName: 'backups' } },
      // Nothing streams: the receiver is scaled to zero.
      suspend: true,
    },
  };
  await api.create(policy as never);
  const owned = async () =>
    (
      await kubectl(
        '-n',
        ns,
        'get',
        'cronjobs,deployments',
        '-l',
        'cutover.dev/backup-policy=nightly',
        '-o',
        'name',
      )
    )
      .trim()
      .split('\n')
      .filter(Boolean)
      .sort();
  await waitFor(async () => (await owned()).length === 4, {
    timeoutMs: 30_000,
    description: 'the CronJobs and WAL Deployment',
  });
  expect(await owned()).toEqual([
    'cronjob.batch/nightly-full',
    'cronjob.batch/nightly-prune',
    'cronjob.batch/nightly-verify',
    'deployment.apps/nightly-wal',
  ]);
  await kubectl(
    '-n',
    ns,
    'patch',
    'backuppolicy',
    'nightly',
    '--type',
    'json',
    '-p',
    JSON.stringify([
      { op: 'remove', path: '/spec/verify' },
      { op: 'remove', path: '/spec/incremental' },
    ]),
  );
  await waitFor(async () => (await owned()).length === 2, {
    timeoutMs: 30_000,
    description: 'verify and WAL removed',
  });
  expect(await owned()).toEqual(['cronjob.batch/nightly-full', 'cronjob.batch/nightly-prune']);
  const log = await op.proc.logTail(64 * 1024);
  expect(log).not.toMatch(/forbidden|RBAC denies/i);
  expect(await op.metric('cutover_reconcile_errors_total')).toBe(0);
});
