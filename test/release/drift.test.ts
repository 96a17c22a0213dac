// Drift and live health on the local cluster: owned objects changed by
// kubectl scale, an edit by another field manager and kubectl delete, with
// the Environment in Report mode (found, nothing changed back) and in Correct
// mode (restored within 10 s); other teams' HTTPRoute rules left alone.
import type { CoreV1Event, KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import type { Release } from '../../operator/api/generated/index.js';
import type { HTTPRoute } from '../../operator/release/traffic/route.js';
import { createNamespace, deleteNamespace, installCrds, kubectl, objectApi } from '../harness/kube.js';
import { startOperator, type OperatorProcess } from '../harness/operator.js';
import { waitFor } from '../harness/wait.js';
import { API, environment, httpRoute, readRelease, release } from './fixtures.js';

const api = objectApi();
let op: OperatorProcess;
let ns: string;

const withMode = (name: string, mode: 'Report' | 'Correct'): KubernetesObject => {
  const env = environment(ns) as KubernetesObject & { spec: Record<string, unknown> };
  return {
    ...env,
    metadata: { name, namespace: ns },
    spec: { ...env.spec, drift: { mode } },
  } as KubernetesObject;
};

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('drift', api);
  await api.create(withMode('report', 'Report'));
  await api.create(withMode('correct', 'Correct'));
  op = await startOperator({ leaseName: `drift-${process.pid}` });
  await op.waitReady();
});

afterAll(async () => {
  await op.stop();
  await deleteNamespace(ns, api);
});

const condition = (rel: Release, type: string) => rel.status?.conditions?.find((c) => c.type === type);

async function settled(app: string, env: string): Promise<void> {
  await api.create(httpRoute(ns, app));
  await api.create(release(ns, app, { extra: { environmentRef: { name: env } } }));
  await waitFor(async () => (await readRelease(api, ns, app)).status?.phase === 'Succeeded', {
    timeoutMs: 60_000,
    description: `${app} Succeeded`,
  });
}

async function deployment(name: string): Promise<V1Deployment | undefined> {
  try {
    return await api.read<V1Deployment & KubernetesObject>({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: ns },
    });
  } catch {
    return undefined;
  }
}

async function route(name: string): Promise<HTTPRoute> {
  return api.read<HTTPRoute & KubernetesObject>({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: ns },
  });
}

async function events(app: string, reason: string): Promise<string[]> {
  const out = await kubectl(
    '-n',
    ns,
    'get',
    'events',
    '-o',
    'json',
    '--field-selector',
    `involvedObject.name=${app},reason=${reason}`,
  );
  return (JSON.parse(out) as { items: CoreV1Event[] }).items.map((e) => e.message ?? '');
}

/** Waits until Drifted=True says `text`; returns the Release as it then was. */
async function drifted(app: string, text: string): Promise<Release> {
  return waitFor(
    async () => {
      const rel = await readRelease(api, ns, app);
      const c = condition(rel, 'Drifted');
      return c?.status === 'True' && c.reason === 'Drifted' && c.message.includes(text) && rel;
    },
    { timeoutMs: 10_000, description: `${app} Drifted=True naming "${text}"` },
  );
}

const editImage = (name: string, image: string) =>
  kubectl(
    '-n',
    ns,
    'patch',
    'deploy',
    name,
    '--field-manager',
    'kubectl-edit',
    '--type',
    'json',
    '-p',
    JSON.stringify([
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: image },
      { op: 'add', path: '/spec/template/spec/containers/0/env', value: [{ name: 'DEBUG', value: '1' }] },
    ]),
  );

