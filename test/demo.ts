// `make demo`: the whole release story on the local cluster.
//   1. the CRDs and one sample of each kind (config/samples) in namespace "samples";
//   2. a throwaway PostgreSQL, an S3 server, the Job executor and the
//      operator; a BackupPolicy streams the database's WAL into the bucket;
//   3. shop v1 deployed to the blue slot;
//   4. shop v2: expand migration, traffic 10 → 25 → 50 → 100 shown live under
//      a RollbackPolicy reading a real Prometheus, promotion, a full backup
//      before the destructive contract migration, the contract, the old slot
//      scaled to zero; then the database restored to a moment before the
//      contract, with the dropped column back;
//   5. shop v3, whose error rate climbs past 1 % at the 25 % step: rolled back
//      by itself, its down migration run, the trigger, value and threshold shown;
//   6. promotion (demo-promotion.ts): web goes staging → production after a
//      soak, an approval with kubectl cutover approve, and a deployment window
//      that opens on the operator's demo clock.
import { PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { BackupPolicy, Release } from '../operator/api/generated/index.js';
import { runRestoreCommand } from '../operator/backup/command.js';
import { startAppMetrics } from './harness/app-metrics.js';
import { startExecutor } from './harness/executor.js';
import { installCrds, kubectl, objectApi } from './harness/kube.js';
import { startOperator } from './harness/operator.js';
import { startPostgres, startRestoredPostgres } from './harness/postgres.js';
import { startPrometheus } from './harness/prometheus.js';
import { startS3 } from './harness/s3.js';
import { TrafficDriver } from './harness/traffic.js';
import { waitFor } from './harness/wait.js';
import { query } from './release/database.js';
import { rollbackPolicy, template } from './release/fixtures.js';
import { promotionDemo } from './demo-promotion.js';

const ns = 'shop';
const api = objectApi();
const root = resolve(import.meta.dirname, '..');

function bar(weight: number): string {
  const n = Math.round(weight / 5);
  return `[${'■'.repeat(n)}${'□'.repeat(20 - n)}] ${String(weight).padStart(3)}%`;
}

/** Server-side apply, so running the demo twice is harmless. */
async function applyObject(obj: object): Promise<void> {
  await api.patch(
    obj as KubernetesObject,
    undefined,
    undefined,
    'cutover-demo',
    true,
    PatchStrategy.ServerSideApply,
  );
}

async function main(): Promise<void> {
  console.log('== CRDs and the samples (config/samples) ==');
  await installCrds();
  await kubectl('create', 'namespace', 'samples').catch(() => undefined);
  await kubectl(
    '-n',
    'samples',
    'apply',
    '--server-side',
    '--field-manager',
    'cutover-demo',
    '-k',
    resolve(root, 'config/samples'),
  );
  console.log(await kubectl('-n', 'samples', 'get', 'releases,environments,backuppolicies,rollbackpolicies'));

  console.log(
    '== PostgreSQL, an S3 server, Prometheus, simulated users, the Job executor and the operator ==',
  );
  const db = await startPostgres();
  const s3 = await startS3();
  await s3.createBucket('backups');
  const users = await startAppMetrics();
  const prom = await startPrometheus({ scrapeTargets: [users.target], scrapeInterval: '1s' });
  const appDb = new pg.Client({ connectionString: db.url });
  await appDb.connect();
  await appDb.query('CREATE TABLE IF NOT EXISTS customers (id serial primary key, name text, fax text)');
  await kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=true');
  await kubectl('create', 'namespace', ns);
  await kubectl('label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted');
  const executor = await startExecutor({ namespaces: [ns] });
  const op = await startOperator({ leaseName: 'cutover-demo' });
  await op.waitReady();
  try {
    await waitFor(
      async () => (await kubectl('-n', ns, 'get', 'serviceaccount', 'default', '-o', 'name')).length > 0,
      {
        timeoutMs: 30_000,
        description: 'the namespace to be ready',
      },
    );
    for (const obj of [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'shop-db', namespace: ns },
        stringData: { url: db.url },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'shop-s3', namespace: ns },
        stringData: { AWS_ACCESS_KEY_ID: s3.config.accessKey, AWS_SECRET_ACCESS_KEY: s3.config.secretKey },
      },
      {
        apiVersion: 'cutover.dev/v1alpha1',
        kind: 'BackupPolicy',
        metadata: { name: 'nightly', namespace: ns },
        spec: {
          databaseSecretRef: { name: 'shop-db', key: 'url' },
          full: { schedule: '0 2 * * *' },
          incremental: { interval: '1s' },
          storage: {
            s3: {
              bucket: 'backups',
              prefix: 'shop',
              endpoint: s3.config.endpoint,
              secretRef: { name: 'shop-s3' },
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'shop-expand', namespace: ns },
        data: {
          '001_add_email.up.sql': 'ALTER TABLE customers ADD COLUMN email text;',
          '001_add_email.down.sql': 'ALTER TABLE customers DROP COLUMN email;',
        },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'shop-expand-v3', namespace: ns },
        data: {
          '001_add_email.up.sql': 'ALTER TABLE customers ADD COLUMN email text;',
          '001_add_email.down.sql': 'ALTER TABLE customers DROP COLUMN email;',
          '003_add_nickname.up.sql': 'ALTER TABLE customers ADD COLUMN nickname text;',
          '003_add_nickname.down.sql': 'ALTER TABLE customers DROP COLUMN nickname;',
        },
      },
      rollbackPolicy(
        ns,
        'standard',
        prom.url,
        [
          { name: 'errors', builtin: 'ErrorRate', threshold: '1%' },
          { name: 'latency', builtin: 'LatencyP95', threshold: '500ms' },
        ],
        { database: { onRollback: 'RunDownMigrations' } },
      ),
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'shop-contract', namespace: ns },
        data: { '002_drop_fax.up.sql': 'ALTER TABLE customers DROP COLUMN fax;' },
      },
      {
        apiVersion: 'cutover.dev/v1alpha1',
        kind: 'Environment',
        metadata: { name: 'production', namespace: ns },
        spec: {
          tier: 'production',
          // Approvals are the promotion part's subject (demo-promotion.ts); here each version goes at once.
          promotion: { approvals: 0 },
          defaults: { traffic: { steps: [10, 25, 50, 100], stepDuration: '2s' } },
        },
      },
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'shop', namespace: ns },
        spec: { parentRefs: [{ name: 'gateway' }], rules: [{ backendRefs: [{ name: 'shop', port: 80 }] }] },
      },
    ]) {
      await applyObject(obj);
    }
    const rel = (version: string, withMigrations: boolean, expand = 'shop-expand') => ({
      apiVersion: 'cutover.dev/v1alpha1',
      kind: 'Release',
      metadata: { name: 'shop', namespace: ns },
      spec: {
        environmentRef: { name: 'production' },
        application: 'shop',
        version,
        replicas: 3,
        template: template(version),
        traffic: { mode: 'GatewayAPI', httpRouteRef: { name: 'shop' }, stepDuration: '4s' },
        rollbackPolicyRef: { name: 'standard' },
        backupPolicyRef: { name: 'nightly' },
        scaleDownDelay: '3s',
        ...(withMigrations
          ? {
              migrations: {
                databaseSecretRef: { name: 'shop-db', key: 'url' },
                expand: { configMapRef: { name: expand } },
                ...(expand === 'shop-expand'
                  ? { contract: { configMapRef: { name: 'shop-contract' }, after: '2s' } }
                  : {}),
              },
            }
          : {}),
      },
    });

    const readPolicy = () =>
      api.read<BackupPolicy>({
        apiVersion: 'cutover.dev/v1alpha1',
        kind: 'BackupPolicy',
        metadata: { name: 'nightly', namespace: ns },
      });
    await waitFor(async () => (await readPolicy()).status?.lastIncremental !== undefined, {
      timeoutMs: 90_000,
      description: 'the WAL Deployment of BackupPolicy nightly to ship WAL',
    });
    console.log(await kubectl('-n', ns, 'get', 'backuppolicies,cronjobs,deployments'));

    console.log('== shop v1 ==');
    await applyObject(rel('1.0.0', false));
    await follow((s) => s?.phase === 'Succeeded' && s.stableVersion === '1.0.0');
    console.log(await kubectl('-n', ns, 'get', 'releases'));
    // The whole spec, so fields a version drops (v3 has no contract) go too.
    const replaceSpec = (spec: object) =>
      kubectl(
        '-n',
        ns,
        'patch',
        'release',
        'shop',
        '--type',
        'json',
        '-p',
        JSON.stringify([{ op: 'replace', path: '/spec', value: spec }]),
      );
    const columnsOf = async () => {
      const { rows } = await appDb.query<{ c: string }>(
        "SELECT string_agg(column_name, ', ' ORDER BY column_name) AS c FROM information_schema.columns WHERE table_name = 'customers'",
      );
      return rows[0]?.c ?? '';
    };
    // 40 requests per second, split between the slots as the Release's status says.
    const driver = new TrafficDriver(users, api, ns, 'shop', 40);
    driver.start();

    console.log('== shop v2: expand, 10/25/50/100, promote, a full backup, contract, scale down ==');
    await replaceSpec(rel('2.0.0', true).spec);
    await follow((s) => s?.phase === 'Succeeded' && s.stableVersion === '2.0.0' && !s.scaleDownAt);
    // A moment after the backup and before the contract: its transaction's start, less a millisecond
    // (the contract commits after its transaction starts).
    const contractAt = await appDb.query<{ t: Date }>(
      "SELECT applied_at - interval '1 millisecond' AS t FROM cutover_schema_migrations WHERE phase = 'contract'",
    );
    const beforeContract = contractAt.rows[0]?.t.toISOString();
    const v2 = (
      await api.read<Release>({
        apiVersion: 'cutover.dev/v1alpha1',
        kind: 'Release',
        metadata: { name: 'shop', namespace: ns },
      })
    ).status;
    console.log(
      `backup before the contract: ${v2?.backup?.id ?? '?'} (${v2?.backup?.size ?? '?'}), Job ${v2?.backup?.job ?? '?'}`,
    );
    console.log(await kubectl('-n', ns, 'get', 'releases,deployments,jobs'));
    console.log(`customers columns now: ${await columnsOf()}`);
    if (beforeContract) {
      // WAL is streamed every second; wait until the bucket holds a point after the contract.
      const after = Date.now();
      await waitFor(
        async () => Date.parse((await readPolicy()).status?.lastRecoverabilityPoint ?? '') > after,
        {
          timeoutMs: 60_000,
          description: 'WAL past the contract in the bucket',
        },
      );
      console.log(
        `\n== point-in-time restore: cutover restore --to-time ${beforeContract} (before the contract) ==`,
      );
      const base = await mkdtemp(join(tmpdir(), 'cutover-demo-restore-'));
      const code = await runRestoreCommand(
        ['--from', 's3://backups/shop', '--to-time', beforeContract, '--pgdata', join(base, 'data')],
        { env: s3.env, stdout: (l) => console.log(`  ${l}`), stderr: (l) => console.log(`  ${l}`) },
      );
      if (code === 0) {
        const restored = await startRestoredPostgres(db, join(base, 'data'));
        try {
          await waitFor(
            async () =>
              (await query<{ r: boolean }>(restored.url, 'SELECT pg_is_in_recovery() AS r'))[0]?.r === false,
            { timeoutMs: 60_000, description: 'the restored copy to promote' },
          );
          const cols = await query<{ c: string }>(
            restored.url,
            "SELECT string_agg(column_name, ', ' ORDER BY column_name) AS c FROM information_schema.columns WHERE table_name = 'customers'",
          );
          console.log(`customers columns in the restored copy: ${cols[0]?.c ?? ''}`);
        } finally {
          await restored.stop();
        }
      }
      await rm(base, { recursive: true, force: true });
      console.log(await kubectl('-n', ns, 'get', 'backuppolicies'));
    }
    const history = await appDb.query(
      'SELECT version, name, phase FROM cutover_schema_migrations ORDER BY version',
    );
    for (const r of history.rows as Array<{ version: string; name: string; phase: string }>) {
      console.log(`migration ${r.version} ${r.name} (${r.phase})`);
    }

    console.log('\n== shop v3: its error rate climbs past 1 % once it takes 25 % of the traffic ==');
    let expanded = false;
    await replaceSpec(rel('3.0.0', true, 'shop-expand-v3').spec);
    await follow(
      (s) => s?.phase === 'RolledBack' || (s?.phase === 'Succeeded' && s.stableVersion === '3.0.0'),
      async (s) => {
        if ((s?.canaryWeight ?? 0) >= 25 && s?.phase === 'Shifting')
          driver.behave('3.0.0', { errorRatio: 0.05 });
        if (s?.migrations?.expand?.phase === 'Succeeded' && !expanded) {
          expanded = true;
          console.log(`  customers columns after the v3 expand: ${await columnsOf()}`);
        }
      },
    );
    driver.stop();
    const v3 = (
      await api.read<Release>({
        apiVersion: 'cutover.dev/v1alpha1',
        kind: 'Release',
        metadata: { name: 'shop', namespace: ns },
      })
    ).status;
    const rb = v3?.rollback;
    console.log(
      `rolled back by ${rb?.cause ?? '?'}: trigger ${rb?.metric ?? '?'} read ${rb?.value ?? '?'} against a threshold of ${rb?.threshold ?? '?'}`,
    );
    console.log(`  ${rb?.reason ?? ''}`);
    console.log(
      `down migration: ${v3?.migrations?.down?.phase ?? 'none'} (Job ${v3?.migrations?.down?.job ?? '-'})`,
    );
    console.log(`customers columns after the rollback: ${await columnsOf()}`);
    console.log(await kubectl('-n', ns, 'get', 'releases,rollbackpolicies'));
    console.log(
      '\n== the samples, as the operator judged them (their ConfigMaps, Secrets and HTTPRoute do not exist) ==',
    );
    console.log(
      await kubectl('-n', 'samples', 'get', 'releases,environments,backuppolicies,rollbackpolicies'),
    );
    console.log(`${executor.runs.length} Jobs and pods ran for real (migrations, backups, WAL).`);
  } finally {
    await op.stop();
    await executor.stop();
    await appDb.end();
    await prom.stop();
    await users.close();
    await db.stop();
    await s3.stop();
  }
}

