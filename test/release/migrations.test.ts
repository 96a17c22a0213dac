// Expand and contract migrations in a real rollout: the Jobs run for real
// (test/harness/executor.ts plays kubelet) against a real PostgreSQL, and the
// operator is killed at every phase boundary on the way.
import { Watch } from '@kubernetes/client-node';
import type { Release } from '../../operator/api/generated/index.js';
import { startExecutor } from '../harness/executor.js';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  kubeConfig,
  kubectl,
  objectApi,
} from '../harness/kube.js';
import { startOperator, type OperatorProcess } from '../harness/operator.js';
import { startPostgres, type PostgresInstance } from '../harness/postgres.js';
import { waitFor } from '../harness/wait.js';
import { appDatabase, query } from './database.js';
import { previewWeight, type HTTPRoute } from '../../operator/release/traffic/route.js';
import { configMap, environment, httpRoute, readRelease, release, setVersion } from './fixtures.js';

const api = objectApi();
let ns: string;
let db: PostgresInstance;
let executor: Awaited<ReturnType<typeof startExecutor>>;
let op: OperatorProcess;

const migrations = (app: string, expand: string, contract?: string) => ({
  migrations: {
    databaseSecretRef: { name: `db-${app}`, key: 'url' },
    expand: { configMapRef: { name: expand }, timeout: '2m' },
    ...(contract ? { contract: { configMapRef: { name: contract }, after: '1s' } } : {}),
  },
});

async function weightsOf(app: string) {
  const seen: Array<{ weight: number; at: number }> = [];
  const req = await new Watch(kubeConfig()).watch(
    `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes`,
    {},
    (_t: string, r: HTTPRoute) => {
      if (r.metadata?.name !== app) return;
      const weight = previewWeight(r, app, `${app}-preview`) ?? 0;
      if (seen.at(-1)?.weight !== weight) seen.push({ weight, at: Date.now() });
    },
    () => undefined,
  );
  return { seen, stop: () => req.abort() };
}

beforeAll(async () => {
  await installCrds();
  db = await startPostgres();
  ns = await createNamespace('migrations', api);
  await api.create(environment(ns));
  executor = await startExecutor({ namespaces: [ns] });
  op = await startOperator({ leaseName: `migrations-${process.pid}` });
  await op.waitReady();
});

afterAll(async () => {
  await op.kill9();
  await executor.stop();
  await deleteNamespace(ns, api);
  await db.stop();
});

test('expand runs before traffic moves, contract after 100 %: each Job once, against the real database', async () => {
  const url = await appDatabase(api, ns, db.url, 'shop');
  await query(url, 'CREATE TABLE customers (id serial primary key, name text, legacy_code text)');
  await api.create(
    configMap(ns, 'shop-expand', { '001_email.up.sql': 'ALTER TABLE customers ADD COLUMN email text;' }),
  );
  await api.create(
    configMap(ns, 'shop-contract', {
      '002_drop_legacy.up.sql': 'ALTER TABLE customers DROP COLUMN legacy_code;',
    }),
  );
  await api.create(httpRoute(ns, 'shop'));
  await api.create(release(ns, 'shop'));
  await waitFor(async () => (await readRelease(api, ns, 'shop')).status?.phase === 'Succeeded', {
    timeoutMs: 60_000,
    description: 'v1',
  });
  const rec = await weightsOf('shop');
  await kubectl(
    '-n',
    ns,
    'patch',
    'release',
    'shop',
    '--type',
    'merge',
    '-p',
    JSON.stringify({ spec: migrations('shop', 'shop-expand', 'shop-contract') }),
  );
  await setVersion(api, ns, 'shop', '2.0.0');
  await waitFor(
    async () => {
      const s = (await readRelease(api, ns, 'shop')).status;
      return s?.phase === 'Succeeded' && s.stableVersion === '2.0.0';
    },
    { timeoutMs: 120_000, description: 'v2 with both migrations' },
  );
  rec.stop();
  const applied = await query<{ version: string; phase: string; applied_at: Date }>(
    url,
    'SELECT version, phase, applied_at FROM cutover_schema_migrations ORDER BY applied_at',
  );
  expect(applied.map((r) => r.phase)).toEqual(['expand', 'contract']);
  const firstTraffic = rec.seen.find((s) => s.weight > 0)?.at ?? 0;
  const full = rec.seen.find((s) => s.weight === 100)?.at ?? 0;
  expect(applied[0]?.applied_at.getTime()).toBeLessThan(firstTraffic);
  expect(applied[1]?.applied_at.getTime()).toBeGreaterThan(full);
  const columns = await query<{ column_name: string }>(
    url,
    "SELECT column_name FROM information_schema.columns WHERE table_name = 'customers' ORDER BY column_name",
  );
  expect(columns.map((c) => c.column_name)).toEqual(['email', 'id', 'name']);
  const jobs = (await kubectl('-n', ns, 'get', 'jobs', '-l', 'app=shop', '-o', 'name'))
    .trim()
    .split('\n')
    .sort();
  expect(jobs).toHaveLength(2);
  expect(executor.runs.filter((r) => r.namespace === ns && r.podName.startsWith('shop-'))).toHaveLength(2);
  const rel = await readRelease(api, ns, 'shop');
  expect(rel.status?.migrations).toMatchObject({
    expand: { phase: 'Succeeded' },
    contract: { phase: 'Succeeded' },
  });
});

