// The backup before a destructive contract migration, for real: the
// BackupPolicy's full backup Job run by the harness kubelet (pg_basebackup
// against a real PostgreSQL, into a real S3 server), then the contract; with
// the S3 server gone, the rollout holds before the contract and says why.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { BackupManifest } from '../../operator/backup/manifest.js';
import { storageFor } from '../../operator/backup/storage.js';
import { startExecutor } from '../harness/executor.js';
import { createNamespace, deleteNamespace, installCrds, kubectl, objectApi } from '../harness/kube.js';
import { startOperator, type OperatorProcess } from '../harness/operator.js';
import { startPostgres, type PostgresInstance } from '../harness/postgres.js';
import { startS3, type S3Server } from '../harness/s3.js';
import { waitFor } from '../harness/wait.js';
import { appDatabase, query } from './database.js';
import { API, configMap, environment, httpRoute, readRelease, release, setVersion } from './fixtures.js';

const api = objectApi();
const BUCKET = 'backups';
const PREFIX = 'shop';
let ns: string;
let db: PostgresInstance;
let s3: S3Server;
let s3Stopped = false;
/** The storage the retry writes to, after the first one went away. */
let s3b: S3Server | undefined;
let executor: Awaited<ReturnType<typeof startExecutor>>;
let op: OperatorProcess;
let url: string;

const contract = (name: string) => ({
  migrations: {
    databaseSecretRef: { name: 'db-shop', key: 'url' },
    contract: { configMapRef: { name }, after: '1s' },
  },
  backupPolicyRef: { name: 'before-contract' },
});

async function patchSpec(spec: Record<string, unknown>): Promise<void> {
  await kubectl('-n', ns, 'patch', 'release', 'shop', '--type', 'merge', '-p', JSON.stringify({ spec }));
}

async function columns(): Promise<string[]> {
  const rows = await query<{ column_name: string }>(
    url,
    "SELECT column_name FROM information_schema.columns WHERE table_name = 'customers' ORDER BY column_name",
  );
  return rows.map((r) => r.column_name);
}

async function jobNames(): Promise<string[]> {
  const out = (await kubectl('-n', ns, 'get', 'jobs', '-o', 'name')).trim();
  return out ? out.split('\n').map((n) => n.replace(/^job\.batch\//, '')) : [];
}

beforeAll(async () => {
  await installCrds();
  [db, s3] = await Promise.all([startPostgres(), startS3()]);
  await s3.createBucket(BUCKET);
  ns = await createNamespace('relbackup', api);
  await api.create(environment(ns));
  url = await appDatabase(api, ns, db.url, 'shop');
  await query(url, 'CREATE TABLE customers (id serial primary key, name text, legacy_code text, fax text)');
  await query(url, "INSERT INTO customers (name, legacy_code, fax) VALUES ('a', 'L1', 'F1')");
  await api.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's3-creds', namespace: ns },
    stringData: {
      AWS_ACCESS_KEY_ID: s3.config.accessKey,
      AWS_SECRET_ACCESS_KEY: s3.config.secretKey,
    },
  } as KubernetesObject);
  await api.create({
    apiVersion: API,
    kind: 'BackupPolicy',
    metadata: { name: 'before-contract', namespace: ns },
    spec: {
      databaseSecretRef: { name: 'db-shop', key: 'url' },
      full: { schedule: '0 3 * * *' },
      storage: {
        s3: { bucket: BUCKET, prefix: PREFIX, endpoint: s3.config.endpoint, secretRef: { name: 's3-creds' } },
      },
    },
  } as KubernetesObject);
  await api.create(
    configMap(ns, 'drop-legacy', {
      '002_drop_legacy.up.sql': 'ALTER TABLE customers DROP COLUMN legacy_code;',
    }),
  );
  await api.create(
    configMap(ns, 'drop-fax', { '003_drop_fax.up.sql': 'ALTER TABLE customers DROP COLUMN fax;' }),
  );
  executor = await startExecutor({ namespaces: [ns] });
  op = await startOperator({ leaseName: `relbackup-${process.pid}` });
  await op.waitReady();
  await api.create(httpRoute(ns, 'shop'));
  await api.create(release(ns, 'shop'));
  await waitFor(async () => (await readRelease(api, ns, 'shop')).status?.phase === 'Succeeded', {
    timeoutMs: 60_000,
    description: 'v1',
  });
});

