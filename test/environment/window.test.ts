// Deployment windows on the real control plane, with the operator's rollout
// clock set just before a window opens (--clock-start): the Europe/Berlin
// daylight-saving Sundays of March and October 2026, and a window that
// crosses midnight, inside which a rollout starts and then finishes after
// the close.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Release } from '../../operator/api/generated/index.js';
import { createNamespace, deleteNamespace, installCrds, objectApi } from '../harness/kube.js';
import { startOperator, type OperatorProcess } from '../harness/operator.js';
import { waitFor } from '../harness/wait.js';
import { API, readRelease, release, setVersion } from '../release/fixtures.js';

const api = objectApi();
const namespaces: string[] = [];
let op: OperatorProcess | undefined;

afterEach(async () => {
  await op?.stop();
  op = undefined;
});

afterAll(async () => {
  for (const ns of namespaces) await deleteNamespace(ns, api);
});

const ready = (r: Release) => r.status?.conditions?.find((c) => c.type === 'Ready');

/** A namespace with a windowed Environment and a Release in it, and an operator whose clock starts at `clock`. */
async function scenario(
  window: Record<string, unknown>,
  clock: string,
  stepDuration = '1s',
): Promise<string> {
  await installCrds();
  const ns = await createNamespace('window', api);
  namespaces.push(ns);
  await api.create({
    apiVersion: API,
    kind: 'Environment',
    metadata: { name: 'dev', namespace: ns },
    spec: {
      tier: 'staging',
      promotion: { windows: [window] },
      defaults: { traffic: { steps: [50, 100], stepDuration } },
    },
  } as KubernetesObject);
  op = await startOperator({ args: ['--clock-start', clock] });
  await op.waitReady();
  await api.create(release(ns, 'shop', { mode: 'Replicas', replicas: 1 }));
  return ns;
}

async function waitPhase(ns: string, phase: string, timeoutMs = 20_000): Promise<Release> {
  return waitFor(
    async () => {
      const r = await readRelease(api, ns, 'shop');
      return r.status?.phase === phase ? r : false;
    },
    { timeoutMs, description: `${ns}/shop in ${phase}` },
  );
}

test('March DST Sunday: a 02:30 Berlin start does not exist that day, so the window opens at 03:00 CEST', async () => {
  // 01:59:55 CET, five seconds before the clocks jump to 03:00 CEST (01:00Z).
  const ns = await scenario(
    { days: ['Sun'], start: '02:30', end: '04:00', timeZone: 'Europe/Berlin' },
    '2026-03-29T00:59:55Z',
  );
  const held = await waitPhase(ns, 'WaitingForWindow');
  expect(ready(held)?.message).toBe('next window opens Sun 03:00 Europe/Berlin');
  const done = await waitPhase(ns, 'Succeeded', 30_000);
  // It moved once the window opened (01:00Z), within seconds, never before.
  const finished = Date.parse(done.status?.history?.[0]?.finishedAt ?? '');
  expect(finished).toBeGreaterThanOrEqual(Date.parse('2026-03-29T01:00:00Z'));
  expect(finished).toBeLessThan(Date.parse('2026-03-29T01:00:30Z'));
});

test('October DST Sunday: an ambiguous 02:30 means its first occurrence (CEST, 00:30Z)', async () => {
  const ns = await scenario(
    { days: ['Sun'], start: '02:30', end: '02:45', timeZone: 'Europe/Berlin' },
    '2026-10-25T00:29:55Z',
  );
  const held = await waitPhase(ns, 'WaitingForWindow');
  expect(ready(held)?.message).toBe('next window opens Sun 02:30 Europe/Berlin');
  const done = await waitPhase(ns, 'Succeeded', 30_000);
  const finished = Date.parse(done.status?.history?.[0]?.finishedAt ?? '');
  expect(finished).toBeGreaterThanOrEqual(Date.parse('2026-10-25T00:30:00Z'));
  // The second 02:30 (CET) is an hour later: the first one opened it.
  expect(finished).toBeLessThan(Date.parse('2026-10-25T00:30:30Z'));
});

test('a window crossing midnight: a rollout started inside finishes after the close', async () => {
  // Friday 22:00 to Saturday 00:01 UTC. v1 (a first rollout, all at once) and
  // then v2 start inside it; v2 holds its 50 % step for 10 s, past the close.
  const ns = await scenario(
    { days: ['Fri'], start: '22:00', end: '00:01', timeZone: 'UTC' },
    '2026-12-05T00:00:48Z',
    '10s',
  );
  await waitPhase(ns, 'Succeeded');
  await setVersion(api, ns, 'shop', '2.0.0');
  const done = await waitFor(
    async () => {
      const r = await readRelease(api, ns, 'shop');
      return r.status?.phase === 'Succeeded' && r.status.stableVersion === '2.0.0' ? r : false;
    },
    { timeoutMs: 40_000, description: 'v2 Succeeded' },
  );
  const record = done.status?.history?.[0];
  expect(record?.version).toBe('2.0.0');
  expect(Date.parse(record?.startedAt ?? '')).toBeLessThan(Date.parse('2026-12-05T00:01:00Z'));
  expect(Date.parse(record?.finishedAt ?? '')).toBeGreaterThan(Date.parse('2026-12-05T00:01:00Z'));
});