/** Prints one line per change of phase, step or weight until `done`. */
async function follow(
  done: (s: Release['status']) => boolean,
  onStatus: (s: Release['status']) => void | Promise<void> = () => undefined,
): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      const r = await api.read<Release>({
        apiVersion: 'cutover.dev/v1alpha1',
        kind: 'Release',
        metadata: { name: 'shop', namespace: ns },
      });
      const s = r.status;
      await onStatus(s);
      const m = s?.migrations;
      const line = `${(s?.phase ?? 'Pending').padEnd(12)} ${bar(s?.canaryWeight ?? 0)}  active=${s?.activeSlot ?? '-'} stable=${s?.stableVersion ?? '-'}${
        m?.expand ? `  expand=${m.expand.phase ?? ''}` : ''
      }${s?.backup ? `  backup=${s.backup.phase ?? ''}` : ''}${m?.contract ? `  contract=${m.contract.phase ?? ''}` : ''}${m?.down ? `  down=${m.down.phase ?? ''}` : ''}${
        s?.analysis?.verdict ? `  analysis=${s.analysis.verdict}` : ''
      }`;
      if (line !== last) console.log(`  ${new Date().toISOString().slice(11, 19)}  ${line}`);
      last = line;
      return done(s);
    },
    { timeoutMs: 180_000, intervalMs: 100, description: 'the rollout' },
  );
}

async function all(): Promise<void> {
  await main();
  // Its own operator, on a demo clock: the one above reads Prometheus at real time.
  await promotionDemo();
  console.log('The cluster stays up (make cluster-down to stop it).');
}

all().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