test('a failing expand migration: Failed with the Job message, no traffic moved', async () => {
  await appDatabase(api, ns, db.url, 'bad');
  await api.create(
    configMap(ns, 'bad-expand', { '001_bad.up.sql': 'ALTER TABLE no_such_table ADD COLUMN x int;' }),
  );
  await api.create(httpRoute(ns, 'bad'));
  await api.create(release(ns, 'bad'));
  await waitFor(async () => (await readRelease(api, ns, 'bad')).status?.phase === 'Succeeded', {
    timeoutMs: 60_000,
    description: 'v1',
  });
  const rec = await weightsOf('bad');
  await kubectl(
    '-n',
    ns,
    'patch',
    'release',
    'bad',
    '--type',
    'merge',
    '-p',
    JSON.stringify({ spec: { ...migrations('bad', 'bad-expand'), version: '2.0.0' } }),
  );
  await waitFor(async () => (await readRelease(api, ns, 'bad')).status?.phase === 'Failed', {
    timeoutMs: 60_000,
    description: 'Failed',
  });
  rec.stop();
  const rel = await readRelease(api, ns, 'bad');
  const ready = rel.status?.conditions?.find((c) => c.type === 'Ready');
  expect(ready?.reason).toBe('ExpandFailed');
  expect(ready?.message).toContain('relation "no_such_table" does not exist');
  expect(ready?.message).not.toContain(db.password);
  expect(rec.seen.filter((s) => s.weight > 0)).toEqual([]);
  expect(rel.status).toMatchObject({ stableVersion: '1.0.0', activeSlot: 'blue' });
});

test('a destructive statement in expand is refused before any Job exists', async () => {
  await appDatabase(api, ns, db.url, 'drop');
  await api.create(
    configMap(ns, 'drop-expand', {
      '001_ok.up.sql': 'SELECT 1;',
      '002_drop.up.sql': '-- cleanup\nALTER TABLE customers\n  DROP COLUMN name;',
    }),
  );
  await api.create(release(ns, 'drop', { mode: 'Service', extra: migrations('drop', 'drop-expand') }));
  await waitFor(async () => (await readRelease(api, ns, 'drop')).status?.phase === 'Failed', {
    timeoutMs: 30_000,
    description: 'Failed',
  });
  const rel = await readRelease(api, ns, 'drop');
  const ready = rel.status?.conditions?.find((c) => c.type === 'Ready');
  expect(ready?.reason).toBe('DestructiveExpandMigration');
  expect(ready?.message).toContain('002_drop.up.sql:2');
  expect((await kubectl('-n', ns, 'get', 'jobs', '-l', 'app=drop', '-o', 'name')).trim()).toBe('');
  expect((await kubectl('-n', ns, 'get', 'deployments', '-l', 'app=drop', '-o', 'name')).trim()).toBe('');
});