describe('Report', () => {
  test('kubectl scale, an edit and kubectl delete are reported, with the field and the manager; nothing is changed back', async () => {
    await settled('rep', 'report');

    await kubectl('-n', ns, 'scale', 'deploy', 'rep-blue', '--replicas=1');
    let rel = await drifted('rep', 'Deployment rep-blue spec.replicas changed by kubectl (scale)');
    // Live health: the active slot scaled down is not Ready, in Report mode too.
    expect(condition(rel, 'Ready')).toMatchObject({ status: 'False', reason: 'SlotUnavailable' });
    await kubectl('-n', ns, 'scale', 'deploy', 'rep-blue', '--replicas=0');
    rel = await drifted('rep', 'Deployment rep-blue spec.replicas changed by an unknown manager (set to 0');
    expect(condition(rel, 'Ready')?.message).toContain('scaled to 0 of 2 replicas');
    expect(rel.status?.phase).toBe('Succeeded');
    expect((await deployment('rep-blue'))?.spec?.replicas).toBe(0);
    expect(await events('rep', 'Drifted')).toEqual(
      expect.arrayContaining([expect.stringContaining('spec.replicas changed by kubectl (scale)')]),
    );

    await editImage('rep-blue', 'example.com/shop:evil');
    rel = await drifted(
      'rep',
      'spec.template.spec.containers[name=app].image changed by kubectl-edit (update)',
    );
    expect(condition(rel, 'Drifted')?.message).toContain(
      'containers[name=app].env[name=DEBUG] changed by kubectl-edit',
    );
    const live = await deployment('rep-blue');
    expect(live?.spec?.template.spec?.containers[0]?.image).toBe('example.com/shop:evil');
    expect(live?.spec?.replicas).toBe(0);

    await kubectl('-n', ns, 'delete', 'deploy', 'rep-blue', '--wait=false');
    rel = await drifted('rep', 'Deployment rep-blue was deleted');
    expect(condition(rel, 'Ready')).toMatchObject({ status: 'False', reason: 'SlotUnavailable' });
    expect(condition(rel, 'Ready')?.message).toContain('is gone');
    expect(
      await op.metric('cutover_drift_total', { kind: 'Deployment', mode: 'Report' }),
    ).toBeGreaterThanOrEqual(3);
    // Still gone: Report mode changes nothing.
    expect(await deployment('rep-blue')).toBeUndefined();
  });
});

describe('Correct', () => {
  test('kubectl scale to 0 is restored within 10 s; Drifted goes back to False and Ready to True', async () => {
    await settled('cor', 'correct');
    await kubectl('-n', ns, 'scale', 'deploy', 'cor-blue', '--replicas=0');
    await waitFor(async () => (await deployment('cor-blue'))?.spec?.replicas === 2, {
      timeoutMs: 10_000,
      description: 'cor-blue scaled back to 2',
    });
    await waitFor(
      async () => {
        const rel = await readRelease(api, ns, 'cor');
        return (
          condition(rel, 'Drifted')?.reason === 'Corrected' &&
          condition(rel, 'Drifted')?.status === 'False' &&
          condition(rel, 'Ready')?.status === 'True'
        );
      },
      { timeoutMs: 10_000, description: 'Drifted=False (Corrected) and Ready=True' },
    );
    expect(await events('cor', 'DriftCorrected')).toEqual(
      expect.arrayContaining([expect.stringContaining('Deployment cor-blue spec.replicas re-applied')]),
    );
    expect(await events('cor', 'Drifted')).toEqual(
      expect.arrayContaining([expect.stringContaining('Deployment cor-blue spec.replicas changed by')]),
    );
  });

  test('an edit by another field manager is undone within 10 s: our image re-applied, the added env var removed', async () => {
    await editImage('cor-blue', 'example.com/shop:evil');
    await waitFor(
      async () => {
        const c = (await deployment('cor-blue'))?.spec?.template.spec?.containers[0];
        return c?.image === 'example.com/shop:1.0.0' && c.env === undefined;
      },
      { timeoutMs: 10_000, description: 'cor-blue image and env restored' },
    );
    const out = await kubectl('-n', ns, 'get', 'deploy', 'cor-blue', '-o', 'json', '--show-managed-fields');
    const managers = (JSON.parse(out) as V1Deployment).metadata?.managedFields?.map((m) => m.manager);
    expect(managers).not.toContain('kubectl-edit');
  });

  test('kubectl delete deploy: recreated within 10 s, and Ready=True once it serves again', async () => {
    const before = await deployment('cor-blue');
    await kubectl('-n', ns, 'delete', 'deploy', 'cor-blue', '--wait=false');
    await waitFor(
      async () => {
        const d = await deployment('cor-blue');
        return d && d.metadata?.uid !== before?.metadata?.uid && d.spec?.replicas === 2;
      },
      { timeoutMs: 10_000, description: 'cor-blue recreated' },
    );
    await waitFor(async () => condition(await readRelease(api, ns, 'cor'), 'Ready')?.status === 'True', {
      timeoutMs: 10_000,
      description: 'cor Ready again',
    });
  });

  test('our route weights are put back; another team’s rule is neither touched nor reported', async () => {
    // The other team's rule (index 0) changes: not ours, no drift.
    await kubectl(
      '-n',
      ns,
      'patch',
      'httproute',
      'cor',
      '--type',
      'json',
      '-p',
      JSON.stringify([{ op: 'add', path: '/spec/rules/0/backendRefs/0/weight', value: 7 }]),
    );
    const otherRule = (await route('cor')).spec?.rules?.[0];
    expect(otherRule?.backendRefs?.[0]?.weight).toBe(7);
    // Ours (index 1): the stable backend loses all its traffic.
    await kubectl(
      '-n',
      ns,
      'patch',
      'httproute',
      'cor',
      '--field-manager',
      'someone',
      '--type',
      'json',
      '-p',
      JSON.stringify([{ op: 'add', path: '/spec/rules/1/backendRefs/0/weight', value: 0 }]),
    );
    await waitFor(async () => ((await route('cor')).spec?.rules?.[1]?.backendRefs?.[0]?.weight ?? 0) > 0, {
      timeoutMs: 10_000,
      description: 'the stable weight restored',
    });
    expect((await route('cor')).spec?.rules?.[0]).toEqual(otherRule);
    expect(await events('cor', 'Drifted')).toEqual(
      expect.arrayContaining([
        expect.stringContaining('HTTPRoute cor spec.rules[1].backendRefs[0].weight changed by someone'),
      ]),
    );
    expect(
      await op.metric('cutover_drift_total', { kind: 'HTTPRoute', mode: 'Correct' }),
    ).toBeGreaterThanOrEqual(1);
  });

  test('Report mode: a change to another team’s rule is not drift', async () => {
    await kubectl(
      '-n',
      ns,
      'patch',
      'httproute',
      'rep',
      '--type',
      'json',
      '-p',
      JSON.stringify([{ op: 'add', path: '/spec/rules/0/backendRefs/0/weight', value: 9 }]),
    );
    // The operator has seen the route once the Release's Drifted message is still only about the Deployment.
    const before = await op.metric('cutover_drift_total', { kind: 'HTTPRoute', mode: 'Report' });
    await kubectl(
      '-n',
      ns,
      'patch',
      'httproute',
      'rep',
      '--field-manager',
      'someone',
      '--type',
      'json',
      '-p',
      JSON.stringify([{ op: 'add', path: '/spec/rules/1/backendRefs/0/weight', value: 0 }]),
    );
    const rel = await drifted('rep', 'HTTPRoute rep spec.rules[1]');
    expect(condition(rel, 'Drifted')?.message).not.toContain('spec.rules[0]');
    expect(await op.metric('cutover_drift_total', { kind: 'HTTPRoute', mode: 'Report' })).toBe(before + 1);
    expect((await route('rep')).spec?.rules?.[1]?.backendRefs?.[0]?.weight).toBe(0);
  });
});

