// A BackupPolicy on the local cluster: the operator applies its CronJobs, a
// Job made from the full CronJob really runs `cutover backup full` (the
// harness plays kubelet) against a real PostgreSQL into a real S3 server, and
// status reads the outcome from the Job's report and from the bucket. A Job
// whose database is down fails with the reason in LastBackupSucceeded, and
// the backup already stored stays.
import type { KubernetesObject, V1CronJob, V1Job } from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BackupPolicy } from '../../operator/api/generated/index.js';
import { jobFromCronJob, manualJobName } from '../../operator/backup/objects.js';
import { runRestoreCommand } from '../../operator/backup/command.js';
import { storageFor } from '../../operator/backup/storage.js';
import { startExecutor, type Executor } from '../harness/executor.js';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  kubeconfigPath,
  kubectl,
  objectApi,
} from '../harness/kube.js';
import { startOperator, type OperatorProcess } from '../harness/operator.js';
import { startPostgres, startRestoredPostgres, type PostgresInstance } from '../harness/postgres.js';
import { startS3, type S3Server } from '../harness/s3.js';
import { waitFor } from '../harness/wait.js';
import { query } from '../release/database.js';
import { secret } from '../release/fixtures.js';

const root = resolve(import.meta.dirname, '../..');
const api = objectApi();
const API = 'cutover.dev/v1alpha1';
let ns: string;
let db: PostgresInstance;
let s3: S3Server;
let executor: Executor;
let op: OperatorProcess;

function policy(name: string, dbSecret: string, spec: Record<string, unknown> = {}): KubernetesObject {
  return {
    apiVersion: API,
    kind: 'BackupPolicy',
    metadata: { name, namespace: ns },
    spec: {
      databaseSecretRef: { name: dbSecret, key: 'url' },
      // Never due during the test: every Job here is started by hand.
      full: { schedule: '0 3 1 1 *' },
      storage: {
        s3: { bucket: 'backups', prefix: name, endpoint: s3.config.endpoint, secretRef: { name: 's3' } },
      },
      ...spec,
    },
  } as KubernetesObject;
}

const read = async (name: string) =>
  (await api.read({
    apiVersion: API,
    kind: 'BackupPolicy',
    metadata: { name, namespace: ns },
  })) as unknown as BackupPolicy;
const condition = (b: BackupPolicy, type: string) => b.status?.conditions?.find((c) => c.type === type);

/** `kubectl cutover backup now <policy>`, as a user runs it: it prints the Job and follows it to its end. */
function pluginBackupNow(name: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      join(root, 'node_modules/.bin/tsx'),
      [join(root, 'operator/plugin/kubectl-cutover.ts'), 'backup', 'now', name, '-n', ns],
      { cwd: root, env: { ...process.env, KUBECONFIG: kubeconfigPath() } },
      (err, stdout, stderr) => done({ code: err ? Number(err.code ?? -1) : 0, stdout, stderr }),
    );
  });
}

async function backupNow(name: string, kind: 'full' | 'verify' = 'full'): Promise<string> {
  const cron = (await api.read({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: `${name}-${kind}`, namespace: ns },
  })) as V1CronJob;
  const job = jobFromCronJob(cron, manualJobName(name, kind, new Date()));
  await api.create(job as KubernetesObject);
  return job.metadata?.name ?? '';
}

