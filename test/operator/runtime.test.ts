// The operator runtime against the real local cluster: restarts, leader
// election, an apiserver restart, resync without writes, per-object backoff,
// and bad configuration. Each test runs the real operator binary.
import type { KubernetesObject } from '@kubernetes/client-node';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, stopApiserver } from '../harness/cluster.js';
import { freePort } from '../harness/free-port.js';
import {
  apiserverRequests,
  denyByAdmissionPolicy,
  writeKubeconfig,
  kubeconfigForServiceAccount,
  createNamespace,
  deleteNamespace,
  installCrds,
  kubectl,
  objectApi,
  waitNoTerminatingNamespaces,
} from '../harness/kube.js';
import { startOperator, type OperatorProcess } from '../harness/operator.js';
import { waitFor } from '../harness/wait.js';
import { countReady, createAll, environment, listReleases, readyReason, release } from './fixtures.js';

const api = objectApi();
const running: OperatorProcess[] = [];
const namespaces: string[] = [];
let leaseSeq = 0;

async function operator(opts: Parameters<typeof startOperator>[0] = {}): Promise<OperatorProcess> {
  const op = await startOperator({ leaseName: `runtime-test-${process.pid}-${leaseSeq}`, ...opts });
  running.push(op);
  return op;
}

async function namespace(prefix: string): Promise<string> {
  const ns = await createNamespace(prefix, api);
  namespaces.push(ns);
  return ns;
}

const statusWrites = () =>
  apiserverRequests({ group: 'cutover.dev', resource: 'releases', subresource: 'status', code: '2' }, [
    'PUT',
  ]);
const cutoverWrites = () => apiserverRequests({ group: 'cutover.dev' });

beforeAll(async () => {
  await installCrds();
  await waitNoTerminatingNamespaces();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((op) => op.kill9()));
  leaseSeq++;
});

afterAll(async () => {
  await Promise.all(namespaces.map((ns) => deleteNamespace(ns, api)));
});

test('references resolve into Ready, and a missing Environment stalls until it appears', async () => {
  const ns = await namespace('rt-refs');
  await createAll(api, [release(ns, 'web', 'staging')]);
  const op = await operator();
  await op.waitReady();
  const stalled = await waitFor(
    async () => (await listReleases(api, ns)).find((r) => readyReason(r) === 'False/EnvironmentNotFound'),
    { timeoutMs: 10_000, description: 'Release stalled on its missing Environment' },
  );
  expect(stalled.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
    status: 'True',
    message: `Environment "staging" not found in namespace "${ns}"`,
  });
  expect(stalled.status?.observedGeneration).toBe(stalled.metadata?.generation);
  await api.create(environment(ns, 'staging'));
  await waitFor(async () => (await countReady(api, ns)) === 1, {
    timeoutMs: 10_000,
    description: 'Release Ready once its Environment exists',
  });
  const [ready] = await listReleases(api, ns);
  expect(ready?.status?.conditions?.map((c) => c.type)).toEqual(['Ready']);
  const events = await kubectl('-n', ns, 'get', 'events', '-o', 'jsonpath={.items[*].reason}');
  expect(events.split(' ')).toEqual(expect.arrayContaining(['RolloutStarted', 'RolloutSucceeded']));
});

