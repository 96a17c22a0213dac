// The installation-wide Prometheus (--prometheus-address) against the local
// cluster and a real Prometheus: a RollbackPolicy without spec.prometheus
// is not Ready and holds its Releases at the gate while the operator has no
// address, and once the operator has one, the policy is Ready and a rollout is
// analysed through it. A policy's own address still wins.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Release, RollbackPolicy } from '../../operator/api/generated/index.js';
import { startAppMetrics, type AppMetricsServer } from '../harness/app-metrics.js';
import { createNamespace, deleteNamespace, installCrds, kubectl, objectApi } from '../harness/kube.js';
import { operatorRefusal, startOperator, type OperatorProcess } from '../harness/operator.js';
import { startPrometheus, type PrometheusInstance } from '../harness/prometheus.js';
import { waitUntil } from '../harness/wait.js';
import { API, environment, readRelease, release, setVersion } from '../release/fixtures.js';

const api = objectApi();
let ns: string;
let metrics: AppMetricsServer;
let prom: PrometheusInstance;
let op: OperatorProcess | undefined;

// A query that always answers 0: a passing evaluation needs Prometheus, not traffic.
const answers: Record<string, unknown> = { name: 'answers', query: 'vector(0)', above: 1 };

function policy(name: string, prometheus?: Record<string, unknown>): KubernetesObject {
  return {
    apiVersion: API,
    kind: 'RollbackPolicy',
    metadata: { name, namespace: ns },
    // Continue: without the hold, an unjudged step would move on.
    spec: {
      ...(prometheus ? { prometheus } : {}),
      interval: '1s',
      onInconclusive: 'Continue',
      triggers: [answers],
    },
  } as KubernetesObject;
}

const readPolicy = (name: string) =>
  api.read<RollbackPolicy>({ apiVersion: API, kind: 'RollbackPolicy', metadata: { name, namespace: ns } });

const ready = (o: { status?: { conditions?: Array<{ type: string; status: string; reason: string }> } }) => {
  const c = o.status?.conditions?.find((x) => x.type === 'Ready');
  return c && `${c.status}/${c.reason}`;
};

const policyReady = (name: string, expected: string): Promise<RollbackPolicy> =>
  waitUntil(
    () => readPolicy(name),
    (p) => ready(p) === expected,
    {
      timeoutMs: 30_000,
      description: `RollbackPolicy ${name} Ready ${expected}`,
      show: (p) => p.status,
    },
  );

const until = (app: string, what: string, done: (r: Release) => boolean): Promise<Release> =>
  waitUntil(() => readRelease(api, ns, app), done, {
    timeoutMs: 60_000,
    description: what,
    show: (r) => r.status,
  });

/** The status was written for the current spec. */
const current = (r: Release) => r.status?.observedGeneration === r.metadata?.generation;

async function restart(args: string[]): Promise<void> {
  await op?.stop();
  op = await startOperator({ leaseName: `prometheus-address-${process.pid}`, args });
  await op.waitReady();
}

beforeAll(async () => {
  await installCrds();
  metrics = await startAppMetrics();
  prom = await startPrometheus({ scrapeTargets: [metrics.target], scrapeInterval: '1s' });
  ns = await createNamespace('prom-address', api);
  await api.create(environment(ns));
});

afterAll(async () => {
  await op?.kill9();
  await deleteNamespace(ns, api);
  await prom.stop();
  await metrics.close();
});

test('a bad --prometheus-address or CUTOVER_PROMETHEUS_ADDRESS: a clear message and exit 2 before anything starts', async () => {
  expect(await operatorRefusal(['--prometheus-address', 'prometheus.monitoring:9090'])).toEqual({
    code: 2,
    stderr:
      'cutover operator: --prometheus-address: "prometheus.monitoring:9090" is not an http:// or https:// URL (e.g. http://prometheus.monitoring:9090)\n',
  });
  const fromEnv = await operatorRefusal([], { CUTOVER_PROMETHEUS_ADDRESS: 'ftp://reader:s3cret@prom:21' });
  expect(fromEnv.code).toBe(2);
  expect(fromEnv.stderr).toContain(
    '--prometheus-address: "ftp://***@prom:21" is not an http:// or https:// URL',
  );
  expect(fromEnv.stderr).not.toContain('s3cret');
});

