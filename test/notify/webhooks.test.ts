// Webhook notifications end to end: the operator (a separate process) rolls a
// Release back on a real Prometheus reading and sees a real backup Job fail
// (the harness plays kubelet), and a real HTTP receiver started here gets both
// as generic JSON and as a Slack message. Then the receiver goes down: the
// rollback finishes regardless, and the notification arrives once it is back.
// A target whose last notification was refused, or that left spec.notify
// while one waited for it, does not count as failing.
// The URLs carry a token that must never show in logs, Events or status.
import type { KubernetesObject, V1CronJob } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { BackupPolicy, Environment, Release } from '../../operator/api/generated/index.js';
import { jobFromCronJob, manualJobName } from '../../operator/backup/objects.js';
import { startAppMetrics, type AppMetricsServer } from '../harness/app-metrics.js';
import { startExecutor, type Executor } from '../harness/executor.js';
import { createNamespace, deleteNamespace, installCrds, kubectl, objectApi } from '../harness/kube.js';
import { startOperator, type OperatorProcess } from '../harness/operator.js';
import { startPrometheus, type PrometheusInstance } from '../harness/prometheus.js';
import { startS3, type S3Server } from '../harness/s3.js';
import { TrafficDriver } from '../harness/traffic.js';
import { waitFor, waitUntil } from '../harness/wait.js';
import { startWebhookReceiver, type Received, type WebhookReceiver } from '../harness/webhook.js';
import {
  API,
  httpRoute,
  readRelease,
  release,
  rollbackPolicy,
  secret,
  setVersion,
} from '../release/fixtures.js';

const api = objectApi();
const token = randomBytes(12).toString('hex');
let ns: string;
let s3: S3Server;
let metrics: AppMetricsServer;
let prom: PrometheusInstance;
let receiver: WebhookReceiver;
let executor: Executor;
let op: OperatorProcess;
const drivers: TrafficDriver[] = [];

const obj = (o: Record<string, unknown>) => o as unknown as KubernetesObject;

interface JsonNotification {
  schema: string;
  id: string;
  severity: string;
  environment: { namespace: string; name: string; tier?: string };
  at: string;
  type: string;
  reason: string;
  message: string;
  object: { kind: string; namespace: string; name: string };
  details?: Record<string, unknown>;
}
interface SlackNotification {
  text: string;
  blocks: Array<{ type: string }>;
}

const jsonOf = (r: Received) => r.body as JsonNotification;
const json = () => receiver.received.filter((r) => r.path === `/json/${token}`).map(jsonOf);
const slack = () =>
  receiver.received.filter((r) => r.path === `/slack/${token}`).map((r) => r.body as SlackNotification);

/** A Release with its own policy and users, rolled out at v1. */
async function stable(app: string): Promise<TrafficDriver> {
  await api.create(
    rollbackPolicy(ns, app, prom.url, [{ name: 'latency', builtin: 'LatencyP95', threshold: '500ms' }]),
  );
  await api.create(httpRoute(ns, app));
  await api.create(
    release(ns, app, { extra: { environmentRef: { name: 'prod' }, rollbackPolicyRef: { name: app } } }),
  );
  await until(app, 'v1 Succeeded', (r) => r.status?.phase === 'Succeeded');
  const driver = new TrafficDriver(metrics, api, ns, app, 40);
  drivers.push(driver);
  driver.start();
  return driver;
}

const until = (app: string, what: string, done: (r: Release) => boolean, timeoutMs = 90_000) =>
  waitUntil(() => readRelease(api, ns, app), done, {
    timeoutMs,
    description: `${app}: ${what}`,
    show: (r) => r.status,
  });

const rolledBack = (r: Release) =>
  r.spec.version === '2.0.0' &&
  r.status?.observedGeneration === r.metadata?.generation &&
  r.status?.phase === 'RolledBack';

const environment = async () =>
  api.read<Environment>({ apiVersion: API, kind: 'Environment', metadata: { name: 'prod', namespace: ns } });

