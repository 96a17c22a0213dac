// RollbackPolicy analysis in real rollouts: the operator (a separate process)
// reads a real Prometheus scraping simulated users whose traffic follows the
// Release's own status, a real PostgreSQL for DatabasePool and the down
// migrations, and the harness runs verification and migration Jobs for real.
import type { KubernetesObject } from '@kubernetes/client-node';
import pg from 'pg';
import type { Release } from '../../operator/api/generated/index.js';
import { startAppMetrics, type AppMetricsServer } from '../harness/app-metrics.js';
import { startExecutor } from '../harness/executor.js';
import { createNamespace, deleteNamespace, installCrds, kubectl, objectApi } from '../harness/kube.js';
import { parseSeries, startOperator, type OperatorProcess } from '../harness/operator.js';
import { startPostgres, type PostgresInstance } from '../harness/postgres.js';
import { startPrometheus, type PrometheusInstance } from '../harness/prometheus.js';
import { TrafficDriver } from '../harness/traffic.js';
import { waitFor, waitUntil } from '../harness/wait.js';
import { appDatabase, query } from './database.js';
import {
  configMap,
  environment,
  httpRoute,
  readRelease,
  release,
  rollbackPolicy,
  setVersion,
} from './fixtures.js';

const api = objectApi();
let ns: string;
let db: PostgresInstance;
let prom: PrometheusInstance;
let metrics: AppMetricsServer;
let executor: Awaited<ReturnType<typeof startExecutor>>;
let op: OperatorProcess;
const drivers: TrafficDriver[] = [];

type Trigger = Record<string, unknown>;
const errors: Trigger = { name: 'errors', builtin: 'ErrorRate', threshold: '1%' };
const latency: Trigger = { name: 'latency', builtin: 'LatencyP95', threshold: '500ms' };

const policy = (name: string, triggers: Trigger[], extra?: Record<string, unknown>) =>
  rollbackPolicy(ns, name, prom.url, triggers, extra);

/** A Release with its policy and simulated users, rolled out at v1 and ready for v2. */
async function stable(
  app: string,
  opts: { policy: KubernetesObject; extra?: Record<string, unknown>; rps?: number },
): Promise<TrafficDriver> {
  await api.create(opts.policy);
  await api.create(httpRoute(ns, app));
  const name = opts.policy.metadata?.name ?? '';
  await api.create(release(ns, app, { extra: { rollbackPolicyRef: { name }, ...opts.extra } }));
  await waitFor(async () => (await readRelease(api, ns, app)).status?.phase === 'Succeeded', {
    timeoutMs: 60_000,
    description: `${app} v1`,
  });
  const driver = new TrafficDriver(metrics, api, ns, app, opts.rps ?? 40);
  drivers.push(driver);
  driver.start();
  return driver;
}

const until = (app: string, what: string, done: (r: Release) => boolean, timeoutMs = 90_000) =>
  waitUntil(() => readRelease(api, ns, app), done, { timeoutMs, description: what, show: (r) => r.status });

/** In phase `p` for the current spec: a status written before the last patch does not count. */
const phase = (p: string) => (r: Release) =>
  r.spec.version !== '1.0.0' &&
  r.status?.observedGeneration === r.metadata?.generation &&
  r.status?.phase === p;

/** What the operator exports for a trigger of a Release under analysis (cutover_analysis_measurement), if anything. */
async function measurement(
  app: string,
  trigger: string,
): Promise<{ labels: Record<string, string>; value: number } | undefined> {
  for (const [series, value] of await op.metrics()) {
    const { metric, labels } = parseSeries(series);
    if (
      metric === 'cutover_analysis_measurement' &&
      labels.namespace === ns &&
      labels.release === app &&
      labels.trigger === trigger
    )
      return { labels, value };
  }
  return undefined;
}

/** spec.version and the template change; other spec fields merge in. */
async function rollOut(app: string, version: string, spec: Record<string, unknown> = {}): Promise<void> {
  if (Object.keys(spec).length > 0) {
    await kubectl('-n', ns, 'patch', 'release', app, '--type', 'merge', '-p', JSON.stringify({ spec }));
  }
  await setVersion(api, ns, app, version);
}