test('without an address anywhere the policy is not Ready and its Release waits at the gate; with the flag both go on', async () => {
  await restart([]);
  await api.create(policy('shared'));
  const missing = await policyReady('shared', 'False/PrometheusAddressMissing');
  expect(missing.spec.prometheus).toEqual({ timeout: '5s' });
  expect(missing.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain(
    'no Prometheus address: set spec.prometheus.address, or start the operator with --prometheus-address',
  );

  await api.create(
    release(ns, 'web', { mode: 'Replicas', extra: { rollbackPolicyRef: { name: 'shared' } } }),
  );
  const parked = await until(
    'web',
    'v1 parked at the gate',
    (r) => current(r) && ready(r) === 'False/PrometheusAddressMissing',
  );
  expect(parked.status?.phase).toBe('Pending');
  expect(parked.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
    status: 'True',
    reason: 'PrometheusAddressMissing',
    message: expect.stringContaining('RollbackPolicy "shared": no Prometheus address') as unknown,
  });
  // Nothing touched: no slot was deployed.
  const deployments = await api.list('apps/v1', 'Deployment', ns);
  expect(deployments.items.map((d) => d.metadata?.name)).toEqual([]);

  await restart(['--prometheus-address', prom.url]);
  const reachable = await policyReady('shared', 'True/PrometheusReachable');
  // The operator's address is not written into the policy: it stays the installation's.
  expect(reachable.spec.prometheus).toEqual({ timeout: '5s' });
  await until('web', 'v1 rolled out', (r) => current(r) && r.status?.phase === 'Succeeded');

  // A rollout analysed through the operator's Prometheus: every step needs a passing evaluation.
  await setVersion(api, ns, 'web', '2.0.0');
  const v2 = await until('web', 'v2 promoted', (r) => current(r) && r.status?.phase === 'Succeeded');
  expect(v2.status?.stableVersion).toBe('2.0.0');
  expect(v2.status?.analysis).toMatchObject({ policy: 'shared', verdict: 'Pass', consecutiveFailures: 0 });
  expect(v2.status?.analysis?.lastMeasurements).toEqual([
    expect.objectContaining({ trigger: 'answers', result: 'Pass', value: '0' }),
  ]);
});

test("a policy's own address wins over the operator's", async () => {
  // Nothing listens on port 9 of the loopback: the probe fails, which it would not against the operator's.
  await api.create(policy('own', { address: 'http://127.0.0.1:9' }));
  const own = await policyReady('own', 'False/PrometheusUnreachable');
  expect(own.status?.conditions?.find((c) => c.type === 'Ready')?.message).toContain(
    'Prometheus at http://127.0.0.1:9',
  );
});

test('an operator restarted without the address mid-rollout: the Release says why it holds, at the same step', async () => {
  // A step long enough that the old operator is still at the first one when it stops.
  await kubectl(
    '-n',
    ns,
    'patch',
    'release',
    'web',
    '--type',
    'merge',
    '-p',
    '{"spec":{"traffic":{"stepDuration":"10m"}}}',
  );
  await setVersion(api, ns, 'web', '3.0.0');
  await until('web', 'v3 at its first step', (r) => current(r) && r.status?.phase === 'Shifting');
  await restart([]);
  const held = await until('web', 'v3 held', (r) => ready(r) === 'False/PrometheusAddressMissing');
  expect(held.status).toMatchObject({ phase: 'Shifting', currentStep: 0, canaryWeight: 10 });
  await policyReady('shared', 'False/PrometheusAddressMissing');
});
