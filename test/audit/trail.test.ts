// The audit trail end to end: the real operator on the local cluster writing
// to a real PostgreSQL. A v1 → v2 rollout with an abort lands as rows in
// order and as the same records on stdout, and `kubectl cutover audit` shows
// them; with a clock a year ahead, months past the 365-day retention are
// dropped and recent ones kept; a database that is down at first gets the
// records it missed once it is up, and a table dropped under the running
// operator is made again for the next record.
import { readFile } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { addMonths, monthOf, partition } from '../../operator/audit/partitions.js';
import { postgresStore } from '../../operator/audit/postgres.js';
import { parseAuditLine, type AuditRecord } from '../../operator/audit/record.js';
import { auditRecord } from '../../operator/audit/record.testkit.js';
import { freePort } from '../harness/free-port.js';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Release } from '../../operator/api/generated/index.js';
import {
  createNamespace,
  deleteNamespace,
  installAdmission,
  installCrds,
  kubeconfigAs,
  kubectl,
  objectApi,
} from '../harness/kube.js';
import { startOperator, type OperatorProcess } from '../harness/operator.js';
import { runPlugin } from '../harness/plugin.js';
import { startPostgres, type PostgresInstance } from '../harness/postgres.js';
import { waitFor } from '../harness/wait.js';
import { createDatabase, query } from '../release/database.js';
import {
  API,
  environment,
  httpRoute,
  readRelease,
  release,
  setVersion,
  waitPhase,
} from '../release/fixtures.js';

const api = objectApi();
let ns: string;
let db: PostgresInstance;

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('audit', api);
  await api.create(environment(ns));
  db = await startPostgres();
});

afterAll(async () => {
  await deleteNamespace(ns, api);
  await db?.stop();
});

/** A database of its own per test, so one test's partitions and rows are not another's. */
const database = (name: string) => createDatabase(db.url, name);

interface Row {
  id: string;
  time: Date;
  action: string;
  type: string;
  version: string | null;
  revision: string | null;
  details: Record<string, unknown>;
}

/** The object's rows, oldest first; none while the table does not exist yet. */
const rowsOf = (url: string, name: string, namespace = ns, kind = 'Release') =>
  query<Row>(
    url,
    `SELECT id, time, action, type, version, revision, details FROM cutover_audit
      WHERE namespace = $1 AND kind = $2 AND name = $3 ORDER BY time, seq`,
    [namespace, kind, name],
  ).catch(() => [] as Row[]);

async function stdoutRecords(op: OperatorProcess, name: string): Promise<AuditRecord[]> {
  const text = await readFile(op.proc.logPath, 'utf8');
  return text
    .split('\n')
    .map(parseAuditLine)
    .filter((r): r is AuditRecord => r !== undefined && r.namespace === ns && r.name === name);
}

const nonEmpty = <T>(xs: T[]): T[] | undefined => (xs.length > 0 ? xs : undefined);

