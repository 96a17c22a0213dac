// The migration executor (test/harness/executor.ts) on a private cluster built
// by this work tree's test/cluster/up.sh, so KWOK runs the stages of
// test/cluster/stages.yaml: migration pods are left to the executor, every
// other Job pod still completes on its own.
import {
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  type KubernetesObject,
  type V1Container,
  type V1EnvVar,
  type V1Pod,
  type V1Volume,
  type V1VolumeMount,
} from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { JOB_LABEL, STARTED_ANNOTATION, startExecutor, type Executor } from './harness/executor.js';
import { createNamespace } from './harness/kube.js';
import { startPostgres } from './harness/postgres.js';
import { waitFor } from './harness/wait.js';

const root = resolve(import.meta.dirname, '..');
const run = promisify(execFile);

async function clusterScript(script: 'up.sh' | 'down.sh', env: Record<string, string>): Promise<void> {
  try {
    await run('bash', [join(root, 'test/cluster', script)], {
      env: { ...process.env, ...env },
      timeout: 180_000,
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${script} failed: ${e.stderr?.trim() || e.message}`);
  }
}

interface JobSpec {
  labels?: Record<string, string>;
  command: string[];
  env?: V1EnvVar[];
  volumes?: V1Volume[];
  volumeMounts?: V1VolumeMount[];
  activeDeadlineSeconds?: number;
}

/** A Job shaped like the operator's migration Jobs, and admissible under the restricted profile. */
function job(name: string, spec: JobSpec): KubernetesObject {
  const container: V1Container = {
    name: 'migrate',
    image: 'ghcr.io/cutover/cutover:test',
    command: spec.command,
    env: spec.env ?? [],
    volumeMounts: spec.volumeMounts ?? [],
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true },
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      ...(spec.activeDeadlineSeconds ? { activeDeadlineSeconds: spec.activeDeadlineSeconds } : {}),
      template: {
        metadata: { labels: spec.labels ?? {} },
        spec: {
          restartPolicy: 'Never',
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [container],
          volumes: spec.volumes ?? [],
        },
      },
    },
  } as KubernetesObject;
}

const migration = { [JOB_LABEL]: 'expand' };

describe('migration executor', () => {
  const clusterDir = mkdtempSync(join(tmpdir(), 'cutover-executor-cluster-'));
  const clusterEnv = { CUTOVER_CLUSTER_NAME: 'cutover-executor', CUTOVER_CLUSTER_DIR: clusterDir };
  const kubeconfig = join(clusterDir, 'kubeconfig');
  const outDir = mkdtempSync(join(tmpdir(), 'cutover-executor-out-'));
  let objects: KubernetesObjectApi;
  let core: CoreV1Api;
  let batch: BatchV1Api;
  let executor: Executor | undefined;
  const logs: string[] = [];
  let ns = '';

  beforeAll(async () => {
    await clusterScript('up.sh', clusterEnv);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    objects = KubernetesObjectApi.makeApiClient(kc);
    core = kc.makeApiClient(CoreV1Api);
    batch = kc.makeApiClient(BatchV1Api);
    ns = await createNamespace('executor', objects);
    executor = await startExecutor({
      kubeconfig,
      namespaces: [ns],
      log: (line) => logs.push(line),
      echoOutput: true,
    });
  }, 240_000);

  afterAll(async () => {
    await executor?.stop();
    await clusterScript('down.sh', clusterEnv);
    rmSync(clusterDir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  }, 120_000);

  async function create(namespace: string, object: KubernetesObject): Promise<void> {
    await objects.create({ ...object, metadata: { ...object.metadata, namespace } });
  }

  async function finished(namespace: string, name: string): Promise<'Complete' | 'Failed'> {
    return waitFor(
      async () => {
        const { status } = await batch.readNamespacedJob({ name, namespace });
        const done = status?.conditions?.find(
          (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
        );
        return done?.type as 'Complete' | 'Failed' | undefined;
      },
      { timeoutMs: 60_000, description: `Job ${namespace}/${name} to complete or fail` },
    );
  }

  async function podOf(namespace: string, jobName: string): Promise<V1Pod> {
    const pods = await core.listNamespacedPod({
      namespace,
      labelSelector: `batch.kubernetes.io/job-name=${jobName}`,
    });
    const [pod] = pods.items;
    if (!pod || pods.items.length !== 1) throw new Error(`Job ${jobName} has ${pods.items.length} pods`);
    return pod;
  }

  function outFile(name: string): { env: V1EnvVar; path: string } {
    const path = join(outDir, name);
    return { env: { name: 'OUT_FILE', value: path }, path };
  }

  test('a migration Job runs its command here and completes', async () => {
    const out = outFile('hello');
    await create(
      ns,
      job('hello', { labels: migration, command: ['sh', '-c', 'echo hello > $OUT_FILE'], env: [out.env] }),
    );

    expect(await finished(ns, 'hello')).toBe('Complete');
    expect(readFileSync(out.path, 'utf8')).toBe('hello\n');
    const pod = await podOf(ns, 'hello');
    expect(pod.status?.phase).toBe('Succeeded');
    expect(pod.metadata?.annotations?.[STARTED_ANNOTATION]).toBeDefined();
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
    expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect(executor?.runs.find((r) => r.podName === pod.metadata?.name)).toMatchObject({
      namespace: ns,
      command: ['sh', '-c', 'echo hello > $OUT_FILE'],
      exitCode: 0,
    });
  });

  test('a command that exits 3 fails the Job, and its termination message reaches the pod status', async () => {
    await create(
      ns,
      job('exit3', {
        labels: migration,
        command: ['sh', '-c', 'echo "002_drop_email refused in expand" > /dev/termination-log; exit 3'],
      }),
    );

    expect(await finished(ns, 'exit3')).toBe('Failed');
    const pod = await podOf(ns, 'exit3');
    expect(pod.status?.phase).toBe('Failed');
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      exitCode: 3,
      reason: 'Error',
      message: '002_drop_email refused in expand\n',
    });
  });

  test('a failure that leaves no termination message reports the end of stderr instead', async () => {
    await create(
      ns,
      job('stderr', {
        labels: migration,
        command: ['sh', '-c', 'echo "relation t does not exist" >&2; exit 1'],
      }),
    );

    expect(await finished(ns, 'stderr')).toBe('Failed');
    const terminated = (await podOf(ns, 'stderr')).status?.containerStatuses?.[0]?.state?.terminated;
    expect(terminated).toMatchObject({ exitCode: 1, message: 'relation t does not exist\n' });
  });

  test("a ConfigMap volume's files reach the command at its mountPath, items and all", async () => {
    await create(ns, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'migrations' },
      data: {
        '001_a.up.sql': 'CREATE TABLE a (id bigint);\n',
        '002_b.up.sql': 'CREATE TABLE b (id bigint);\n',
        'not-projected.sql': 'DROP TABLE a;\n',
      },
    } as KubernetesObject);
    const out = outFile('volume');
    await create(
      ns,
      job('volume', {
        labels: migration,
        // The directory comes both inside the script and as an argument of its own.
        command: [
          'sh',
          '-c',
          'cat /migrations/001_a.up.sql "$1/later/002_b.up.sql" > $OUT_FILE; test ! -e "$1/not-projected.sql"',
          'sh',
          '/migrations',
        ],
        env: [out.env],
        volumes: [
          {
            name: 'migrations',
            configMap: {
              name: 'migrations',
              items: [
                { key: '001_a.up.sql', path: '001_a.up.sql' },
                { key: '002_b.up.sql', path: 'later/002_b.up.sql' },
              ],
            },
          },
        ],
        volumeMounts: [{ name: 'migrations', mountPath: '/migrations', readOnly: true }],
      }),
    );

    expect(await finished(ns, 'volume')).toBe('Complete');
    expect(readFileSync(out.path, 'utf8')).toBe('CREATE TABLE a (id bigint);\nCREATE TABLE b (id bigint);\n');
  });

  test('a Secret env value reaches the command and never the executor log', async () => {
    const password = `pw-${randomBytes(12).toString('hex')}`;
    const url = `postgres://app:${password}@db.example:5432/app`;
    await create(ns, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db' },
      stringData: { url },
    } as KubernetesObject);
    const out = outFile('secret');
    await create(
      ns,
      job('secret', {
        labels: migration,
        command: [
          'sh',
          '-c',
          'printf %s "$DATABASE_URL" > $OUT_FILE; echo "connecting to $DATABASE_URL"; echo "$PHASE" >&2',
        ],
        env: [
          out.env,
          { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'db', key: 'url' } } },
          { name: 'PHASE', value: 'expand' },
        ],
      }),
    );

    expect(await finished(ns, 'secret')).toBe('Complete');
    expect(readFileSync(out.path, 'utf8')).toBe(url);
    const record = executor?.runs.find((r) => r.podName.startsWith('secret-'));
    // The record keeps what the command printed, so a test can catch a runner that leaks.
    expect(record?.stdout).toBe(`connecting to ${url}\n`);
    expect(record?.stderr).toBe('expand\n');
    const output = logs.filter((line) => line.includes('secret-'));
    expect(output).toContainEqual(expect.stringContaining('connecting to ******'));
    expect(logs.join('\n')).not.toContain(password);
  });

  test('a Secret that does not exist fails the pod as the kubelet names it', async () => {
    await create(
      ns,
      job('nosecret', {
        labels: migration,
        command: ['sh', '-c', 'exit 0'],
        env: [{ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'absent', key: 'url' } } }],
      }),
    );

    expect(await finished(ns, 'nosecret')).toBe('Failed');
    expect((await podOf(ns, 'nosecret')).status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({
      reason: 'CreateContainerConfigError',
      message: 'secret "absent" not found',
    });
  });

  test('a Job without the migration label still completes through KWOK, untouched by the executor', async () => {
    const out = outFile('plain');
    await create(ns, job('plain', { command: ['sh', '-c', 'touch $OUT_FILE'], env: [out.env] }));

    expect(await finished(ns, 'plain')).toBe('Complete');
    expect(existsSync(out.path)).toBe(false);
    expect(executor?.runs.some((r) => r.podName.startsWith('plain-'))).toBe(false);
    expect((await podOf(ns, 'plain')).metadata?.annotations?.[STARTED_ANNOTATION]).toBeUndefined();
  });

  test("the Job's activeDeadlineSeconds ends a command that hangs, and everything it started", async () => {
    const out = outFile('deadline');
    await create(
      ns,
      job('deadline', {
        labels: migration,
        command: ['sh', '-c', 'sleep 300 & echo $! > $OUT_FILE; wait'],
        env: [out.env],
        activeDeadlineSeconds: 3,
      }),
    );

    expect(await finished(ns, 'deadline')).toBe('Failed');
    const { status } = await batch.readNamespacedJob({ name: 'deadline', namespace: ns });
    expect(status?.conditions?.find((c) => c.type === 'Failed')?.reason).toBe('DeadlineExceeded');
    const record = await waitFor(() => executor?.runs.find((r) => r.podName.startsWith('deadline-')), {
      timeoutMs: 30_000,
      description: 'the executor to record the killed run',
    });
    expect(record.phase).toBe('Failed');
    expect(record.exitCode).toBe(128 + 15);
    const sleeper = Number(readFileSync(out.path, 'utf8'));
    await waitFor(() => !existsSync(`/proc/${sleeper}`), {
      timeoutMs: 10_000,
      description: `the background sleep ${sleeper} to be gone`,
    });
  });

  test('two executors run a migration pod once', async () => {
    const second = await startExecutor({ kubeconfig, namespaces: [ns] });
    try {
      const out = outFile('once');
      await create(
        ns,
        job('once', { labels: migration, command: ['sh', '-c', 'echo ran >> $OUT_FILE'], env: [out.env] }),
      );

      expect(await finished(ns, 'once')).toBe('Complete');
      expect(readFileSync(out.path, 'utf8')).toBe('ran\n');
      const runs = [...(executor?.runs ?? []), ...second.runs].filter((r) => r.podName.startsWith('once-'));
      expect(runs).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });

  test('a pod another executor already started is left alone, as after a restart', async () => {
    const out = outFile('abandoned');
    const spec = job('abandoned', {
      labels: migration,
      command: ['sh', '-c', 'touch $OUT_FILE'],
      env: [out.env],
    });
    const template = (spec as { spec: { template: { metadata: Record<string, unknown> } } }).spec.template;
    template.metadata.annotations = { [STARTED_ANNOTATION]: 'gone-host/1/0 2000-01-01T00:00:00Z' };
    await create(ns, spec);

    await waitFor(() => logs.some((line) => /\/abandoned-\S+: already started by gone-host/.test(line)), {
      timeoutMs: 30_000,
      description: 'the executor to see the pod',
    });
    const pod = await podOf(ns, 'abandoned');
    expect(pod.status?.phase).toBe('Running');
    expect(existsSync(out.path)).toBe(false);
    expect(executor?.runs.some((r) => r.podName.startsWith('abandoned-'))).toBe(false);
  });

  test('stopping the executor ends a running command and fails its pod as a node shutdown would', async () => {
    const other = await createNamespace('executor-stop', objects);
    const own = await startExecutor({ kubeconfig, namespaces: [other] });
    let stopped = false;
    try {
      const out = outFile('shutdown');
      await create(
        other,
        job('shutdown', {
          labels: migration,
          command: ['sh', '-c', 'touch $OUT_FILE; sleep 300'],
          env: [out.env],
        }),
      );
      await waitFor(() => existsSync(out.path), { timeoutMs: 30_000, description: 'the command to start' });
      await own.stop();
      stopped = true;

      expect(await finished(other, 'shutdown')).toBe('Failed');
      const pod = await podOf(other, 'shutdown');
      expect(pod.status?.reason).toBe('Terminated');
      expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(128 + 15);
    } finally {
      if (!stopped) await own.stop();
    }
  });

  test('`cutover migrate` runs against a real PostgreSQL, as the operator builds the Job', async () => {
    const db = await startPostgres();
    const other = await createNamespace('executor-migrate', objects);
    // From source, so the test does not depend on a fresh `make build`.
    const cli = [
      process.execPath,
      join(root, 'node_modules/tsx/dist/cli.mjs'),
      join(root, 'operator/cli.ts'),
    ];
    const own = await startExecutor({
      kubeconfig,
      namespaces: [other],
      cliCommand: cli,
      log: (l) => logs.push(l),
    });
    try {
      await create(other, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db' },
        stringData: { url: db.url },
      } as KubernetesObject);
      await create(other, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'shop-migrations' },
        data: {
          '001_create_items.up.sql': 'CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);\n',
          '001_create_items.down.sql': 'DROP TABLE items;\n',
        },
      } as KubernetesObject);
      const volumes = [{ name: 'migrations', configMap: { name: 'shop-migrations' } }];
      const volumeMounts = [{ name: 'migrations', mountPath: '/migrations', readOnly: true }];
      const env = [{ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'db', key: 'url' } } }];
      await create(
        other,
        job('expand', {
          labels: migration,
          command: ['cutover', 'migrate', '--dir', '/migrations', '--phase', 'expand'],
          env,
          volumes,
          volumeMounts,
        }),
      );

      expect(await finished(other, 'expand')).toBe('Complete');
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const applied = await client.query<{ table: string | null; count: string }>(
          "SELECT to_regclass('items')::text AS table, (SELECT count(*) FROM cutover_schema_migrations) AS count",
        );
        expect(applied.rows[0]).toEqual({ table: 'items', count: '1' });
      } finally {
        await client.end();
      }

      // A migration set the runner refuses: the Job fails with the runner's one line.
      await create(other, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'bad-migrations' },
        data: { 'not-a-migration.sql': 'SELECT 1;\n' },
      } as KubernetesObject);
      await create(
        other,
        job('refused', {
          labels: migration,
          command: ['cutover', 'migrate', '--dir', '/migrations', '--phase', 'expand'],
          env,
          volumes: [{ name: 'migrations', configMap: { name: 'bad-migrations' } }],
          volumeMounts,
        }),
      );
      expect(await finished(other, 'refused')).toBe('Failed');
      const terminated = (await podOf(other, 'refused')).status?.containerStatuses?.[0]?.state?.terminated;
      expect(terminated?.exitCode).not.toBe(0);
      expect(terminated?.message).toMatch(/^cutover migrate: /);
      expect(terminated?.message).not.toContain(db.password);
      expect(logs.join('\n')).not.toContain(db.password);
    } finally {
      await own.stop();
      await db.stop();
    }
  });
});
