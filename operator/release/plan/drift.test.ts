import type { ReleaseStatus } from '../../api/generated/index.js';
import type { ObjectDrift } from '../drift/observe.js';
import { planRelease, type Observation } from './index.js';
import { spec, T0 } from './world.testkit.js';

const settled: ReleaseStatus = {
  phase: 'Succeeded',
  revision: 'rev2',
  stableRevision: 'rev2',
  stableVersion: '2.0.0',
  activeSlot: 'green',
  targetSlot: 'green',
  canaryWeight: 100,
  conditions: [
    {
      type: 'Ready',
      status: 'True',
      reason: 'RolloutSucceeded',
      message: '2.0.0 serves all traffic from the green slot',
      lastTransitionTime: '2026-11-28T09:00:00Z',
      observedGeneration: 2,
    },
  ],
};

const serving = { revision: 'rev2', version: '2.0.0', replicas: 4, available: 4, rolledOut: true };

function obs(over: Partial<Observation> = {}): Observation {
  return {
    now: new Date(T0),
    slots: { green: serving, blue: { ...serving, revision: 'rev1', replicas: 0, available: 0 } },
    jobs: {},
    annotations: {},
    stableSelects: 'green',
    previewSelects: 'green',
    ...over,
  };
}

const scaled: ObjectDrift = {
  kind: 'Deployment',
  name: 'shop-green',
  role: 'active',
  resourceVersion: '7',
  changes: [
    { path: 'spec.replicas', manager: 'kubectl', how: 'scale', ours: true, pointer: '/spec/replicas' },
  ],
};
const added: ObjectDrift = {
  kind: 'Service',
  name: 'shop',
  role: 'stable',
  resourceVersion: '9',
  changes: [
    { path: 'spec.type', manager: 'kubectl-edit', how: 'update', ours: false, pointer: '/spec/type' },
  ],
};

const cond = (s: ReleaseStatus, type: string) => s.conditions?.find((c) => c.type === type);

describe('drift in Report mode', () => {
  test('Drifted=True names object, field and manager; a Warning Event and the counter; nothing is acted on', () => {
    const p = planRelease(spec(), settled, obs({ drift: [scaled] }));
    expect(cond(p.status, 'Drifted')).toMatchObject({
      status: 'True',
      reason: 'Drifted',
      message: 'Deployment shop-green spec.replicas changed by kubectl (scale)',
    });
    expect(p.actions).toEqual([
      {
        type: 'Event',
        kind: 'Warning',
        reason: 'Drifted',
        message: 'Deployment shop-green spec.replicas changed by kubectl (scale)',
      },
    ]);
    expect(p.drifted).toEqual(['Deployment']);
  });

  test('the same drift seen again: no Event, no count, the same status (no write)', () => {
    const first = planRelease(spec(), settled, obs({ drift: [scaled] }));
    const again = planRelease(spec(), first.status, obs({ drift: [scaled] }));
    expect(again.actions).toEqual([]);
    expect(again.drifted).toBeUndefined();
    expect(again.status).toEqual(first.status);
  });

  test('a second object drifting counts that object only', () => {
    const first = planRelease(spec(), settled, obs({ drift: [scaled] }));
    const more = planRelease(spec(), first.status, obs({ drift: [scaled, added] }));
    expect(more.drifted).toEqual(['Service']);
    expect(cond(more.status, 'Drifted')?.message).toBe(
      'Deployment shop-green spec.replicas changed by kubectl (scale); Service shop spec.type changed by kubectl-edit (update)',
    );
  });

  test('put back by someone: False with NoDrift; a Release never drifted gets no condition at all', () => {
    const first = planRelease(spec(), settled, obs({ drift: [scaled] }));
    const back = planRelease(spec(), first.status, obs({ drift: [] }));
    expect(cond(back.status, 'Drifted')).toMatchObject({ status: 'False', reason: 'NoDrift' });
    expect(cond(planRelease(spec(), settled, obs({ drift: [] })).status, 'Drifted')).toBeUndefined();
  });

  test('waiting at a gate: reported, never corrected, even in Correct mode', () => {
    const waiting: ReleaseStatus = { ...settled, phase: 'Pending', revision: 'rev3' };
    const s = spec({ revision: 'rev3', version: '3.0.0', driftMode: 'Correct' });
    const p = planRelease(s, waiting, obs({ drift: [scaled] }));
    expect(cond(p.status, 'Drifted')?.status).toBe('True');
    expect(p.actions.filter((a) => a.type !== 'Event')).toEqual([]);
  });

  test('a change to many fields shows three and counts the rest', () => {
    const many: ObjectDrift = {
      ...scaled,
      changes: ['a', 'b', 'c', 'd', 'e'].map((f) => ({
        path: `spec.${f}`,
        manager: 'x',
        how: 'apply',
        ours: true,
      })),
    };
    const p = planRelease(spec(), settled, obs({ drift: [many] }));
    expect(cond(p.status, 'Drifted')?.message).toBe(
      'Deployment shop-green spec.a changed by x (apply), spec.b changed by x (apply), spec.c changed by x (apply) and 2 more',
    );
  });
});