beforeAll(async () => {
  await installCrds();
  db = await startPostgres({ settings: { max_connections: 30 } });
  metrics = await startAppMetrics();
  prom = await startPrometheus({ scrapeTargets: [metrics.target], scrapeInterval: '1s' });
  ns = await createNamespace('analysis', api);
  await api.create(environment(ns));
  executor = await startExecutor({ namespaces: [ns] });
  op = await startOperator({ leaseName: `analysis-${process.pid}` });
  await op.waitReady();
});

afterAll(async () => {
  for (const d of drivers) d.stop();
  await op.kill9();
  await executor.stop();
  await deleteNamespace(ns, api);
  await prom.stop();
  await metrics.close();
  await db.stop();
});

test('healthy metrics: promotion completes, with the evaluations recorded', async () => {
  await stable('calm', { policy: policy('calm', [errors, latency]) });
  const before = await op.metric('cutover_analysis_evaluations_total', { result: 'Pass' });
  await rollOut('calm', '2.0.0');
  const r = await until('calm', 'v2 promoted', phase('Succeeded'));
  expect(r.status?.stableVersion).toBe('2.0.0');
  expect(r.status?.analysis).toMatchObject({ policy: 'calm', verdict: 'Pass', consecutiveFailures: 0 });
  expect(r.status?.analysis?.lastMeasurements?.map((m) => [m.trigger, m.result])).toEqual([
    ['errors', 'Pass'],
    ['latency', 'Pass'],
  ]);
  // At least one passing evaluation ended each of the four steps.
  expect(
    (await op.metric('cutover_analysis_evaluations_total', { result: 'Pass' })) - before,
  ).toBeGreaterThanOrEqual(4);
  const ready = await kubectl(
    '-n',
    ns,
    'get',
    'rollbackpolicy',
    'calm',
    '-o',
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
  );
  expect(ready).toBe('True');
});

test('error rate of 5 % at the 25 % step: rolled back by ErrorRate, and the down migration takes the schema back', async () => {
  const url = await appDatabase(api, ns, db.url, 'errs');
  await query(url, 'CREATE TABLE orders (id serial primary key)');
  await api.create(
    configMap(ns, 'errs-expand', {
      '001_note.up.sql': 'ALTER TABLE orders ADD COLUMN note text;',
      '001_note.down.sql': 'ALTER TABLE orders DROP COLUMN note;',
    }),
  );
  const driver = await stable('errs', {
    policy: policy('errs', [errors, latency], { database: { onRollback: 'RunDownMigrations' } }),
    extra: { traffic: { mode: 'GatewayAPI', httpRouteRef: { name: 'errs' }, stepDuration: '6s' } },
  });
  await rollOut('errs', '2.0.0', {
    migrations: {
      databaseSecretRef: { name: 'db-errs', key: 'url' },
      expand: { configMapRef: { name: 'errs-expand' } },
    },
  });
  await until('errs', 'the 25 % step', (r) => r.status?.canaryWeight === 25);
  driver.behave('2.0.0', { errorRatio: 0.05 });
  const r = await until('errs', 'rolled back', phase('RolledBack'));
  expect(r.status?.rollback).toMatchObject({ cause: 'AnalysisFailed', metric: 'errors', threshold: '1%' });
  expect(r.status?.rollback?.value).toMatch(/^\d+(\.\d+)?%$/);
  expect(r.status?.history?.[0]).toMatchObject({
    version: '2.0.0',
    outcome: 'RolledBack',
    cause: 'AnalysisFailed',
  });
  expect(r.status?.migrations?.down?.phase).toBe('Succeeded');
  const columns = await query<{ column_name: string }>(
    url,
    "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' ORDER BY 1",
  );
  expect(columns.map((c) => c.column_name)).toEqual(['id']);
  expect(await query(url, 'SELECT version FROM cutover_schema_migrations')).toEqual([]);
  const weight = await kubectl(
    '-n',
    ns,
    'get',
    'httproute',
    'errs',
    '-o',
    'jsonpath={.spec.rules[1].backendRefs[*].weight}',
  );
  expect(weight.split(' ').map(Number)).toEqual([100, 0]);
  expect(
    await op.metric('cutover_rollbacks_total', { cause: 'AnalysisFailed', trigger: 'errors' }),
  ).toBeGreaterThanOrEqual(1);
});