test('a v1 → v2 rollout with an abort: rows in order in PostgreSQL, the same records on stdout, and kubectl cutover audit', async () => {
  const url = await database('audit_flow');
  // The URL from the environment, as a Secret would provide it.
  const op = await startOperator({
    leaseName: `audit-flow-${process.pid}`,
    env: { CUTOVER_AUDIT_DATABASE_URL: url },
  });
  try {
    await op.waitReady();
    await api.create(httpRoute(ns, 'ab'));
    const traffic = {
      mode: 'GatewayAPI',
      httpRouteRef: { name: 'ab' },
      steps: [50, 100],
      stepDuration: '60s',
    };
    await api.create(release(ns, 'ab', { extra: { traffic } }));
    await waitPhase(api, ns, 'ab', 'Succeeded', undefined, 60_000);
    await setVersion(api, ns, 'ab', '2.0.0');
    await waitFor(async () => (await readRelease(api, ns, 'ab')).status?.canaryWeight === 50, {
      timeoutMs: 30_000,
      description: 'the 50 % step',
    });
    await kubectl('-n', ns, 'annotate', 'release', 'ab', 'cutover.dev/abort=test');
    await waitPhase(api, ns, 'ab', 'RolledBack');

    const expected = ['RolloutSucceeded', 'RolloutStarted', 'Shifting', 'Aborted', 'Aborted'];
    const rows = await waitFor(
      async () => {
        const r = await rowsOf(url, 'ab');
        return r.length >= expected.length && r;
      },
      { timeoutMs: 15_000, description: 'the rollout and the abort in the audit table' },
    );
    expect(rows.map((r) => r.action)).toEqual(expected);
    expect(rows.map((r) => r.version)).toEqual(['1.0.0', '2.0.0', '2.0.0', '2.0.0', '2.0.0']);
    const [succeeded, started, shifting, aborting, rolledBack] = rows;
    expect(started?.details).toEqual({ slot: 'green', from: '1.0.0', gates: 'open' });
    expect(shifting?.details).toEqual({});
    expect(aborting).toMatchObject({ type: 'Warning', details: { cause: 'Aborted', to: 'blue' } });
    expect(rolledBack).toMatchObject({ type: 'Warning', details: { cause: 'Aborted' } });
    expect(succeeded?.revision).toBeTruthy();
    expect(started?.revision).toBeTruthy();
    expect(started?.revision).not.toBe(succeeded?.revision);
    for (let i = 1; i < rows.length; i++)
      expect(rows[i]?.time.getTime()).toBeGreaterThanOrEqual(rows[i - 1]?.time.getTime() ?? 0);

    // The same records, in the same order, as JSON lines on stdout.
    const lines = await stdoutRecords(op, 'ab');
    expect(lines.map((r) => r.id)).toEqual(rows.map((r) => r.id));
    expect(lines[3]).toMatchObject({
      kind: 'Release',
      action: 'Aborted',
      version: '2.0.0',
      operator: expect.any(String),
    });
    expect(await op.metric('cutover_audit_records_total', { sink: 'postgres' })).toBeGreaterThanOrEqual(5);
    expect(await op.metric('cutover_audit_write_failures_total')).toBe(0);

    // kubectl cutover audit reads the same table.
    const env = { CUTOVER_AUDIT_DATABASE_URL: url };
    const table = await runPlugin(['audit', 'ab', '-n', ns], env);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    const lineActions = table.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[1]);
    expect(lineActions).toEqual(expected);
    expect(table.stdout).toContain('cause=Aborted');
    expect(table.stdout).not.toContain(db.password);
    const asJson = await runPlugin(['audit', 'ab', '-n', ns, '-o', 'json'], env);
    expect((JSON.parse(asJson.stdout) as AuditRecord[]).map((r) => r.id)).toEqual(rows.map((r) => r.id));
    const none = await runPlugin(['audit', 'ab', '-n', ns, '--since', '2099-01-01T00:00:00Z'], env);
    expect(none.stdout).toBe(
      `No audit records for release "ab" in namespace "${ns}" since 2099-01-01T00:00:00Z.\n`,
    );
    const noDb = await runPlugin(['audit', 'ab', '-n', ns], { CUTOVER_AUDIT_DATABASE_URL: '' });
    expect(noDb).toMatchObject({ code: 1, stdout: '' });
    expect(noDb.stderr).toMatch(/^Error: no audit database: set CUTOVER_AUDIT_DATABASE_URL/);
  } finally {
    await op.stop();
  }
  // The password never reached the operator's log.
  expect(await readFile(op.proc.logPath, 'utf8')).not.toContain(db.password);
});