test('kill -9 mid-flight and restart: no status is written twice', async () => {
  // Settle whatever other tests left in the cluster first, so the counts below are ours alone.
  const settle = await operator();
  await settle.waitReady();
  await waitFor(async () => (await settle.metric('cutover_workqueue_depth')) === 0, {
    timeoutMs: 30_000,
    description: 'queue drained',
  });

  // A control group rolled out without interruption gives the status writes per Release.
  const control = await namespace('rt-control');
  const m = 20;
  // The Environment first, and in the operator's cache (it has reconciled it): a Release
  // reconciled before its Environment is seen waits at the gate, which is one more write.
  await createAll(api, [environment(control)]);
  await waitFor(
    async () => {
      const env = await api.read<KubernetesObject & { status?: { observedGeneration?: number } }>({
        apiVersion: 'cutover.dev/v1alpha1',
        kind: 'Environment',
        metadata: { name: 'dev', namespace: control },
      });
      return env.status?.observedGeneration !== undefined;
    },
    { timeoutMs: 30_000, description: 'the control Environment reconciled' },
  );
  const beforeControl = await statusWrites();
  await createAll(
    api,
    Array.from({ length: m }, (_, i) => release(control, `c-${i}`)),
  );
  await waitFor(async () => (await countReady(api, control)) === m, {
    timeoutMs: 60_000,
    description: 'control group',
  });
  await waitFor(async () => (await settle.metric('cutover_workqueue_depth')) === 0, {
    timeoutMs: 30_000,
    description: 'idle',
  });
  const perRelease = ((await statusWrites()) - beforeControl) / m;
  expect(Number.isInteger(perRelease)).toBe(true);
  await settle.stop();

  const ns = await namespace('rt-kill');
  const n = 200;
  await createAll(api, [environment(ns), ...Array.from({ length: n }, (_, i) => release(ns, `app-${i}`))]);
  const before = await statusWrites();

  // One identity for both processes, as for a container restarted in its pod: the lease comes back at once.
  const first = await operator({ identity: 'restarted-replica', args: ['--workers', '1'] });
  await waitFor(
    async () => (await first.metric('cutover_api_writes_total', { resource: 'releases/status' })) >= 20,
    {
      timeoutMs: 30_000,
      intervalMs: 10,
      description: 'the first operator to be part-way through',
    },
  );
  await first.kill9();
  const byFirst = (await statusWrites()) - before;
  expect(byFirst).toBeGreaterThanOrEqual(19);
  expect(byFirst).toBeLessThan(n * perRelease);

  await operator({ identity: 'restarted-replica' });
  await waitFor(async () => (await countReady(api, ns)) === n, {
    timeoutMs: 120_000,
    description: `all ${n} Releases Ready after the restart`,
  });
  // Never more than an uninterrupted run; one fewer where the kill fell between an action and its status.
  const total = (await statusWrites()) - before;
  expect(total).toBeLessThanOrEqual(n * perRelease);
  expect(total).toBeGreaterThanOrEqual(n * perRelease - 1);
});

test('two replicas: one leader writes, the standby takes over within 20 s of a kill -9', async () => {
  const ns = await namespace('rt-leader');
  await createAll(api, [environment(ns)]);
  const a = await operator({ identity: 'replica-a' });
  const b = await operator({ identity: 'replica-b' });
  const leaders = async () => [await a.metric('cutover_leader'), await b.metric('cutover_leader')];
  await waitFor(async () => (await leaders()).reduce((x, y) => x + y) === 1, {
    timeoutMs: 20_000,
    description: 'exactly one leader',
  });
  const [aLeads] = await leaders();
  const [leader, standby] = aLeads === 1 ? [a, b] : [b, a];
  await standby.waitReady();

  await createAll(api, [release(ns, 'one')]);
  await waitFor(async () => (await countReady(api, ns)) === 1, {
    timeoutMs: 10_000,
    description: 'first Release',
  });
  expect(await standby.metric('cutover_api_writes_total')).toBe(0);
  expect(await standby.metric('cutover_leader')).toBe(0);

  await leader.kill9();
  const killedAt = performance.now();
  await waitFor(async () => (await standby.metric('cutover_leader')) === 1, {
    timeoutMs: 20_000,
    intervalMs: 200,
    description: 'the standby to take the lease',
  });
  const takeoverMs = performance.now() - killedAt;
  expect(takeoverMs).toBeLessThan(20_000);

  await createAll(api, [release(ns, 'two')]);
  await waitFor(async () => (await countReady(api, ns)) === 2, {
    timeoutMs: 10_000,
    description: 'second Release reconciled by the new leader',
  });
  expect(
    await standby.metric('cutover_api_writes_total', { resource: 'releases/status' }),
  ).toBeGreaterThanOrEqual(1);
});