afterAll(async () => {
  await op?.kill9();
  await executor?.stop();
  if (ns) await deleteNamespace(ns, api);
  if (!s3Stopped) await s3?.stop();
  await s3b?.stop();
  await db?.stop();
});

test('a destructive contract waits for a full backup in the bucket, then runs', async () => {
  await patchSpec(contract('drop-legacy'));
  await setVersion(api, ns, 'shop', '2.0.0');
  await waitFor(
    async () => {
      const s = (await readRelease(api, ns, 'shop')).status;
      return s?.phase === 'Succeeded' && s.stableVersion === '2.0.0';
    },
    { timeoutMs: 90_000, description: 'v2 backed up and contracted' },
  );
  const rel = await readRelease(api, ns, 'shop');
  const backup = rel.status?.backup;
  expect(backup).toMatchObject({ phase: 'Succeeded', policy: 'before-contract' });
  expect(backup?.job).toMatch(/^shop-backup-/);
  const storage = storageFor(`s3://${BUCKET}/${PREFIX}`, s3.env);
  const ids = (await storage.list('full')).map((k) => k.replace(/^full\//, ''));
  expect(ids).toEqual([backup?.id]);
  const manifest = JSON.parse(
    (await storage.getText(`full/${backup?.id ?? ''}/manifest.json`)) ?? '{}',
  ) as BackupManifest;
  expect(manifest.id).toBe(backup?.id);
  const [applied] = await query<{ applied_at: Date }>(
    url,
    "SELECT applied_at FROM cutover_schema_migrations WHERE phase = 'contract'",
  );
  expect(Date.parse(manifest.finishedAt)).toBeLessThan(applied?.applied_at.getTime() ?? 0);
  expect(await columns()).toEqual(['fax', 'id', 'name']);
  expect(rel.status?.history?.[0]).toMatchObject({
    version: '2.0.0',
    outcome: 'Succeeded',
    backupId: backup?.id,
  });
  // One backup Job, run once, and the contract after it.
  const jobs = await jobNames();
  expect(jobs.filter((j) => j.startsWith('shop-backup-'))).toEqual([backup?.job]);
  expect(jobs.filter((j) => j.startsWith('shop-contract-'))).toHaveLength(1);
  expect(executor.runs.filter((r) => r.podName.startsWith(`${backup?.job ?? ''}-`))).toHaveLength(1);
}, 120_000);

test('with the storage down: BackingUp, Stalled BackupFailed, no contract, traffic stays on the new version', async () => {
  await s3.stop();
  s3Stopped = true;
  await patchSpec(contract('drop-fax'));
  await setVersion(api, ns, 'shop', '3.0.0');
  await waitFor(
    async () => {
      const s = (await readRelease(api, ns, 'shop')).status;
      const stalled = s?.conditions?.find((c) => c.type === 'Stalled');
      return s?.phase === 'BackingUp' && stalled?.status === 'True';
    },
    { timeoutMs: 90_000, description: 'v3 stalled in BackingUp' },
  );
  const rel = await readRelease(api, ns, 'shop');
  const stalled = rel.status?.conditions?.find((c) => c.type === 'Stalled');
  expect(stalled?.reason).toBe('BackupFailed');
  expect(stalled?.message).toContain(s3.config.endpoint);
  expect(rel.status?.backup).toMatchObject({ phase: 'Failed' });
  expect(rel.status?.backup?.message).toContain(s3.config.endpoint);
  // Held there: a reconcile after the failure (a spec edit that is not a new rollout) still runs no contract.
  await patchSpec({ scaleDownDelay: '3s' });
  const generation = (await readRelease(api, ns, 'shop')).metadata?.generation ?? 0;
  await waitFor(
    async () => ((await readRelease(api, ns, 'shop')).status?.observedGeneration ?? 0) >= generation,
    { timeoutMs: 20_000, description: 'a reconcile of the edited spec' },
  );
  expect((await readRelease(api, ns, 'shop')).status?.phase).toBe('BackingUp');
  const contractJob = rel.status?.migrations?.contract?.job ?? '';
  expect(contractJob).not.toBe('');
  expect(await jobNames()).not.toContain(contractJob);
  expect(await columns()).toEqual(['fax', 'id', 'name']);
  // All traffic on v3: the stable Service selects its slot, and the route gives the preview nothing.
  const active = rel.status?.activeSlot;
  expect(rel.status).toMatchObject({ stableVersion: '3.0.0', canaryWeight: 100 });
  const svc = JSON.parse(await kubectl('-n', ns, 'get', 'service', 'shop', '-o', 'json')) as {
    spec: { selector: Record<string, string> };
  };
  expect(svc.spec.selector).toEqual({ app: 'shop', slot: active });
  const deployments = JSON.parse(
    await kubectl('-n', ns, 'get', 'deployments', '-l', 'app.kubernetes.io/managed-by=cutover', '-o', 'json'),
  ) as {
    items: Array<{ metadata: { name: string; labels: Record<string, string> }; spec: { replicas: number } }>;
  };
  const bySlot = Object.fromEntries(deployments.items.map((d) => [d.metadata.labels.slot, d]));
  expect(bySlot[active ?? '']?.metadata.labels.version).toBe('3.0.0');
  // The previous slot is still up: a breach could still roll back.
  const previous = active === 'blue' ? 'green' : 'blue';
  expect(bySlot[previous]?.spec.replicas).toBeGreaterThan(0);
  const route = JSON.parse(await kubectl('-n', ns, 'get', 'httproute', 'shop', '-o', 'json')) as {
    spec: { rules: Array<{ backendRefs?: Array<{ name: string; weight?: number }> }> };
  };
  const ours = route.spec.rules.flatMap((r) => r.backendRefs ?? []).filter((b) => b.name.startsWith('shop'));
  expect(ours.find((b) => b.name === 'shop-preview')?.weight ?? 0).toBe(0);
}, 120_000);

test('cutover.dev/retry takes a new backup once there is storage again, then the contract runs', async () => {
  const failed = (await readRelease(api, ns, 'shop')).status?.backup?.job ?? '';
  s3b = await startS3();
  await s3b.createBucket(BUCKET);
  const creds = { AWS_ACCESS_KEY_ID: s3b.config.accessKey, AWS_SECRET_ACCESS_KEY: s3b.config.secretKey };
  await kubectl(
    '-n',
    ns,
    'patch',
    'secret',
    's3-creds',
    '--type',
    'merge',
    '-p',
    JSON.stringify({ stringData: creds }),
  );
  await kubectl(
    '-n',
    ns,
    'patch',
    'backuppolicy',
    'before-contract',
    '--type',
    'merge',
    '-p',
    JSON.stringify({ spec: { storage: { s3: { endpoint: s3b.config.endpoint } } } }),
  );
  await kubectl('-n', ns, 'annotate', 'release', 'shop', 'cutover.dev/retry=now');
  await waitFor(
    async () => {
      const s = (await readRelease(api, ns, 'shop')).status;
      return s?.phase === 'Succeeded' && s.stableVersion === '3.0.0';
    },
    { timeoutMs: 60_000, description: 'v3 backed up on retry and contracted' },
  );
  const rel = await readRelease(api, ns, 'shop');
  expect(rel.status?.backup).toMatchObject({ phase: 'Succeeded', attempt: 1, job: `${failed}-r1` });
  const ids = await storageFor(`s3://${BUCKET}/${PREFIX}`, s3b.env).list('full');
  expect(ids).toEqual([`full/${rel.status?.backup?.id ?? ''}`]);
  expect(rel.status?.history?.[0]).toMatchObject({ version: '3.0.0', backupId: rel.status?.backup?.id });
  expect(await columns()).toEqual(['id', 'name']);
  expect(rel.metadata?.annotations?.['cutover.dev/retry']).toBeUndefined();
}, 90_000);

test('no secret in the Release status, the Events, or the backup Jobs', async () => {
  const secrets = [db.password, s3.config.secretKey, s3b?.config.secretKey ?? ''];
  const rel = JSON.stringify(await readRelease(api, ns, 'shop'));
  const events = await kubectl('-n', ns, 'get', 'events', '-o', 'json');
  const jobs = JSON.parse(await kubectl('-n', ns, 'get', 'jobs', '-o', 'json')) as {
    items: Array<{ metadata: { name: string }; spec: { template: { spec: { containers: unknown[] } } } }>;
  };
  const backups = jobs.items.filter((j) => j.metadata.name.startsWith('shop-backup-'));
  expect(backups).toHaveLength(3);
  expect(events).toContain('BackupFailed');
  for (const text of [rel, events, ...backups.map((j) => JSON.stringify(j))]) {
    for (const s of secrets) expect(text).not.toContain(s);
  }
});