describe('drift in Correct mode', () => {
  const correct = spec({ driftMode: 'Correct' });

  test('our fields are re-applied (the slot at spec.replicas); DriftCorrected says what', () => {
    const p = planRelease(correct, settled, obs({ drift: [scaled] }));
    expect(p.actions.filter((a) => a.type !== 'Event')).toEqual([
      { type: 'ApplySlot', slot: 'green', replicas: 4 },
    ]);
    expect(p.actions.filter((a) => a.type === 'Event').map((a) => a.type === 'Event' && a.reason)).toEqual([
      'Drifted',
      'DriftCorrected',
    ]);
    expect(cond(p.status, 'Drifted')?.status).toBe('True');
    const after = planRelease(correct, p.status, obs({ drift: [] }));
    expect(cond(after.status, 'Drifted')).toMatchObject({ status: 'False', reason: 'Corrected' });
  });

  test('fields only others set are removed, guarded by the resourceVersion they were found in', () => {
    const p = planRelease(correct, settled, obs({ drift: [added] }));
    expect(p.actions.filter((a) => a.type !== 'Event')).toEqual([
      { type: 'RemoveFields', kind: 'Service', name: 'shop', resourceVersion: '9', pointers: ['/spec/type'] },
    ]);
  });

  test('a deleted Deployment is recreated; a deleted Service re-applied with the preview beside it', () => {
    const gone: ObjectDrift[] = [
      { kind: 'Deployment', name: 'shop-green', role: 'active', deleted: true, changes: [] },
      { kind: 'Service', name: 'shop', role: 'stable', deleted: true, changes: [] },
    ];
    const p = planRelease(correct, settled, obs({ drift: gone, slots: {} }));
    expect(p.actions.filter((a) => a.type !== 'Event')).toEqual([
      { type: 'ApplySlot', slot: 'green', replicas: 4 },
      { type: 'ApplyServices', stable: 'green', preview: 'green' },
    ]);
    expect(cond(p.status, 'Drifted')?.message).toBe(
      'Deployment shop-green was deleted; Service shop was deleted',
    );
  });

  test('the route weights go back to 0 on the preview; the scaled-down slot back to 0', () => {
    const route: ObjectDrift = {
      kind: 'HTTPRoute',
      name: 'shop',
      role: 'route',
      changes: [
        { path: 'spec.rules[1].backendRefs[1].weight', manager: 'someone', how: 'update', ours: true },
      ],
    };
    const idle: ObjectDrift = { ...scaled, name: 'shop-blue', role: 'idle' };
    const p = planRelease(correct, settled, obs({ drift: [route, idle] }));
    expect(p.actions.filter((a) => a.type !== 'Event')).toEqual([
      { type: 'SetWeight', weight: 0, stable: 'green', canary: 'green' },
      { type: 'ScaleSlot', slot: 'blue', replicas: 0 },
    ]);
  });

  test('still drifted on the next call (the write not seen yet): acted on again, no second Event', () => {
    const first = planRelease(correct, settled, obs({ drift: [scaled] }));
    const again = planRelease(correct, first.status, obs({ drift: [scaled] }));
    expect(again.actions).toEqual([{ type: 'ApplySlot', slot: 'green', replicas: 4 }]);
  });
});

describe('live health of a settled Release', () => {
  const ready = (s: ReleaseStatus) => cond(s, 'Ready');

  test('the active slot deleted: Ready=False SlotUnavailable at once; Stalled in Report mode', () => {
    const p = planRelease(spec(), settled, obs({ slots: {} }));
    expect(ready(p.status)).toMatchObject({
      status: 'False',
      reason: 'SlotUnavailable',
      message: 'Deployment shop-green of the active green slot is gone: 2.0.0 is not fully served',
    });
    expect(cond(p.status, 'Stalled')?.status).toBe('True');
    expect(p.status.phase).toBe('Succeeded');
  });

  test('scaled to 0, in Correct mode: Ready=False and Reconciling while it is restored', () => {
    const p = planRelease(
      spec({ driftMode: 'Correct' }),
      settled,
      // As drift/observe reports a scale to zero: by value, no manager to name.
      obs({ slots: { green: { ...serving, replicas: 0, available: 0 } }, drift: [scaled] }),
    );
    expect(ready(p.status)?.message).toContain('is scaled to 0 of 4 replicas');
    expect(cond(p.status, 'Reconciling')?.status).toBe('True');
  });

  test('spec.replicas changed after the rollout: the serving slot is resized, not reported as drift', () => {
    const p = planRelease(spec({ replicas: 6 }), settled, obs());
    expect(p.actions).toContainEqual({ type: 'ScaleSlot', slot: 'green', replicas: 6 });
    // Until the new pods are available, as after any scale-up.
    expect(ready(p.status)?.message).toContain('has 4 of 6 replicas available');
    expect(cond(p.status, 'Reconciling')?.status).toBe('True');
    expect(cond(p.status, 'Drifted')).toBeUndefined();
  });

  test('pods not available: Ready=False, Reconciling (they come back by themselves)', () => {
    const p = planRelease(spec(), settled, obs({ slots: { green: { ...serving, available: 1 } } }));
    expect(ready(p.status)?.message).toContain('has 1 of 4 replicas available');
    expect(cond(p.status, 'Reconciling')?.status).toBe('True');
  });

  test('serving again: Ready=True with the rollout message; a healthy Release is left as it was', () => {
    const down = planRelease(spec(), settled, obs({ slots: {} }));
    const up = planRelease(spec(), down.status, obs());
    expect(ready(up.status)).toMatchObject({
      status: 'True',
      reason: 'RolloutSucceeded',
      message: '2.0.0 serves all traffic from the green slot',
    });
    expect(cond(up.status, 'Stalled')).toBeUndefined();
    expect(planRelease(spec(), settled, obs()).status).toEqual({ ...settled, observedGeneration: 2 });
  });
});