beforeAll(async () => {
  await installCrds();
  [db, s3] = await Promise.all([startPostgres(), startS3()]);
  await s3.createBucket('backups');
  ns = await createNamespace('backup-policy', api);
  await query(db.url, 'CREATE TABLE IF NOT EXISTS orders (id int primary key)');
  await query(db.url, 'INSERT INTO orders VALUES (1), (2) ON CONFLICT DO NOTHING');
  await api.create(secret(ns, 'db', { url: db.url }));
  // Nothing listens there: a database that is down.
  await api.create(secret(ns, 'db-down', { url: db.url.replace(/:(\d+)\//, ':1/') }));
  await api.create(
    secret(ns, 's3', { AWS_ACCESS_KEY_ID: s3.config.accessKey, AWS_SECRET_ACCESS_KEY: s3.config.secretKey }),
  );
  executor = await startExecutor({ namespaces: [ns] });
  op = await startOperator({ leaseName: `backup-policy-${process.pid}` });
  await op.waitReady();
});

afterAll(async () => {
  await op?.kill9();
  await executor?.stop();
  if (ns) await deleteNamespace(ns, api);
  await Promise.all([db?.stop(), s3?.stop()]);
});

test('the operator owns the CronJobs; a full taken from one lands in S3 and in status', async () => {
  await api.create(policy('nightly', 'db', { verify: { schedule: '0 4 1 1 *' } }));
  await waitFor(async () => condition(await read('nightly'), 'Ready')?.status === 'True', {
    timeoutMs: 30_000,
    description: 'Ready',
  });
  const crons = JSON.parse(
    await kubectl('-n', ns, 'get', 'cronjobs', '-l', 'cutover.dev/backup-policy=nightly', '-o', 'json'),
  ) as { items: V1CronJob[] };
  expect(crons.items.map((c) => c.metadata?.name).sort()).toEqual([
    'nightly-full',
    'nightly-prune',
    'nightly-verify',
  ]);
  for (const c of crons.items) {
    expect(c.spec?.concurrencyPolicy).toBe('Forbid');
    expect(c.metadata?.ownerReferences?.[0]?.kind).toBe('BackupPolicy');
  }
  expect(condition(await read('nightly'), 'LastBackupSucceeded')).toMatchObject({
    status: 'Unknown',
    reason: 'NoBackupYet',
  });

  const run = await pluginBackupNow('nightly');
  expect(run).toMatchObject({ code: 0, stderr: '' });
  const job = /job\.batch\/(\S+) created/.exec(run.stdout)?.[1];
  expect(run.stdout).toMatch(new RegExp(`${job ?? '-'} succeeded: \\d{8}T\\d{6}\\.\\d{3}Z-[0-9a-f]{4}`));
  await waitFor(async () => condition(await read('nightly'), 'LastBackupSucceeded')?.status === 'True', {
    timeoutMs: 90_000,
    description: 'the full Job succeeds and status says so',
  });
  const b = await read('nightly');
  const stored = await storageFor('s3://backups/nightly', s3.env).list('full');
  expect(stored).toHaveLength(1);
  const id = stored[0]?.split('/')[1];
  expect(b.status?.backups?.[0]).toMatchObject({ id, kind: 'Full', phase: 'Succeeded', job });
  expect(b.status?.backups?.[0]?.size).toMatch(/^[\d.]+(Ki|Mi)$/);
  expect(b.status?.lastFull).toBeDefined();
  expect(b.status?.firstRecoverabilityPoint).toBeDefined();
  expect(
    await op.metric('cutover_backup_last_success_timestamp_seconds', { policy: 'nightly', kind: 'full' }),
  ).toBeGreaterThan(0);
});

test('a database that is down: the Job fails, LastBackupSucceeded=False with the reason, nothing stored is deleted', async () => {
  // Same bucket prefix as nightly: its backup must survive a failure here.
  await api.create(
    policy('downdb', 'db-down', {
      storage: {
        s3: { bucket: 'backups', prefix: 'nightly', endpoint: s3.config.endpoint, secretRef: { name: 's3' } },
      },
    }),
  );
  await waitFor(async () => condition(await read('downdb'), 'Ready')?.status === 'True', {
    timeoutMs: 30_000,
    description: 'Ready',
  });
  const before = await storageFor('s3://backups/nightly', s3.env).list('full');
  const job = await backupNow('downdb');
  await waitFor(async () => condition(await read('downdb'), 'LastBackupSucceeded')?.status === 'False', {
    timeoutMs: 90_000,
    description: 'the failure in status',
  });
  const c = condition(await read('downdb'), 'LastBackupSucceeded');
  expect(c?.reason).toBe('BackupFailed');
  expect(c?.message).toContain(job);
  expect(c?.message).toMatch(/connect|refused/i);
  expect(await storageFor('s3://backups/nightly', s3.env).list('full')).toEqual(before);
  const j = (await api.read({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: job, namespace: ns },
  })) as V1Job;
  expect(j.status?.failed).toBe(1);
});

/** A restore of everything the bucket holds, started as a real server: the ids in `table`. */
async function restoredIds(prefix: string, table: string): Promise<number[]> {
  const base = await mkdtemp(join(tmpdir(), 'cutover-policy-restore-'));
  const pgdata = join(base, 'data');
  const out: string[] = [];
  const err: string[] = [];
  const code = await runRestoreCommand(['--from', `s3://backups/${prefix}`, '--latest', '--pgdata', pgdata], {
    env: s3.env,
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
  });
  expect({ code, err }).toEqual({ code: 0, err: [] });
  const restored = await startRestoredPostgres(db, pgdata);
  try {
    await waitFor(
      async () =>
        (await query<{ r: boolean }>(restored.url, 'SELECT pg_is_in_recovery() AS r'))[0]?.r === false,
      { timeoutMs: 60_000, intervalMs: 100, description: 'the restored server to promote' },
    );
    return (await query<{ id: number }>(restored.url, `SELECT id FROM ${table} ORDER BY id`)).map(
      (r) => r.id,
    );
  } finally {
    await restored.stop();
    await rm(base, { recursive: true, force: true });
  }
}

test('the WAL Deployment streams into S3; its pod deleted and replaced leaves no gap', async () => {
  await query(db.url, 'CREATE TABLE streamed (id int primary key)');
  await api.create(
    policy('streaming', 'db', { incremental: { interval: '1s' }, verify: { schedule: '0 4 1 1 *' } }),
  );
  // The receiver stores WAL before the first full, so the full's WAL range is covered from its start.
  await waitFor(async () => (await read('streaming')).status?.lastIncremental !== undefined, {
    timeoutMs: 90_000,
    description: 'WAL shipped by the Deployment',
  });
  expect((await pluginBackupNow('streaming')).code).toBe(0);
  await query(db.url, 'INSERT INTO streamed VALUES (1), (2)');
  const written = Date.now();
  await waitFor(
    async () => {
      const b = await read('streaming');
      return (
        condition(b, 'WalStreaming')?.status === 'True' &&
        Date.parse(b.status?.lastRecoverabilityPoint ?? '') > written
      );
    },
    { timeoutMs: 60_000, description: 'WalStreaming=True and the rows recoverable' },
  );
  expect(await op.metric('cutover_backup_wal_lag_seconds', { policy: 'streaming' })).toBeLessThan(60);

  // A node lost, as the kubelet sees it: the pod goes, the ReplicaSet makes another.
  const pods = () =>
    kubectl(
      '-n',
      ns,
      'get',
      'pods',
      '-l',
      'cutover.dev/job=backup-wal',
      '-o',
      'jsonpath={.items[*].metadata.name}',
    );
  const first = (await pods()).trim();
  expect(first).not.toBe('');
  await kubectl('-n', ns, 'delete', 'pod', first, '--wait=false');
  await query(db.url, 'INSERT INTO streamed VALUES (3)');
  await waitFor(
    async () => {
      const now = (await pods()).trim();
      return now !== '' && !now.includes(first);
    },
    {
      timeoutMs: 60_000,
      description: 'a new WAL pod',
    },
  );
  await query(db.url, 'INSERT INTO streamed VALUES (4)');
  const later = Date.now();
  await waitFor(
    async () => {
      const b = await read('streaming');
      return (
        condition(b, 'WalStreaming')?.status === 'True' &&
        Date.parse(b.status?.lastRecoverabilityPoint ?? '') > later
      );
    },
    { timeoutMs: 90_000, description: 'the new pod ships the rows written around the restart' },
  );
  expect(condition(await read('streaming'), 'WalStreaming')?.reason).toBe('Streaming');
  expect(await restoredIds('streaming', 'streamed')).toEqual([1, 2, 3, 4]);

  // The drill, from its CronJob: the newest full plus WAL in a throwaway server.
  await backupNow('streaming', 'verify');
  await waitFor(async () => condition(await read('streaming'), 'Verified')?.status === 'True', {
    timeoutMs: 90_000,
    description: 'Verified=True from the restore drill',
  });
  expect((await read('streaming')).status?.lastVerified).toBeDefined();

  // Suspended: the receiver stops and its slot goes, or the server would keep WAL for it forever.
  const slots = async () =>
    (
      await query<{ slot_name: string }>(
        db.url,
        "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'cutover_%streaming%'",
      )
    ).map((r) => r.slot_name);
  expect(await slots()).toHaveLength(1);
  await kubectl(
    '-n',
    ns,
    'patch',
    'backuppolicy',
    'streaming',
    '--type',
    'merge',
    '-p',
    '{"spec":{"suspend":true}}',
  );
  await waitFor(async () => condition(await read('streaming'), 'WalStreaming')?.reason === 'Suspended', {
    timeoutMs: 90_000,
    description: 'WalStreaming=False Suspended once the slot is dropped',
  });
  expect(await slots()).toEqual([]);
});

test('the database password never reaches status, Events, Jobs, CronJobs or the logs', async () => {
  const password = new URL(db.url).password;
  expect(password.length).toBeGreaterThan(3);
  const dump = [
    await kubectl('-n', ns, 'get', 'backuppolicies', '-o', 'json'),
    await kubectl('-n', ns, 'get', 'events', '-o', 'json'),
    await kubectl('-n', ns, 'get', 'jobs,cronjobs', '-o', 'json'),
    ...executor.runs.flatMap((r) => [r.stdout, r.stderr, r.message]),
    await readFile(op.proc.logPath, 'utf8'),
  ].join('\n');
  expect(dump).not.toContain(password);
  expect(dump).not.toContain(s3.config.secretKey);
});
