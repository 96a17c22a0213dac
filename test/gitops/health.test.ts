// GitOps health on the local cluster: a real operator rolls a Release out,
// holds one at a gate, fails and rolls back others, and at each point kstatus
// (what Flux reads, computed by cli-utils itself) and the Argo CD Lua script
// must give the health the phase stands for. Every object a watch saw during
// the rollout is judged too, so no intermediate phase slips through.
// CUTOVER_WRITE_FIXTURES=1 saves what was checked to test/fixtures/status/.
import { Watch, type KubernetesObject } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Release } from '../../operator/api/generated/index.js';
import { freePort } from '../harness/free-port.js';
import { ARGOCD_DIR, HEALTH_SCRIPTS, argoHealth, buildKstatus, kstatus } from '../harness/gitops.js';
import {
  createNamespace,
  deleteNamespace,
  installCrds,
  kubeConfig,
  kubectl,
  objectApi,
} from '../harness/kube.js';
import { startOperator, type OperatorProcess } from '../harness/operator.js';
import { startPrometheus, type PrometheusInstance } from '../harness/prometheus.js';
import { waitUntil } from '../harness/wait.js';
import { API, environment, release, setVersion } from '../release/fixtures.js';
import { healthKey, PATCH_PATH } from './argocd-cm.js';
import { normalize, writeFixture, type Expected, type StatusFixture } from './fixtures.js';

const api = objectApi();
let op: OperatorProcess;
let prom: PrometheusInstance | undefined;
let ns: string;
const saved: Array<{ name: string; fixture: StatusFixture }> = [];

beforeAll(async () => {
  // Cold, the checker's Go build takes about 70 s on 2 cores (modules downloaded too).
  await buildKstatus();
  await installCrds();
  ns = await createNamespace('gitops', api);
  await api.create(environment(ns));
  op = await startOperator({ leaseName: `gitops-${process.pid}` });
  await op.waitReady();
}, 300_000);

afterAll(async () => {
  await op.stop();
  await prom?.stop();
  await deleteNamespace(ns, api);
  if (process.env.CUTOVER_WRITE_FIXTURES === '1') {
    for (const { name, fixture } of saved) await writeFixture(name, fixture);
  }
});

type Kind = keyof typeof HEALTH_SCRIPTS;
type Obj = KubernetesObject & {
  spec?: { paused?: boolean };
  status?: Release['status'];
};

const read = (kind: Kind, name: string) =>
  api.read<Obj>({ apiVersion: API, kind, metadata: { name, namespace: ns } });

const cond = (o: Obj, type: string) => o.status?.conditions?.find((c) => c.type === type);
const settled = (o: Obj) => o.status?.observedGeneration === o.metadata?.generation;

/** Waits until the object satisfies `ok` and its status is for its current spec. */
function until(kind: Kind, name: string, what: string, ok: (o: Obj) => boolean, timeoutMs = 60_000) {
  return waitUntil(
    () => read(kind, name),
    (o) => settled(o) && ok(o),
    {
      timeoutMs,
      description: `${kind} ${name}: ${what}`,
      show: (o) => o.status,
    },
  );
}

async function judge(obj: object): Promise<Expected & { messages: string[] }> {
  const [k] = await kstatus([obj]);
  const a = await argoHealth(obj);
  if (!k) throw new Error('kstatus printed nothing');
  return { kstatus: k.status, argo: a.status, messages: [k.message, a.message] };
}

/** Both readers give `want` for `obj`; kept as fixture `name`. */
async function expectHealth(name: string, about: string, obj: Obj, want: Expected): Promise<void> {
  const got = await judge(obj);
  expect({ name, kstatus: got.kstatus, argo: got.argo }).toEqual({ name, ...want });
  saved.push({ name, fixture: { about, ...want, object: normalize(obj, ns) } });
}