test('p95 of 600 ms: rolled back by LatencyP95', async () => {
  const driver = await stable('slow', { policy: policy('slow', [errors, latency]) });
  driver.behave('2.0.0', { latencySeconds: 0.6 });
  await rollOut('slow', '2.0.0');
  const r = await until('slow', 'rolled back', phase('RolledBack'));
  expect(r.status?.rollback).toMatchObject({
    cause: 'AnalysisFailed',
    metric: 'latency',
    threshold: '500ms',
  });
  expect(r.status?.rollback?.value).toMatch(/ms$/);
});

describe('against the stable slot', () => {
  // Both values in one histogram bucket read the same p95; a slower one lands a bucket higher.
  const baseline = { name: 'vs-stable', builtin: 'LatencyP95', relativeTo: 'Stable', maxIncrease: '10%' };

  test('60 % slower than stable: rolled back', async () => {
    const driver = await stable('cmp-slow', { policy: policy('cmp-slow', [baseline]) });
    driver.behave('1.0.0', { latencySeconds: 0.11 });
    driver.behave('2.0.0', { latencySeconds: 0.176 });
    await rollOut('cmp-slow', '2.0.0');
    const r = await until('cmp-slow', 'rolled back', phase('RolledBack'));
    expect(r.status?.rollback).toMatchObject({ metric: 'vs-stable', threshold: '+10% over stable' });
  });

  test('5 % slower than stable: promoted', async () => {
    const driver = await stable('cmp-same', { policy: policy('cmp-same', [baseline]) });
    driver.behave('1.0.0', { latencySeconds: 0.11 });
    driver.behave('2.0.0', { latencySeconds: 0.1155 });
    await rollOut('cmp-same', '2.0.0');
    await until('cmp-same', 'promoted', phase('Succeeded'));
  });
});

test('traffic below minRequestRate: Inconclusive, held, never promoted; traffic back: it goes on', async () => {
  const driver = await stable('quiet', { policy: policy('quiet', [errors, latency]), rps: 4 });
  const before = await op.metric('cutover_analysis_evaluations_total', { result: 'Inconclusive' });
  await rollOut('quiet', '2.0.0');
  const held = await until(
    'quiet',
    'Inconclusive',
    (r) => r.status?.conditions?.some((c) => c.type === 'Analysis' && c.reason === 'Inconclusive') ?? false,
  );
  expect(held.status?.canaryWeight).toBe(10);
  // Well past the 1 s step: a dozen more Inconclusive evaluations, and still at 10 %.
  await waitFor(
    async () =>
      (await op.metric('cutover_analysis_evaluations_total', { result: 'Inconclusive' })) - before >= 12,
    { timeoutMs: 60_000, description: 'more Inconclusive evaluations' },
  );
  const still = await readRelease(api, ns, 'quiet');
  expect(still.status).toMatchObject({ phase: 'Shifting', canaryWeight: 10 });
  expect(still.status?.analysis?.message).toContain('below minRequestRate 1');
  driver.rps = 40;
  await until('quiet', 'promoted', phase('Succeeded'));
});

test('Prometheus stopped mid-rollout: held on Inconclusive; started again: it goes on', async () => {
  const own = await startPrometheus({ scrapeTargets: [metrics.target], scrapeInterval: '1s' });
  const port = Number(new URL(own.url).port);
  try {
    const p = policy('blind', [errors, latency]);
    (p as unknown as { spec: { prometheus: { address: string } } }).spec.prometheus.address = own.url;
    await stable('blind', {
      policy: p,
      extra: { traffic: { mode: 'GatewayAPI', httpRouteRef: { name: 'blind' }, stepDuration: '3s' } },
    });
    await rollOut('blind', '2.0.0');
    await until('blind', 'the 10 % step', (r) => r.status?.canaryWeight === 10);
    await own.stop();
    const held = await until('blind', 'Inconclusive for want of Prometheus', (r) =>
      /refused|unreachable/i.test(r.status?.analysis?.lastMeasurements?.[0]?.reason ?? ''),
    );
    expect(held.status).toMatchObject({ phase: 'Shifting', canaryWeight: 10 });
    expect(held.status?.analysis?.verdict).toBe('Inconclusive');
    const restarted = await startPrometheus({ scrapeTargets: [metrics.target], scrapeInterval: '1s', port });
    try {
      await until('blind', 'promoted', phase('Succeeded'));
    } finally {
      await restarted.stop();
    }
  } finally {
    await own.stop();
  }
});

