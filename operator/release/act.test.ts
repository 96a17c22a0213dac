import type { KubernetesObject } from '@kubernetes/client-node';
import type { Release } from '../api/generated/index.js';
import { ApiError, type KubeClient, type ResourceRef } from '../runtime/client.js';
import type { Decision } from '../runtime/journal.js';
import { carryOut, type ActContext } from './act.js';
import { planRelease, type Action, type Plan } from './plan/index.js';
import { World, spec, stableV1 } from './plan/world.testkit.js';

const rel: Release = {
  apiVersion: 'cutover.dev/v1alpha1',
  kind: 'Release',
  metadata: { name: 'shop', namespace: 'prod', uid: 'u1', annotations: { 'cutover.dev/approved-by': 'x' } },
  spec: {
    environmentRef: { name: 'production' },
    application: 'shop',
    version: '2.0.0',
    template: { spec: { containers: [{ name: 'app', image: 'shop:2' }] } },
    migrations: {
      databaseSecretRef: { name: 'shop-db', key: 'url' },
      expand: { configMapRef: { name: 'shop-expand' } },
    },
  },
};

/**
 * An API server in memory that writes down, in order, each write and each
 * decision handed to the journal (the audit trail and notifications), and
 * fails the writes `refuse` names.
 */
function apiServer(refuse: (what: string) => ApiError | undefined = () => undefined) {
  const said: string[] = [];
  const write = (what: string) => {
    said.push(what);
    const err = refuse(what);
    return err ? Promise.reject(err) : Promise.resolve({} as KubernetesObject);
  };
  const target = (ref: ResourceRef) => `${ref.resource}${ref.subresource ? `/${ref.subresource}` : ''}`;
  const client = {
    decided: (d: Decision) => said.push(`decided ${d.reason}`),
    apply: (ref: ResourceRef) => write(`apply ${target(ref)}`),
    patch: (ref: ResourceRef) => write(`patch ${target(ref)}`),
    create: (ref: ResourceRef, obj: KubernetesObject & { reason?: string }) =>
      ref.resource === 'events' ? Promise.resolve(obj) : write(`create ${target(ref)}`),
    delete: (ref: ResourceRef) => write(`delete ${target(ref)}`),
  } as unknown as KubeClient;
  const ctx: ActContext = { client, migrateImage: 'cutover:1', now: () => new Date('2026-11-28T10:00:00Z') };
  const commit = async () => {
    await write('write status');
  };
  return { said, ctx, commit };
}

const conflict = new ApiError(409, 'Conflict', 'the object has been modified');
const event = (reason: string): Action => ({ type: 'Event', kind: 'Normal', reason, message: reason });

function plan(actions: Action[], commitFirst = false): Pick<Plan, 'actions' | 'commitFirst'> {
  return { actions, ...(commitFirst ? { commitFirst: true } : {}) };
}

test('actions, then the status, then the decisions, then the annotation cleared', async () => {
  const api = apiServer();
  const p = plan([
    event('Approved'),
    { type: 'ScaleSlot', slot: 'green', replicas: 4 },
    event('GatesPassed'),
    { type: 'ClearAnnotation', key: 'cutover.dev/approved-by' },
  ]);
  await carryOut(api.ctx, rel, spec(), new World(spec(), stableV1).observe(), p, api.commit);
  expect(api.said).toEqual([
    'patch deployments/scale',
    'write status',
    'decided Approved',
    'decided GatesPassed',
    'patch releases',
  ]);
});

test('a status write refused with a conflict records no decision: the re-plan decides, and records, once', async () => {
  const api = apiServer((what) => (what === 'write status' ? conflict : undefined));
  const p = plan([
    event('Approved'),
    event('RolloutStarted'),
    { type: 'ScaleSlot', slot: 'green', replicas: 4 },
  ]);
  await expect(
    carryOut(api.ctx, rel, spec(), new World(spec(), stableV1).observe(), p, api.commit),
  ).rejects.toBe(conflict);
  expect(api.said.filter((s) => s.startsWith('decided'))).toEqual([]);
});

test('MigrationJobCreated is said once the Job exists, not on each failed attempt to create it', async () => {
  const s = spec({ expand: true });
  const w = new World(s, stableV1);
  let p = planRelease(s, w.status, w.observe());
  for (let i = 0; i < 10 && !p.actions.some((a) => a.type === 'CreateJob'); i++) {
    w.apply(p.actions);
    w.status = p.status;
    p = planRelease(s, w.status, w.observe());
  }
  expect(p.actions.map((a) => (a.type === 'Event' ? a.reason : a.type))).toContain('MigrationJobCreated');

  const down = apiServer((what) =>
    what === 'create jobs' ? new ApiError(500, 'InternalError', 'etcd timeout') : undefined,
  );
  for (let attempt = 0; attempt < 3; attempt++)
    await expect(carryOut(down.ctx, rel, s, w.observe(), p, down.commit)).rejects.toThrow(/etcd/);
  expect(down.said).toEqual(['create jobs', 'create jobs', 'create jobs']);

  const up = apiServer();
  await carryOut(up.ctx, rel, s, w.observe(), p, up.commit);
  expect(up.said.indexOf('decided MigrationJobCreated')).toBeGreaterThan(up.said.indexOf('create jobs'));
  expect(up.said.indexOf('decided MigrationJobCreated')).toBeGreaterThan(up.said.indexOf('write status'));
});

test('a plan that commits first (a rollback) writes its status, records its decision, then moves traffic', async () => {
  const api = apiServer((what) =>
    what === 'patch deployments/scale' ? new ApiError(503, 'ServiceUnavailable', 'down') : undefined,
  );
  const p = plan(
    [
      { type: 'ScaleSlot', slot: 'blue', replicas: 4 },
      event('AnalysisFailed'),
      { type: 'ClearAnnotation', key: 'cutover.dev/abort' },
    ],
    true,
  );
  await expect(
    carryOut(api.ctx, rel, spec(), new World(spec(), stableV1).observe(), p, api.commit),
  ).rejects.toThrow(/down/);
  // The decision is durable before traffic moves, and recorded though the move failed: the next
  // reconcile carries on from the written status and does not decide it again.
  expect(api.said).toEqual(['write status', 'decided AnalysisFailed', 'patch deployments/scale']);
});