describe('one owner per application', () => {
  test('a second Release for the same application is Stalled (ApplicationTaken) and changes nothing; it takes over once the first is gone', async () => {
    await settled('own', 'correct');
    const blue = await deployment('own-blue');
    const second = release(ns, 'own', { version: '9.9.9', extra: { environmentRef: { name: 'correct' } } });
    second.metadata = { name: 'own-second', namespace: ns };
    await api.create(second);
    const held = await waitFor(
      async () => {
        const rel = await readRelease(api, ns, 'own-second');
        const c = condition(rel, 'Stalled');
        return c?.status === 'True' && c.reason === 'ApplicationTaken' && rel;
      },
      { timeoutMs: 10_000, description: 'own-second Stalled with ApplicationTaken' },
    );
    expect(condition(held, 'Stalled')?.message).toContain('Release own');
    expect(held.status?.phase).toBe('Pending');
    const first = await readRelease(api, ns, 'own');
    expect(first.status?.phase).toBe('Succeeded');
    expect(condition(first, 'Ready')?.status).toBe('True');
    const after = await deployment('own-blue');
    expect(after?.metadata?.resourceVersion).toBe(blue?.metadata?.resourceVersion);
    expect(await deployment('own-green')).toBeUndefined();
    const jobs = await kubectl('-n', ns, 'get', 'jobs', '-o', 'name');
    expect(jobs).not.toContain('own');
    // An abort of the held Release has nothing to stop: answered and cleared, not kept for later.
    await kubectl('-n', ns, 'annotate', 'release', 'own-second', 'cutover.dev/abort=true');
    await waitFor(
      async () =>
        (await readRelease(api, ns, 'own-second')).metadata?.annotations?.['cutover.dev/abort'] === undefined,
      { timeoutMs: 10_000, description: 'the abort of a held Release cleared' },
    );

    await api.delete({ apiVersion: API, kind: 'Release', metadata: { name: 'own', namespace: ns } });
    await waitFor(
      async () => {
        const rel = await readRelease(api, ns, 'own-second');
        return rel.status?.phase === 'Succeeded' && rel.status.stableVersion === '9.9.9';
      },
      { timeoutMs: 60_000, description: 'own-second takes the application over once own is gone' },
    );
  });
});