/** The health a Release's phase stands for, from the phase alone (not from its conditions). */
function byPhase(r: Obj): Expected {
  if (!settled(r)) return { kstatus: 'InProgress', argo: 'Progressing' };
  const phase = r.status?.phase;
  if (phase === 'Succeeded') return { kstatus: 'Current', argo: 'Healthy' };
  if (phase === 'Failed' || phase === 'RolledBack') return { kstatus: 'Failed', argo: 'Degraded' };
  // spec.paused holds traffic steps only; a rollback or a deploy goes on.
  const held = r.spec?.paused && phase === 'Shifting';
  return { kstatus: 'InProgress', argo: held ? 'Suspended' : 'Progressing' };
}

/** Every version of the Releases in the namespace a watcher outside the operator sees. */
async function watchReleases(): Promise<{ seen: Obj[]; stop: () => void }> {
  const seen: Obj[] = [];
  const req = await new Watch(kubeConfig()).watch(
    `/apis/cutover.dev/v1alpha1/namespaces/${ns}/releases`,
    {},
    (_type: string, obj: Obj) => void seen.push(obj),
    () => undefined,
  );
  return { seen, stop: () => req.abort() };
}

test('a rollout: Current when Succeeded, InProgress while shifting, Suspended for Argo when paused, Failed once aborted', async () => {
  const traffic = { mode: 'Replicas', steps: [50, 100], stepDuration: '10m' };
  await api.create(release(ns, 'shop', { mode: 'Replicas', replicas: 1, extra: { traffic } }));
  const v1 = await until('Release', 'shop', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
  await expectHealth('release-succeeded', 'Release whose rollout finished', v1, {
    kstatus: 'Current',
    argo: 'Healthy',
  });

  const watch = await watchReleases();
  await setVersion(api, ns, 'shop', '2.0.0');
  const shifting = await until('Release', 'shop', 'holding 50 %', (r) => r.status?.phase === 'Shifting');
  await expectHealth('release-shifting', 'Release holding a traffic step', shifting, {
    kstatus: 'InProgress',
    argo: 'Progressing',
  });

  await kubectl('-n', ns, 'patch', 'release', 'shop', '--type', 'merge', '-p', '{"spec":{"paused":true}}');
  const paused = await until('Release', 'shop', 'paused', (r) => cond(r, 'Ready')?.reason === 'Paused');
  await expectHealth('release-paused', 'Release paused mid-rollout (spec.paused)', paused, {
    kstatus: 'InProgress',
    argo: 'Suspended',
  });

  await kubectl('-n', ns, 'annotate', 'release', 'shop', 'cutover.dev/abort=gitops-test');
  const rolledBack = await until('Release', 'shop', 'RolledBack', (r) => r.status?.phase === 'RolledBack');
  watch.stop();
  await expectHealth('release-rolledback', 'Release whose rollout was aborted', rolledBack, {
    kstatus: 'Failed',
    argo: 'Degraded',
  });

  const phases = new Set<string>();
  for (const obj of watch.seen) {
    const got = await judge(obj);
    const want = byPhase(obj);
    const where = `${obj.status?.phase} (generation ${obj.metadata?.generation}, observed ${obj.status?.observedGeneration})`;
    expect({ where, kstatus: got.kstatus, argo: got.argo }).toEqual({ where, ...want });
    const phase = settled(obj) ? (obj.status?.phase ?? 'None') : 'Unobserved';
    if (phases.has(phase)) continue;
    phases.add(phase);
    saved.push({
      name: `release-watched-${phase.toLowerCase()}`,
      fixture: { about: `Release seen by a watch in ${phase}`, ...want, object: normalize(obj, ns) },
    });
  }
  // The watch saw the rollout move, not only its ends.
  expect([...phases]).toEqual(expect.arrayContaining(['Unobserved', 'Shifting', 'RolledBack']));
});

test('the progress deadline: a Failed rollout is kstatus Failed and Argo Degraded', async () => {
  await api.create(
    release(ns, 'stuck', { mode: 'Replicas', replicas: 1, extra: { progressDeadline: '3s' } }),
  );
  await until('Release', 'stuck', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
  await setVersion(api, ns, 'stuck', '2.0.0', { 'cutover.dev/test-never-ready': 'true' });
  const failed = await until('Release', 'stuck', 'Failed', (r) => r.status?.phase === 'Failed');
  expect(cond(failed, 'Ready')?.reason).toBe('ProgressDeadlineExceeded');
  await expectHealth('release-failed', 'Release past its progress deadline', failed, {
    kstatus: 'Failed',
    argo: 'Degraded',
  });
});

test('a settled Release whose active slot was scaled away: kstatus Failed (Stalled), Argo Degraded', async () => {
  await api.create(release(ns, 'scaled', { mode: 'Replicas', replicas: 1 }));
  const ok = await until('Release', 'scaled', 'Succeeded', (r) => r.status?.phase === 'Succeeded');
  await kubectl('-n', ns, 'scale', 'deployment', `scaled-${ok.status?.activeSlot}`, '--replicas=0');
  const down = await until(
    'Release',
    'scaled',
    'SlotUnavailable',
    (r) => cond(r, 'Ready')?.reason === 'SlotUnavailable',
  );
  expect(down.status?.phase).toBe('Succeeded');
  await expectHealth(
    'release-slot-unavailable',
    'Succeeded Release whose active Deployment someone scaled to 0',
    down,
    {
      kstatus: 'Failed',
      argo: 'Degraded',
    },
  );
});

test('a gate: a Release waiting for an approval is InProgress and Progressing', async () => {
  await api.create({
    apiVersion: API,
    kind: 'Environment',
    metadata: { name: 'gated', namespace: ns },
    spec: { tier: 'development', promotion: { approvals: 1 } },
  } as KubernetesObject);
  const held = release(ns, 'held', { mode: 'Replicas', replicas: 1 }) as Obj & Release;
  held.spec.environmentRef = { name: 'gated' };
  await api.create(held);
  const waiting = await until(
    'Release',
    'held',
    'AwaitingApproval',
    (r) => r.status?.phase === 'AwaitingApproval',
  );
  await expectHealth('release-awaiting-approval', 'Release held by an approval gate', waiting, {
    kstatus: 'InProgress',
    argo: 'Progressing',
  });
});

test('a missing Environment stalls the Release: kstatus Failed, Argo Degraded', async () => {
  const orphan = release(ns, 'orphan', { mode: 'Replicas', replicas: 1 }) as Obj & Release;
  orphan.spec.environmentRef = { name: 'nowhere' };
  await api.create(orphan);
  const stalled = await until('Release', 'orphan', 'Stalled', (r) => cond(r, 'Stalled')?.status === 'True');
  expect(stalled.status?.phase).toBe('Pending');
  await expectHealth('release-environment-not-found', 'Release whose Environment does not exist', stalled, {
    kstatus: 'Failed',
    argo: 'Degraded',
  });
});

test('Environments: Ready is Current/Healthy, a missing policy Failed/Degraded', async () => {
  const dev = await until('Environment', 'dev', 'Ready', (e) => cond(e, 'Ready')?.status === 'True');
  await expectHealth('environment-ready', 'Environment whose references resolve', dev, {
    kstatus: 'Current',
    argo: 'Healthy',
  });
  await api.create({
    apiVersion: API,
    kind: 'Environment',
    metadata: { name: 'broken', namespace: ns },
    spec: { tier: 'development', defaults: { rollbackPolicyRef: { name: 'absent' } } },
  } as KubernetesObject);
  const broken = await until(
    'Environment',
    'broken',
    'Stalled',
    (e) => cond(e, 'Stalled')?.status === 'True',
  );
  await expectHealth(
    'environment-stalled',
    'Environment naming a RollbackPolicy that does not exist',
    broken,
    {
      kstatus: 'Failed',
      argo: 'Degraded',
    },
  );
});

test('RollbackPolicies: a Prometheus that answers is Current/Healthy, one that does not Failed/Degraded', async () => {
  // Scraping the operator gives it something to answer with; the probe only needs an answer.
  prom = await startPrometheus({ scrapeTargets: [`127.0.0.1:${op.port}`] });
  const policy = (name: string, address: string) =>
    ({
      apiVersion: API,
      kind: 'RollbackPolicy',
      metadata: { name, namespace: ns },
      spec: {
        prometheus: { address, timeout: '2s' },
        triggers: [{ name: 'errors', builtin: 'ErrorRate', threshold: '1%' }],
      },
    }) as KubernetesObject;
  await api.create(policy('reachable', prom.url));
  await api.create(policy('unreachable', `http://127.0.0.1:${await freePort()}`));
  const ok = await until('RollbackPolicy', 'reachable', 'Ready', (p) => cond(p, 'Ready')?.status === 'True');
  await expectHealth('rollbackpolicy-ready', 'RollbackPolicy whose Prometheus answered', ok, {
    kstatus: 'Current',
    argo: 'Healthy',
  });
  const down = await until(
    'RollbackPolicy',
    'unreachable',
    'Stalled',
    (p) => cond(p, 'Stalled')?.status === 'True',
  );
  await expectHealth('rollbackpolicy-stalled', 'RollbackPolicy whose Prometheus does not answer', down, {
    kstatus: 'Failed',
    argo: 'Degraded',
  });
});

test('BackupPolicies: in place is Current (Argo: Suspended when suspended), a missing Secret Failed/Degraded', async () => {
  const policy = (name: string, spec: Record<string, unknown>) =>
    ({
      apiVersion: API,
      kind: 'BackupPolicy',
      metadata: { name, namespace: ns },
      spec: {
        databaseSecretRef: { name: 'shop-db', key: 'url' },
        full: { schedule: '0 3 1 1 *' },
        storage: { pvc: { claimName: 'backups' } },
        ...spec,
      },
    }) as KubernetesObject;
  await api.create(policy('nosecret', { databaseSecretRef: { name: 'absent', key: 'url' } }));
  const stalled = await until(
    'BackupPolicy',
    'nosecret',
    'Stalled',
    (p) => cond(p, 'Stalled')?.status === 'True',
  );
  await expectHealth('backuppolicy-stalled', 'BackupPolicy whose database Secret does not exist', stalled, {
    kstatus: 'Failed',
    argo: 'Degraded',
  });

  await api.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'shop-db', namespace: ns },
    stringData: { url: 'postgres://shop@db.invalid/shop' },
  } as KubernetesObject);
  await api.create({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'backups', namespace: ns },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  } as KubernetesObject);
  await api.create(policy('paused', { suspend: true }));
  const suspended = await until(
    'BackupPolicy',
    'paused',
    'Ready',
    (p) => cond(p, 'Ready')?.status === 'True',
  );
  await expectHealth('backuppolicy-suspended', 'BackupPolicy in place with spec.suspend', suspended, {
    kstatus: 'Current',
    argo: 'Suspended',
  });
});

test('config/argocd/argocd-cm-patch.yaml merges into an argocd-cm and carries each script verbatim', async () => {
  const argocd = await createNamespace('argocd', api);
  try {
    await kubectl(
      '-n',
      argocd,
      'create',
      'configmap',
      'argocd-cm',
      '--from-literal=url=https://argocd.example',
    );
    await kubectl(
      '-n',
      argocd,
      'patch',
      'configmap',
      'argocd-cm',
      '--type',
      'merge',
      '--patch-file',
      PATCH_PATH,
    );
    const cm = JSON.parse(await kubectl('-n', argocd, 'get', 'configmap', 'argocd-cm', '-o', 'json')) as {
      data: Record<string, string>;
    };
    expect(cm.data.url).toBe('https://argocd.example');
    for (const [kind, file] of Object.entries(HEALTH_SCRIPTS) as Array<[Kind, string]>) {
      expect(cm.data[healthKey(kind)]).toBe(readFileSync(join(ARGOCD_DIR, file), 'utf8'));
    }
  } finally {
    await deleteNamespace(argocd, api);
  }
});