test('with the clock a year ahead, partitions past 365 days are dropped on start and recent ones stay', async () => {
  const url = await database('audit_retention');
  const now = new Date();
  const clock = new Date(now.getTime() + 440 * 86_400_000);
  const old = [partition(addMonths(monthOf(now), -2)), partition(monthOf(now))];
  const recent = partition(monthOf(new Date(now.getTime() + 120 * 86_400_000)));
  const store = postgresStore(url);
  try {
    await store.prepare([...old, recent]);
    await store.insert([
      auditRecord({
        time: now.toISOString(),
        namespace: ns,
        name: 'long-ago',
        message: 'a year and more ago',
      }),
    ]);
  } finally {
    await store.close();
  }
  const op = await startOperator({
    leaseName: `audit-retention-${process.pid}`,
    args: [
      '--audit-database-url',
      url,
      '--clock-start',
      clock.toISOString(),
      '--audit-retention-days',
      '365',
    ],
  });
  try {
    await op.waitReady();
    const ahead = [partition(monthOf(clock)), partition(addMonths(monthOf(clock), 1))];
    const reader = postgresStore(url);
    const names = await waitFor(
      async () => {
        const set = new Set(await reader.partitions());
        return old.every((p) => !set.has(p.name)) && ahead.every((p) => set.has(p.name)) && set;
      },
      { timeoutMs: 20_000, description: 'old partitions dropped and the months ahead created' },
    ).finally(() => reader.close());
    expect([...names].sort()).toEqual([recent.name, ...ahead.map((p) => p.name)].sort());
    expect(await query(url, "SELECT 1 FROM cutover_audit WHERE name = 'long-ago'")).toEqual([]);

    // Decisions are stamped on the operator's clock: a first rollout's row lands in the clock's month.
    await api.create(release(ns, 'later', { mode: 'Service' }));
    const rows = await waitFor(async () => nonEmpty(await rowsOf(url, 'later')), {
      timeoutMs: 60_000,
      description: 'the rollout of a Release under the clock a year ahead',
    });
    expect(rows[0]?.action).toBe('RolloutSucceeded');
    expect(Math.abs((rows[0]?.time.getTime() ?? 0) - clock.getTime())).toBeLessThan(120_000);
  } finally {
    await op.stop();
  }
});

test('a database down at first: records wait, failures are counted, and they are written once it is up', async () => {
  const url = await database('audit_outage');
  // The operator reaches PostgreSQL through a port where, at first, nothing listens.
  const port = await freePort();
  const via = new URL(url);
  via.port = String(port);
  const op = await startOperator({
    leaseName: `audit-outage-${process.pid}`,
    args: ['--audit-database-url', via.toString()],
  });
  let forwarder: Server | undefined;
  try {
    await op.waitReady();
    await api.create(release(ns, 'outage', { mode: 'Service' }));
    await waitPhase(api, ns, 'outage', 'Succeeded', undefined, 60_000);
    await waitFor(
      async () =>
        (await op.metric('cutover_audit_buffered')) >= 1 &&
        (await op.metric('cutover_audit_write_failures_total')) >= 2,
      { timeoutMs: 30_000, description: 'the record buffered while writes fail' },
    );
    // On stdout at once, whatever the database does.
    expect((await stdoutRecords(op, 'outage')).map((r) => r.action)).toEqual(['RolloutSucceeded']);
    expect(await rowsOf(url, 'outage')).toEqual([]);

    forwarder = createServer((client) => {
      const upstream = createConnection({ host: db.host, port: db.port });
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
    });
    await new Promise<void>((resolve) => forwarder?.listen(port, '127.0.0.1', resolve));

    const rows = await waitFor(async () => nonEmpty(await rowsOf(url, 'outage')), {
      timeoutMs: 90_000,
      description: 'the buffered record written once the database is reachable',
    });
    expect(rows.map((r) => r.action)).toEqual(['RolloutSucceeded']);
    await waitFor(async () => (await op.metric('cutover_audit_buffered')) === 0, {
      timeoutMs: 10_000,
      description: 'the buffer drained',
    });
    expect(await op.metric('cutover_audit_dropped_total')).toBe(0);
    expect(await readFile(op.proc.logPath, 'utf8')).toContain('audit records are written again');

    // The database is reset under the running operator (a restore from before the table existed):
    // the next record's write finds the table gone, and the pass after it makes the table again.
    await query(url, 'DROP TABLE cutover_audit, cutover_audit_installations');
    await api.create(release(ns, 'reset', { mode: 'Service' }));
    await waitPhase(api, ns, 'reset', 'Succeeded', undefined, 60_000);
    const again = await waitFor(async () => nonEmpty(await rowsOf(url, 'reset')), {
      timeoutMs: 30_000,
      description: 'a record written into the table made again after the reset',
    });
    expect(again.map((r) => r.action)).toEqual(['RolloutSucceeded']);
  } finally {
    await op.stop();
    forwarder?.close();
  }
  expect(await readFile(op.proc.logPath, 'utf8')).not.toContain(db.password);
});