test('kube-apiserver restarted under the operator: a new change is reconciled within 5 s of it coming back', async () => {
  const ns = await namespace('rt-apiserver');
  await createAll(api, [environment(ns), release(ns, 'before')]);
  const op = await operator();
  await op.waitReady();
  await waitFor(async () => (await countReady(api, ns)) === 1, {
    timeoutMs: 10_000,
    description: 'first Release',
  });

  await stopApiserver('SIGKILL');
  await waitFor(async () => !(await op.ready()), { timeoutMs: 30_000, description: 'readiness to drop' });
  await startCluster();
  const back = performance.now();
  await createAll(api, [release(ns, 'after')]);
  // Reconciled by the operator: its status answers the new object. (Finishing the rollout also
  // needs the controller-manager, which reconnects on its own schedule.)
  await waitFor(
    async () => {
      const r = (await listReleases(api, ns)).find((x) => x.metadata?.name === 'after');
      return r?.status?.observedGeneration === r?.metadata?.generation && r?.status?.phase !== undefined;
    },
    {
      timeoutMs: 5_000,
      intervalMs: 50,
      description: 'the Release created after the restart to be reconciled',
    },
  );
  expect(performance.now() - back).toBeLessThan(5_000);
  await waitFor(async () => (await countReady(api, ns)) === 2, {
    timeoutMs: 30_000,
    description: 'its rollout to finish',
  });
  await op.waitReady(10_000);
  expect(await op.metric('cutover_informer_restarts_total')).toBeGreaterThan(0);
  expect(op.proc.child.exitCode).toBeNull();
});

test('with 100 Releases settled, a forced full resync makes zero writes', async () => {
  const ns = await namespace('rt-resync');
  await createAll(api, [environment(ns), ...Array.from({ length: 100 }, (_, i) => release(ns, `svc-${i}`))]);
  const op = await operator();
  await waitFor(async () => (await countReady(api, ns)) === 100, {
    timeoutMs: 60_000,
    description: '100 Releases Ready',
  });
  await waitFor(async () => (await op.metric('cutover_workqueue_depth')) === 0, {
    timeoutMs: 30_000,
    description: 'queue drained',
  });
  const writesBefore = await op.metric('cutover_api_writes_total');
  const apiserverBefore = await cutoverWrites();
  const reconcilesBefore = await op.metric('cutover_reconcile_total', { kind: 'Release' });

  op.proc.child.kill('SIGHUP');
  await waitFor(
    async () => (await op.metric('cutover_reconcile_total', { kind: 'Release' })) >= reconcilesBefore + 100,
    { timeoutMs: 30_000, description: 'every Release reconciled again' },
  );
  await waitFor(async () => (await op.metric('cutover_workqueue_depth')) === 0, {
    timeoutMs: 30_000,
    description: 'queue drained after resync',
  });
  expect((await op.metric('cutover_api_writes_total')) - writesBefore).toBe(0);
  expect((await cutoverWrites()) - apiserverBefore).toBe(0);
});

test('a Release whose status write always fails backs off alone; the others keep flowing', async () => {
  const ns = await namespace('rt-poison');
  const policy = `cutover-test-poison-${process.pid}`;
  // A real admission policy refuses status writes for one object: the reconciler throws for it every time.
  const removePolicy = await denyByAdmissionPolicy(
    {
      name: policy,
      namespace: ns,
      resources: ['releases/status'],
      operations: ['UPDATE'],
      expression: `object.metadata.name != 'poison'`,
      message: 'poisoned for the backoff test',
    },
    api,
  );
  try {
    await createAll(api, [environment(ns), release(ns, 'poison')]);
    // The policy takes effect asynchronously; prove it is enforcing before starting.
    await waitFor(
      async () => {
        try {
          await kubectl(
            '-n',
            ns,
            'patch',
            'release',
            'poison',
            '--subresource',
            'status',
            '--type',
            'merge',
            '-p',
            '{"status":{"phase":"Pending"}}',
          );
          return false;
        } catch (err) {
          return String(err).includes('poisoned');
        }
      },
      { timeoutMs: 20_000, description: 'the admission policy to refuse status writes' },
    );
    const op = await operator();
    await waitFor(async () => (await op.metric('cutover_reconcile_errors_total', { kind: 'Release' })) >= 3, {
      timeoutMs: 10_000,
      description: 'the poisoned Release to fail a few times',
    });
    const started = performance.now();
    await createAll(
      api,
      Array.from({ length: 20 }, (_, i) => release(ns, `ok-${i}`)),
    );
    await waitFor(async () => (await countReady(api, ns)) === 20, {
      timeoutMs: 10_000,
      description: 'the healthy Releases Ready despite the poisoned one',
    });
    // Exponential backoff from 5 ms: about log2(t / 5 ms) attempts, not one per reconcile loop.
    const elapsedMs = performance.now() - started + 5_000;
    const failures = await op.metric('cutover_reconcile_errors_total', { kind: 'Release' });
    expect(failures).toBeLessThanOrEqual(Math.ceil(Math.log2(elapsedMs / 5)) + 3);
    const poison = (await listReleases(api, ns)).find((r) => r.metadata?.name === 'poison');
    expect(readyReason(poison ?? {})).toBeUndefined();
  } finally {
    await removePolicy();
  }
});