const health = async (target: string) =>
  (await environment()).status?.notifications?.find((n) => n.name === target);

beforeAll(async () => {
  await installCrds();
  [s3, metrics, receiver] = await Promise.all([startS3(), startAppMetrics(), startWebhookReceiver()]);
  await s3.createBucket('backups');
  prom = await startPrometheus({ scrapeTargets: [metrics.target], scrapeInterval: '1s' });
  ns = await createNamespace('notify', api);
  await api.create(
    secret(ns, 'hooks', { json: receiver.url(`/json/${token}`), slack: receiver.url(`/slack/${token}`) }),
  );
  await api.create(
    secret(ns, 's3', { AWS_ACCESS_KEY_ID: s3.config.accessKey, AWS_SECRET_ACCESS_KEY: s3.config.secretKey }),
  );
  // Nothing listens there: the database of the backup is down.
  await api.create(secret(ns, 'db-down', { url: 'postgresql://app@127.0.0.1:1/app' }));
  // The Environment's default: its Releases wait for it to exist.
  await api.create(
    obj({
      apiVersion: API,
      kind: 'BackupPolicy',
      metadata: { name: 'nightly', namespace: ns },
      spec: {
        databaseSecretRef: { name: 'db-down', key: 'url' },
        // Never due during the test: the Job is started by hand.
        full: { schedule: '0 3 1 1 *' },
        storage: {
          s3: {
            bucket: 'backups',
            prefix: 'nightly',
            endpoint: s3.config.endpoint,
            secretRef: { name: 's3' },
          },
        },
      },
    }),
  );
  await api.create(
    obj({
      apiVersion: API,
      kind: 'Environment',
      metadata: { name: 'prod', namespace: ns },
      spec: {
        tier: 'production',
        promotion: { approvals: 0 },
        defaults: {
          backupPolicyRef: { name: 'nightly' },
          traffic: { steps: [10, 25, 50, 100], stepDuration: '1s' },
        },
        notify: [
          { name: 'ops', urlSecretRef: { name: 'hooks', key: 'json' }, format: 'json' },
          {
            name: 'chat',
            urlSecretRef: { name: 'hooks', key: 'slack' },
            format: 'slack',
            reasons: ['AnalysisFailed', 'BackupFailed'],
          },
        ],
      },
    }),
  );
  executor = await startExecutor({ namespaces: [ns] });
  op = await startOperator({ leaseName: `notify-${process.pid}` });
  await op.waitReady();
});

afterAll(async () => {
  for (const d of drivers) d.stop();
  await op?.kill9();
  await executor?.stop();
  if (ns) await deleteNamespace(ns, api);
  await Promise.all([prom?.stop(), metrics?.close(), s3?.stop(), receiver?.close()]);
});