test('a file the runner would refuse fails the Release before any Job exists, naming the file', async () => {
  await appDatabase(api, ns, db.url, 'odd');
  await api.create(
    configMap(ns, 'odd-expand', { '001_ok.up.sql': 'SELECT 1;', 'weird-name.sql': 'SELECT 2;' }),
  );
  await api.create(release(ns, 'odd', { mode: 'Service', extra: migrations('odd', 'odd-expand') }));
  await waitFor(async () => (await readRelease(api, ns, 'odd')).status?.phase === 'Failed', {
    timeoutMs: 30_000,
    description: 'Failed',
  });
  const rel = await readRelease(api, ns, 'odd');
  const ready = rel.status?.conditions?.find((c) => c.type === 'Ready');
  expect(ready?.reason).toBe('InvalidMigrations');
  expect(ready?.message).toContain('weird-name.sql');
  expect((await kubectl('-n', ns, 'get', 'jobs', '-l', 'app=odd', '-o', 'name')).trim()).toBe('');
  expect((await kubectl('-n', ns, 'get', 'deployments', '-l', 'app=odd', '-o', 'name')).trim()).toBe('');
});

test('the operator killed at every phase boundary still completes, and each Job is created once', async () => {
  const url = await appDatabase(api, ns, db.url, 'kill');
  await api.create(configMap(ns, 'kill-expand', { '001_k.up.sql': 'CREATE TABLE kill_expand (id int);' }));
  await api.create(configMap(ns, 'kill-contract', { '002_k.up.sql': 'DROP TABLE kill_expand;' }));
  await api.create(httpRoute(ns, 'kill'));
  await api.create(release(ns, 'kill'));
  await waitFor(async () => (await readRelease(api, ns, 'kill')).status?.phase === 'Succeeded', {
    timeoutMs: 60_000,
    description: 'v1',
  });
  const phases: string[] = [];
  // Every phase written, in order, from a watch: a poll can miss a short one
  // (Deploying, when the slot is available at once). The loop below kills at
  // the boundaries it sees; the watch says which phases the rollout went through.
  const written: string[] = [];
  const watch = await new Watch(kubeConfig()).watch(
    `/apis/cutover.dev/v1alpha1/namespaces/${ns}/releases`,
    { fieldSelector: 'metadata.name=kill' },
    (_t: string, r: Release) => {
      const phase = r.status?.phase;
      if (phase && written.at(-1) !== phase) written.push(phase);
    },
    () => undefined,
  );
  await kubectl(
    '-n',
    ns,
    'patch',
    'release',
    'kill',
    '--type',
    'merge',
    '-p',
    JSON.stringify({ spec: { ...migrations('kill', 'kill-expand', 'kill-contract'), version: '2.0.0' } }),
  );
  // v1's phase, not a read after the patch: the operator may already have left it.
  let last = 'Succeeded';
  for (;;) {
    const s = await waitFor(
      async () => {
        const st = (await readRelease(api, ns, 'kill')).status;
        return st?.phase !== last || (st.phase === 'Succeeded' && st.stableVersion === '2.0.0')
          ? st
          : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 20, description: `a phase after ${last}` },
    );
    if (s.phase === 'Succeeded' && s.stableVersion === '2.0.0') break;
    last = s.phase ?? '';
    phases.push(last);
    // A boundary: kill the operator hard and bring up a fresh one.
    await op.kill9();
    op = await startOperator({ leaseName: `migrations-${process.pid}-${phases.length}` });
  }
  watch.abort();
  expect(written).toEqual(
    expect.arrayContaining(['Migrating', 'Deploying', 'Shifting', 'Baking', 'Contracting']),
  );
  // Killed at least at the boundaries into expand, traffic and contract.
  expect(phases).toEqual(expect.arrayContaining(['Migrating', 'Shifting', 'Contracting']));
  const jobs = (await kubectl('-n', ns, 'get', 'jobs', '-l', 'app=kill', '-o', 'name')).trim().split('\n');
  expect(jobs).toHaveLength(2);
  expect(executor.runs.filter((r) => r.podName.startsWith('kill-'))).toHaveLength(2);
  const tables = await query<{ n: string }>(
    url,
    "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'kill_expand'",
  );
  expect(tables[0]?.n).toBe('0');
});