describe('bad configuration: one clear line, not ready, no crash loop', () => {
  async function logLines(
    op: OperatorProcess,
  ): Promise<Array<{ level: string; msg: string; err?: string; hint?: string }>> {
    return (await op.proc.logTail(64 * 1024))
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map(
        (l) =>
          JSON.parse(l) as { level: string; msg: string; err?: string; hint?: string; resource?: string },
      );
  }

  function expectOneLineEach(warnings: Array<{ msg: string; resource?: string }>): void {
    const watches = warnings
      .filter((w) => w.msg === 'watch failed; restarting with backoff')
      .map((w) => w.resource);
    expect(watches.length).toBeGreaterThanOrEqual(4);
    expect(new Set(watches).size).toBe(watches.length);
    expect(warnings.filter((w) => w.msg === 'leader lease update failed').length).toBeLessThanOrEqual(1);
    expect(warnings.length).toBe(
      watches.length + warnings.filter((w) => w.msg === 'leader lease update failed').length,
    );
  }

  async function staysDown(op: OperatorProcess, forMs: number): Promise<void> {
    // Readiness must stay false for a while and the process must stay up.
    const until = performance.now() + forMs;
    await waitFor(
      async () => {
        if (await op.ready()) throw new Error('became ready');
        return performance.now() >= until;
      },
      {
        timeoutMs: forMs + 5_000,
        intervalMs: 250,
        description: 'operator to stay unready',
        signal: op.proc.exitSignal,
      },
    );
    expect(op.proc.child.exitCode).toBeNull();
  }

  test('an unreadable kubeconfig', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cutover-kc-'));
    const path = join(dir, 'kubeconfig');
    writeFileSync(path, 'this: is: not: yaml: [');
    const op = await operator({ kubeconfig: path });
    await staysDown(op, 4_000);
    const errors = (await logLines(op)).filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.err).toContain(`kubeconfig ${path} is not readable`);
  });

  test('an unreachable API server', async () => {
    const port = await freePort();
    const path = writeKubeconfig(
      { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true },
      'not-a-real-token',
    );
    const op = await operator({ kubeconfig: path });
    await staysDown(op, 5_000);
    const warnings = (await logLines(op)).filter((l) => l.level === 'warn');
    // One line per watched resource and one for the lease, however many retries happened.
    expectOneLineEach(warnings);
    expect(await op.metric('cutover_informer_restarts_total')).toBeGreaterThan(warnings.length);
    expect((await op.proc.logTail(64 * 1024)).includes('    at ')).toBe(false);
  });

  test('RBAC denied', async () => {
    const ns = await namespace('rt-rbac');
    await kubectl('-n', ns, 'create', 'serviceaccount', 'nobody');
    const op = await operator({ kubeconfig: await kubeconfigForServiceAccount(ns, 'nobody') });
    await staysDown(op, 4_000);
    const warnings = (await logLines(op)).filter((l) => l.level === 'warn');
    expectOneLineEach(warnings);
    expect(warnings.some((w) => w.hint?.startsWith('RBAC denies list/watch on releases'))).toBe(true);
    expect(await kubectl('get', 'lease', '-A', '-o', 'name')).not.toContain(
      `runtime-test-${process.pid}-${leaseSeq}`,
    );
  });
});

test('SIGTERM on the leader hands the lease over at once', async () => {
  const a = await operator({ identity: 'graceful-a' });
  const b = await operator({ identity: 'graceful-b' });
  await waitFor(async () => (await a.metric('cutover_leader')) + (await b.metric('cutover_leader')) === 1, {
    timeoutMs: 20_000,
    description: 'exactly one leader',
  });
  const [leader, standby] = (await a.metric('cutover_leader')) === 1 ? [a, b] : [b, a];
  await standby.waitReady();
  const stoppedAt = performance.now();
  await leader.stop();
  expect(leader.proc.child.exitCode).toBe(0);
  await waitFor(async () => (await standby.metric('cutover_leader')) === 1, {
    timeoutMs: 10_000,
    intervalMs: 100,
    description: 'the standby to lead',
  });
  // Without the hand-back the standby would wait out the 15 s lease.
  expect(performance.now() - stoppedAt).toBeLessThan(6_000);
});