test('a rollback by the RollbackPolicy reaches both targets, each in its format', async () => {
  const driver = await stable('slow');
  driver.behave('2.0.0', { latencySeconds: 0.6 });
  await setVersion(api, ns, 'slow', '2.0.0');
  await until('slow', 'rolled back', rolledBack);

  const done = await waitFor(
    () =>
      json().find(
        (n) => n.reason === 'AnalysisFailed' && n.object.name === 'slow' && /rolled back/.test(n.message),
      ),
    { timeoutMs: 30_000, description: 'the JSON notification of the rollback' },
  );
  expect(done).toMatchObject({
    schema: 'cutover.dev/notification/v1',
    severity: 'warning',
    environment: { namespace: ns, name: 'prod', tier: 'production' },
    type: 'Warning',
    object: { kind: 'Release', namespace: ns, name: 'slow' },
    details: { version: '2.0.0' },
  });
  expect(done.id).toMatch(/^[0-9a-f]{32}$/);
  // Only critical and warning by default: the StepStarted of the rollout are not sent.
  expect(json().map((n) => n.reason)).not.toContain('StepStarted');
  expect(
    json()
      .filter((n) => n.object.name === 'slow')
      .map((n) => n.reason),
  ).toContain('AnalysisBreached');

  const message = await waitFor(
    () => slack().find((s) => s.text.includes('AnalysisFailed') && s.text.includes('slow')),
    {
      timeoutMs: 30_000,
      description: 'the Slack message of the rollback',
    },
  );
  expect(message.text).toMatch(
    /^:warning: \[warning\] AnalysisFailed: Release .*\/slow \(version 2\.0\.0\): /,
  );
  expect(message.blocks.map((b) => b.type)).toEqual(['section', 'context']);
  // The Slack target asked for two reasons only.
  expect(new Set(slack().map((s) => /\] (\w+):/.exec(s.text)?.[1]))).toEqual(new Set(['AnalysisFailed']));

  await waitFor(
    async () =>
      (await health('ops'))?.state === 'Delivering' && (await health('chat'))?.state === 'Delivering',
    {
      timeoutMs: 30_000,
      description: 'both targets Delivering in the Environment status',
    },
  );
  expect(
    await op.metric('cutover_notifications_total', { format: 'json', result: 'delivered' }),
  ).toBeGreaterThanOrEqual(2);
});

test('a failed backup of the Environment’s BackupPolicy reaches both targets', async () => {
  const cron = await waitFor(
    async () =>
      (await api
        .read<V1CronJob>({
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          metadata: { name: 'nightly-full', namespace: ns },
        })
        .catch(() => undefined)) ?? false,
    { timeoutMs: 30_000, description: 'the full CronJob' },
  );
  const job = jobFromCronJob(cron, manualJobName('nightly', 'full', new Date()));
  await api.create(job as KubernetesObject);
  const name = job.metadata?.name ?? '';

  const failed = await waitFor(() => json().find((n) => n.reason === 'BackupFailed'), {
    timeoutMs: 90_000,
    description: 'the JSON notification of the failed backup',
  });
  expect(failed).toMatchObject({
    severity: 'warning',
    type: 'Warning',
    environment: { namespace: ns, name: 'prod' },
    object: { kind: 'BackupPolicy', namespace: ns, name: 'nightly' },
  });
  expect(failed.message).toContain(name);
  const message = await waitFor(() => slack().find((s) => s.text.includes('BackupFailed')), {
    timeoutMs: 30_000,
    description: 'the Slack message of the failed backup',
  });
  expect(message.text).toContain(`BackupPolicy ${ns}/nightly`);
  const bkp = await api.read<BackupPolicy>({
    apiVersion: API,
    kind: 'BackupPolicy',
    metadata: { name: 'nightly', namespace: ns },
  });
  expect(bkp.status?.conditions?.find((c) => c.type === 'LastBackupSucceeded')).toMatchObject({
    status: 'False',
  });
});

test('receiver down: the rollback does not wait; the notification is retried and arrives once it is back', async () => {
  const driver = await stable('blind');
  await receiver.down();
  const failedBefore = await op.metric('cutover_notifications_total', { result: 'failed' });
  driver.behave('2.0.0', { latencySeconds: 0.6 });
  await setVersion(api, ns, 'blind', '2.0.0');
  await until('blind', 'rolled back while the receiver is down', rolledBack);
  expect(json().filter((n) => n.object.name === 'blind')).toEqual([]);
  // It was tried, and failed, while the rollback went on.
  await waitFor(
    async () => (await op.metric('cutover_notifications_total', { result: 'failed' })) > failedBefore,
    {
      timeoutMs: 30_000,
      description: 'failed attempts counted',
    },
  );
  const failing = await waitFor(
    async () => {
      const h = await health('ops');
      return h?.state === 'Failing' && h;
    },
    { timeoutMs: 30_000, description: 'ops Failing in the Environment status' },
  );
  expect(failing.lastError).toBe('connection refused');
  await waitFor(async () => (await op.metric('cutover_notification_queue', { format: 'json' })) > 0, {
    timeoutMs: 10_000,
    description: 'notifications waiting in the queue',
  });

  await receiver.up();
  const done = await waitFor(
    () =>
      json().find(
        (n) => n.reason === 'AnalysisFailed' && n.object.name === 'blind' && /rolled back/.test(n.message),
      ),
    { timeoutMs: 120_000, description: 'the retried notification of the rollback' },
  );
  expect(done.severity).toBe('warning');
  // In order: the breaches that started the rollback came first.
  const reasons = json()
    .filter((n) => n.object.name === 'blind')
    .map((n) => n.reason);
  expect(reasons.indexOf('AnalysisBreached')).toBeLessThan(reasons.lastIndexOf('AnalysisFailed'));
  await waitFor(async () => (await health('ops'))?.state === 'Delivering', {
    timeoutMs: 30_000,
    description: 'ops Delivering again',
  });
  await waitFor(async () => (await op.metric('cutover_notification_targets_failing')) === 0, {
    timeoutMs: 60_000,
    description: 'no target failing',
  });
});