test('gates and approvals: who approved, the gate that held the rollout and its passing, and a configuration change', async () => {
  await installAdmission();
  const gated = await createNamespace('audit-gates', api);
  const url = await database('audit_gates');
  const op = await startOperator({
    leaseName: `audit-gates-${process.pid}`,
    env: { CUTOVER_AUDIT_DATABASE_URL: url },
  });
  try {
    await kubectl(
      '-n',
      gated,
      'create',
      'rolebinding',
      'approvers',
      '--clusterrole',
      'cutover-approver',
      '--user',
      'alice',
    );
    await kubectl('-n', gated, 'create', 'configmap', 'shop-config', '--from-literal=LOG_LEVEL=info');
    await api.create({
      apiVersion: API,
      kind: 'Environment',
      metadata: { name: 'prod', namespace: gated },
      spec: {
        tier: 'production',
        promotion: { approvals: 1 },
        config: {
          configMapRef: { name: 'shop-config' },
          rules: [{ key: 'LOG_LEVEL', enum: ['info', 'debug'] }],
        },
        defaults: { traffic: { steps: [100], stepDuration: '1s' } },
      },
    } as KubernetesObject);
    await op.waitReady();
    const shop = release(gated, 'shop', { mode: 'Replicas', replicas: 1 });
    (shop as Release).spec.environmentRef = { name: 'prod' };
    await api.create(shop);
    await waitPhase(api, gated, 'shop', 'AwaitingApproval');
    const approve = await runPlugin(['approve', 'shop', '-n', gated], {
      KUBECONFIG: await kubeconfigAs('alice'),
    });
    expect(approve.code).toBe(0);
    await waitPhase(api, gated, 'shop', 'Succeeded', undefined, 60_000);
    await kubectl('-n', gated, 'patch', 'configmap', 'shop-config', '-p', '{"data":{"LOG_LEVEL":"debug"}}');

    const changed = await waitFor(
      async () =>
        nonEmpty(
          (await rowsOf(url, 'prod', gated, 'Environment')).filter((r) => r.action === 'ConfigChanged'),
        ),
      {
        timeoutMs: 30_000,
        description: 'the configuration change in the audit table',
      },
    );
    expect(changed).toHaveLength(1);
    expect(changed[0]?.details).toMatchObject({
      from: expect.any(String),
      to: expect.any(String),
      ruleErrors: 0,
    });

    const rows = await rowsOf(url, 'shop', gated);
    expect(rows.map((r) => r.action)).toEqual([
      'RolloutStarted',
      'AwaitingApproval',
      'Approved',
      'GatesPassed',
      'Deploying',
      'RolloutSucceeded',
    ]);
    const byAction = new Map(rows.map((r) => [r.action, r]));
    expect(byAction.get('RolloutStarted')?.details).toEqual({ slot: 'blue', gates: 'blocked' });
    expect(byAction.get('AwaitingApproval')?.details).toEqual({ gate: 'approvals' });
    expect(byAction.get('Approved')?.details).toEqual({ approver: 'alice', approvals: 1, required: 1 });
    expect(byAction.get('GatesPassed')?.details).toEqual({ approvedBy: 'alice' });

    const table = await runPlugin(['audit', 'shop', '-n', gated], { CUTOVER_AUDIT_DATABASE_URL: url });
    expect(table.stdout).toContain('approver=alice');
  } finally {
    await op.stop();
    await deleteNamespace(gated, api);
  }
});