test('DatabasePool against the real PostgreSQL: connections held past the threshold roll back', async () => {
  await appDatabase(api, ns, db.url, 'pool');
  // Its own Secret: this Release runs no migrations.
  const pool = {
    name: 'pool',
    builtin: 'DatabasePool',
    threshold: '60%',
    databaseSecretRef: { name: 'db-pool', key: 'url' },
  };
  await stable('pool', {
    policy: policy('pool', [pool]),
    extra: { traffic: { mode: 'GatewayAPI', httpRouteRef: { name: 'pool' }, stepDuration: '4s' } },
  });
  const held: pg.Client[] = [];
  try {
    await rollOut('pool', '2.0.0');
    await until('pool', 'the 10 % step', (r) => r.status?.canaryWeight === 10);
    // The reading alerts read, as a share of max_connections: exported while the Release is under analysis.
    const reading = await waitFor(() => measurement('pool', 'pool'), {
      timeoutMs: 15_000,
      description: 'the pool measurement on /metrics',
    });
    expect(reading.labels).toMatchObject({ signal: 'DatabasePool', slot: 'new' });
    expect(reading.value).toBeGreaterThan(0);
    expect(reading.value).toBeLessThanOrEqual(1);
    // 30 slots: 20 held connections put the ratio above 60 %, whatever else is connected.
    for (let i = 0; i < 20; i++) {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      held.push(c);
    }
    const r = await until('pool', 'rolled back', phase('RolledBack'));
    expect(r.status?.rollback).toMatchObject({ metric: 'pool', threshold: '60%' });
    // The database URL never reaches status.
    expect(JSON.stringify(r.status)).not.toContain(db.password);
    // Rolled back, out of analysis: no reading left behind to alert on.
    await waitFor(async () => (await measurement('pool', 'pool')) === undefined, {
      timeoutMs: 5_000,
      description: 'the pool measurement to leave /metrics',
    });
  } finally {
    await Promise.all(held.map((c) => c.end()));
  }
});

describe('verification before any traffic', () => {
  test('a failing verification Job: rolled back with its message, no traffic ever moved', async () => {
    await stable('unverified', { policy: policy('unverified', [errors]) });
    await rollOut('unverified', '2.0.0', {
      verify: {
        image: 'example.com/smoke:1',
        command: ['sh', '-c', 'echo "smoke: GET /checkout returned 503" > /dev/termination-log; exit 1'],
      },
    });
    const r = await until('unverified', 'rolled back', phase('RolledBack'));
    expect(r.status?.rollback?.cause).toBe('VerificationFailed');
    expect(r.status?.verification).toMatchObject({ phase: 'Failed' });
    expect(r.status?.verification?.message).toContain('smoke: GET /checkout returned 503');
    expect(r.status?.history?.[0]).toMatchObject({ outcome: 'RolledBack', cause: 'VerificationFailed' });
    const weights = await kubectl(
      '-n',
      ns,
      'get',
      'httproute',
      'unverified',
      '-o',
      'jsonpath={.spec.rules[1].backendRefs[*].weight}',
    );
    expect(weights.split(' ').map(Number)).toEqual([100, 0]);
  });

  test('a passing verification Job, run against the preview Service, starts the steps', async () => {
    const check = [
      'test "$CUTOVER_VERSION" = 2.0.0',
      `test "$CUTOVER_PREVIEW_URL" = "http://verified-preview.${'$'}{NS}.svc:80"`,
      'test "$CUTOVER_SLOT" = green',
    ].join(' && ');
    await stable('verified', { policy: policy('verified', [errors]) });
    await rollOut('verified', '2.0.0', {
      verify: { image: 'example.com/smoke:1', command: ['sh', '-c', check.replace('${NS}', ns)] },
    });
    const r = await until('verified', 'promoted', phase('Succeeded'));
    expect(r.status?.verification?.phase).toBe('Succeeded');
    const selector = await kubectl(
      '-n',
      ns,
      'get',
      'service',
      'verified-preview',
      '-o',
      'jsonpath={.spec.selector.slot}',
    );
    expect(selector).toBe('green');
  });
});