test('a target that refused its last notification, or that left spec.notify, does not count as failing', async () => {
  const patch = (spec: Record<string, unknown>) =>
    kubectl(
      '-n',
      ns,
      'patch',
      'environments.cutover.dev',
      'prod',
      '--type=merge',
      '-p',
      JSON.stringify({ spec }),
    );
  const failingTargets = () => op.metric('cutover_notification_targets_failing');
  // Decisions of the Environment itself (Ready turns False), for ops only: its default policies go missing.
  receiver.answer(404);
  const rejectedBefore = await op.metric('cutover_notifications_total', { result: 'rejected' });
  await patch({ defaults: { rollbackPolicyRef: { name: 'absent' } } });
  await waitFor(
    async () => (await op.metric('cutover_notifications_total', { result: 'rejected' })) > rejectedBefore,
    { timeoutMs: 30_000, description: 'the RollbackPolicyNotFound notification refused' },
  );
  // Failing in status (its last attempt was refused), yet nothing waits for it: the alert's gauge says 0.
  await waitFor(async () => (await health('ops'))?.lastError === 'HTTP 404', {
    timeoutMs: 30_000,
    description: 'ops Failing on HTTP 404',
  });
  expect(await failingTargets()).toBe(0);

  // Now one waits, five minutes (Retry-After): ops counts until it leaves spec.notify.
  receiver.answer(503, { 'retry-after': '300' });
  await patch({ defaults: { rollbackPolicyRef: null, backupPolicyRef: { name: 'absent' } } });
  await waitFor(async () => (await failingTargets()) === 1, {
    timeoutMs: 30_000,
    description: 'ops failing with the BackupPolicyNotFound notification waiting',
  });
  await patch({ notify: (await environment()).spec.notify?.filter((t) => t.name !== 'ops') });
  await waitFor(async () => (await failingTargets()) === 0, {
    timeoutMs: 10_000,
    description: 'no target failing once ops is gone',
  });
  expect(await op.metric('cutover_notification_queue', { format: 'json' })).toBe(0);
  await waitFor(async () => (await health('ops')) === undefined, {
    timeoutMs: 30_000,
    description: 'ops gone from status.notifications',
  });
  receiver.answer(204);
  await patch({ defaults: { backupPolicyRef: { name: 'nightly' } } });
});

test('the URLs never show in the operator log, Events or status', async () => {
  const log = await readFile(op.proc.logPath, 'utf8');
  expect(log).toContain('notification failed; retrying');
  expect(log).not.toContain(token);
  expect(await kubectl('-n', ns, 'get', 'events', '-o', 'json')).not.toContain(token);
  expect(JSON.stringify((await environment()).status)).not.toContain(token);
  expect(
    await kubectl('-n', ns, 'get', 'releases,backuppolicies,rollbackpolicies', '-o', 'json'),
  ).not.toContain(token);
});