test('a breach after the contract started: no traffic moves, Failed with ContractApplied', async () => {
  const url = await appDatabase(api, ns, db.url, 'late');
  await query(url, 'CREATE TABLE items (id serial primary key, legacy text)');
  await api.create(
    configMap(ns, 'late-contract', {
      // Slow enough that the breach lands while it runs.
      '001_drop_legacy.up.sql': 'SELECT pg_sleep(6); ALTER TABLE items DROP COLUMN legacy;',
    }),
  );
  const driver = await stable('late', { policy: policy('late', [errors]) });
  await rollOut('late', '2.0.0', {
    migrations: {
      databaseSecretRef: { name: 'db-late', key: 'url' },
      contract: { configMapRef: { name: 'late-contract' }, after: '1s' },
    },
  });
  await until('late', 'the contract running', phase('Contracting'));
  driver.behave('2.0.0', { errorRatio: 0.2 });
  const r = await until('late', 'frozen', phase('Failed'));
  const ready = r.status?.conditions?.find((c) => c.type === 'Ready');
  expect(ready).toMatchObject({ status: 'False', reason: 'ContractApplied' });
  expect(r.status?.activeSlot).toBe('green');
  expect(await kubectl('-n', ns, 'get', 'service', 'late', '-o', 'jsonpath={.spec.selector.slot}')).toBe(
    'green',
  );
  expect(await op.metric('cutover_release_degraded', { release: 'late' })).toBe(1);
  // The contract is left to finish, and status follows it.
  await until('late', 'the contract finished', (x) => x.status?.migrations?.contract?.phase === 'Succeeded');
});

test('RunDownMigrations with an expand file missing its .down.sql: refused before the expand, naming the file', async () => {
  await appDatabase(api, ns, db.url, 'nodown');
  await api.create(
    configMap(ns, 'nodown-expand', {
      '001_a.up.sql': 'CREATE TABLE a (id int);',
      '001_a.down.sql': 'DROP TABLE a;',
      '002_b.up.sql': 'CREATE TABLE b (id int);',
    }),
  );
  await stable('nodown', {
    policy: policy('nodown', [errors], { database: { onRollback: 'RunDownMigrations' } }),
  });
  await rollOut('nodown', '2.0.0', {
    migrations: {
      databaseSecretRef: { name: 'db-nodown', key: 'url' },
      expand: { configMapRef: { name: 'nodown-expand' } },
    },
  });
  const r = await until('nodown', 'refused', phase('Failed'));
  const ready = r.status?.conditions?.find((c) => c.type === 'Ready');
  expect(ready?.reason).toBe('InvalidMigrations');
  expect(ready?.message).toContain('002_b.up.sql has no 002_b.down.sql');
  expect(await kubectl('-n', ns, 'get', 'jobs', '-l', 'app=nodown', '-o', 'name')).toBe('');
});

test('kill -9 between the breach and the rollback: the next operator completes it, once', async () => {
  const driver = await stable('crash', { policy: policy('crash', [errors], { failureLimit: 3 }) });
  driver.behave('2.0.0', { errorRatio: 0.3 });
  await rollOut('crash', '2.0.0');
  await until('crash', 'a first breach', (r) => (r.status?.analysis?.consecutiveFailures ?? 0) >= 1);
  await op.kill9();
  op = await startOperator({ leaseName: `analysis-restarted-${process.pid}` });
  await op.waitReady();
  const r = await until('crash', 'rolled back', phase('RolledBack'));
  expect(r.status?.history?.filter((h) => h.version === '2.0.0')).toHaveLength(1);
  const messages = await kubectl(
    '-n',
    ns,
    'get',
    'events',
    '--field-selector',
    'involvedObject.name=crash,reason=AnalysisFailed',
    '-o',
    'jsonpath={range .items[*]}{.message}{"\\n"}{end}',
  );
  // One decision to roll back (RollingBack), one RolledBack.
  expect(messages.split('\n').filter((m) => m.includes('traffic is going back'))).toHaveLength(1);
});
