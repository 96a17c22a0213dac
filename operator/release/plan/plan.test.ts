import type { ReleaseStatus } from '../../api/generated/index.js';
import { planRelease, type Action, type Observation } from './index.js';
import { T0, World, spec, stableV1 } from './world.testkit.js';

function obs(over: Partial<Observation> = {}, at = T0): Observation {
  return { now: new Date(at), slots: {}, jobs: {}, annotations: {}, ...over };
}

const types = (actions: Action[]) => actions.map((a) => a.type);

describe('starting a rollout', () => {
  test('the first rollout targets blue, waits for nothing, and is news only when it succeeds', () => {
    const p = planRelease(spec(), {}, obs());
    // Gates open: past Pending in the same call, which acted on nothing.
    expect(p.status).toMatchObject({ phase: 'Deploying', revision: 'rev2', targetSlot: 'blue', attempt: 0 });
    expect(p.actions).toEqual([]);
    expect(p.requeueAfterMs).toBe(0);
  });

  test('a later rollout targets the inactive slot at weight 0', () => {
    const p = planRelease(spec(), stableV1, obs());
    expect(p.status).toMatchObject({
      phase: 'Deploying',
      targetSlot: 'green',
      canaryWeight: 0,
      stableVersion: '1.0.0',
    });
  });

  test('a missing Environment stalls before anything is touched', () => {
    const missing = obs({ gates: { namespace: 'shop', environment: { name: 'production', found: false } } });
    const started = planRelease(spec(), stableV1, missing);
    const p = planRelease(spec(), started.status, missing);
    // Held at a gate, a first rollout says it has started, and which gate holds it; once.
    expect(started.actions).toEqual([
      expect.objectContaining({
        type: 'Event',
        reason: 'RolloutStarted',
        details: { slot: 'green', from: '1.0.0', gates: 'blocked' },
      }),
      expect.objectContaining({
        type: 'Event',
        reason: 'EnvironmentNotFound',
        details: { gate: 'references' },
      }),
    ]);
    expect(p.actions).toEqual([]);
    for (const plan of [started, p]) {
      expect(plan.actions.filter((a) => a.type !== 'Event')).toEqual([]);
      expect(plan.status.phase).toBe('Pending');
      expect(plan.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
        status: 'True',
        reason: 'EnvironmentNotFound',
      });
    }
  });
});

describe('expand migration', () => {
  const s = spec({ expand: true });
  const migrating = () => {
    const pending = planRelease(s, stableV1, obs()).status;
    return planRelease(s, pending, obs()).status;
  };

  test('runs before the slot is deployed, under a deterministic Job name', () => {
    const st = migrating();
    expect(st.phase).toBe('Migrating');
    const p = planRelease(s, st, obs({ expandLint: { findings: [] } }));
    expect(p.actions).toEqual([
      { type: 'CreateJob', kind: 'expand', name: 'shop-expand-rev2-tp7ig0', run: 'rev2-tp7ig0' },
    ]);
    expect(p.status.migrations?.expand).toMatchObject({ phase: 'Running', job: 'shop-expand-rev2-tp7ig0' });
  });

  test('a destructive statement fails the Release before any Job exists', () => {
    const p = planRelease(
      s,
      migrating(),
      obs({ expandLint: { findings: ['001_a.up.sql:3 drop-column (ALTER TABLE …)'] } }),
    );
    expect(types(p.actions)).not.toContain('CreateJob');
    expect(p.status.phase).toBe('Failed');
    expect(p.status.conditions?.find((c) => c.type === 'Ready')?.message).toContain(
      '001_a.up.sql:3 drop-column',
    );
  });

  test('a file the runner would refuse fails the Release before any Job exists, naming the file', () => {
    const p = planRelease(
      s,
      migrating(),
      obs({ expandLint: { invalid: 'ConfigMap "m": weird-name.sql: is not a migration file name' } }),
    );
    expect(types(p.actions)).not.toContain('CreateJob');
    expect(p.status.phase).toBe('Failed');
    const ready = p.status.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.reason).toBe('InvalidMigrations');
    expect(ready?.message).toContain('weird-name.sql');
    expect(p.status.migrations?.expand?.phase).toBe('Failed');
  });

  test('a failed Job fails the Release with its message and moves no traffic', () => {
    const st = planRelease(s, migrating(), obs({ expandLint: { findings: [] } })).status;
    const p = planRelease(
      s,
      st,
      obs({ jobs: { expand: { ownedByUs: true, state: 'Failed', message: 'relation "x" does not exist' } } }),
    );
    expect(p.status.phase).toBe('Failed');
    expect(p.status.migrations?.expand?.message).toContain('relation "x" does not exist');
    expect(types(p.actions)).toEqual(['Event']);
    expect(p.status.history?.[0]).toMatchObject({ version: '2.0.0', outcome: 'Failed' });
  });

  test('a Job of the same name that we do not own is never adopted', () => {
    const st = planRelease(s, migrating(), obs({ expandLint: { findings: [] } })).status;
    const p = planRelease(s, st, obs({ jobs: { expand: { ownedByUs: false, state: 'Succeeded' } } }));
    expect(p.status.phase).toBe('Failed');
    expect(p.status.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('JobNotOwned');
  });
});

describe('deploying and the progress deadline', () => {
  const deploying = (): ReleaseStatus => {
    const pending = planRelease(spec(), stableV1, obs()).status;
    return planRelease(spec(), pending, obs()).status;
  };

  test('applies the slot and waits, waking at the deadline', () => {
    const st = deploying();
    expect(st.phase).toBe('Deploying');
    const p = planRelease(spec(), st, obs({}, T0 + 1000));
    expect(p.actions).toEqual([{ type: 'ApplySlot', slot: 'green', replicas: 4 }]);
    expect(p.requeueAfterMs).toBe(599_000);
  });

  test('a slot that never becomes available fails the rollout without touching traffic', () => {
    const slots = { green: { revision: 'rev2', replicas: 4, available: 1, rolledOut: false } };
    const p = planRelease(spec(), deploying(), obs({ slots }, T0 + 600_000));
    expect(p.status.phase).toBe('Failed');
    expect(p.status.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('ProgressDeadlineExceeded');
    expect(types(p.actions)).not.toContain('SetWeight');
    expect(types(p.actions)).not.toContain('ApplyServices');
  });
});

describe('aborting', () => {
  test('at 50 %: the weight goes back to 0 first, then the new slot is scaled away', () => {
    const shifting: ReleaseStatus = {
      ...stableV1,
      revision: 'rev2',
      targetSlot: 'green',
      phase: 'Shifting',
      currentStep: 2,
      canaryWeight: 50,
      stepStartedAt: new Date(T0).toISOString(),
    };
    const world = {
      stableSelects: 'blue' as const,
      previewSelects: 'green' as const,
      slots: {
        blue: { revision: 'rev1', replicas: 4, available: 4, rolledOut: true },
        green: { revision: 'rev2', replicas: 4, available: 4, rolledOut: true },
      },
    };
    const p = planRelease(spec(), shifting, obs({ ...world, annotations: { abort: 'now' }, weight: 50 }));
    expect(p.actions.slice(0, 3)).toEqual([
      { type: 'ClearAnnotation', key: 'cutover.dev/abort' },
      { type: 'SetWeight', weight: 0, stable: 'blue', canary: 'green' },
      { type: 'ScaleSlot', slot: 'green', replicas: 0 },
    ]);
    expect(p.status).toMatchObject({
      phase: 'RollingBack',
      canaryWeight: 0,
      rollback: { cause: 'Aborted' },
    });
    // RolledBack once the cluster shows the route at 0 and no pod of the new slot left ready.
    const draining = { ...world, slots: { ...world.slots, green: { ...world.slots.green, replicas: 0 } } };
    expect(planRelease(spec(), p.status, obs({ ...draining, weight: 0 }, T0 + 10)).status.phase).toBe(
      'RollingBack',
    );
    const settled = {
      ...world,
      slots: { ...world.slots, green: { ...world.slots.green, replicas: 0, available: 0 } },
    };
    const done = planRelease(spec(), p.status, obs({ ...settled, weight: 0 }, T0 + 10));
    expect(done.actions.filter((a) => a.type !== 'Event')).toEqual([]);
    expect(done.status).toMatchObject({
      phase: 'RolledBack',
      canaryWeight: 0,
      activeSlot: 'blue',
      stableVersion: '1.0.0',
    });
    expect(done.status.history?.[0]).toMatchObject({ outcome: 'Aborted', cause: 'Aborted' });
  });

  test('after the contract migration ran, traffic is not shifted back', () => {
    const contracting: ReleaseStatus = {
      ...stableV1,
      revision: 'rev2',
      stableRevision: 'rev2',
      activeSlot: 'green',
      phase: 'Contracting',
      migrations: { contract: { phase: 'Running', job: 'shop-contract-rev2-tp7ig0' } },
    };
    const p = planRelease(
      spec({ contract: { afterMs: 0 } }),
      contracting,
      obs({ annotations: { abort: 'now' } }),
    );
    expect(types(p.actions)).toEqual(['ClearAnnotation', 'Event']);
    expect(p.status.phase).toBe('Contracting');
    expect(p.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'ContractApplied',
    });
  });
});

describe('superseding', () => {
  test('a newer version mid-rollout moves traffic back and removes the unfinished Job', () => {
    const shifting: ReleaseStatus = {
      ...stableV1,
      revision: 'rev2',
      targetSlot: 'green',
      phase: 'Shifting',
      currentStep: 1,
      canaryWeight: 25,
      migrations: { contract: { phase: 'Pending', job: 'shop-contract-rev2-tp7ig0' } },
    };
    const slots = {
      blue: { revision: 'rev1', version: '1.0.0', replicas: 4, available: 4, rolledOut: true },
      green: { revision: 'rev2', version: '2.0.0', replicas: 4, available: 4, rolledOut: true },
    };
    const p = planRelease(
      spec({ version: '3.0.0', revision: 'rev3' }),
      shifting,
      obs({ slots, stableSelects: 'blue', previewSelects: 'green', weight: 25 }),
    );
    expect(p.status.history?.[0]).toMatchObject({ version: '2.0.0', outcome: 'Aborted' });
    expect(p.actions.slice(0, 2)).toEqual([
      { type: 'SetWeight', weight: 0, stable: 'blue', canary: 'green' },
      { type: 'DeleteJob', name: 'shop-contract-rev2-tp7ig0' },
    ]);
    expect(p.status).toMatchObject({
      phase: 'Deploying',
      revision: 'rev3',
      targetSlot: 'green',
      canaryWeight: 0,
    });
  });
});

describe('whole rollouts through the state machine', () => {
  test('GatewayAPI v1 → v2: weights 10, 25, 50, 100, then the stable Service takes over', () => {
    const w = new World(spec(), stableV1);
    w.slots = { blue: { revision: 'rev1', replicas: 4 } };
    [w.stable, w.preview] = ['blue', 'blue'];
    w.run((x) => x.status.phase === 'Succeeded' && x.status.revision === 'rev2' && !x.status.scaleDownAt);
    expect(w.weights).toEqual([10, 25, 50, 100, 0]);
    expect(w.status).toMatchObject({ activeSlot: 'green', stableVersion: '2.0.0', stableRevision: 'rev2' });
    expect(w.stable).toBe('green');
    expect(w.slots.blue?.replicas).toBe(0);
    expect(w.now - T0).toBe(4 * 60_000 + 600_000);
  });

  test('Replicas mode follows the weights with replica counts, then switches the selector', () => {
    const w = new World(spec({ mode: 'Replicas' }), stableV1);
    w.slots = { blue: { revision: 'rev1', replicas: 4 } };
    const seen: string[] = [];
    w.run((x) => {
      seen.push(`${x.slots.green?.replicas ?? 0}/${x.slots.blue?.replicas ?? 0}`);
      return x.status.phase === 'Succeeded' && x.status.revision === 'rev2';
    });
    expect([...new Set(seen)]).toEqual(['0/4', '1/4', '1/3', '2/2', '4/0']);
    expect(w.stable).toBe('green');
  });

  test('a crash after any reconcile (status lost) still converges, and each Job is created once', () => {
    for (let crashAt = 0; crashAt < 40; crashAt++) {
      const w = new World(spec({ expand: true, contract: { afterMs: 60_000 } }), stableV1);
      w.slots = { blue: { revision: 'rev1', replicas: 4 } };
      w.run(
        (x) => x.status.phase === 'Succeeded' && x.status.revision === 'rev2',
        (i) => i === crashAt,
      );
      expect(w.jobsCreated).toEqual(['shop-expand-rev2-tp7ig0', 'shop-contract-rev2-tp7ig0']);
      expect(w.weights.filter((x) => x > 0)).toEqual([10, 25, 50, 100]);
    }
  });

  test('retry after a failed expand uses a new Job name and succeeds', () => {
    const w = new World(spec({ expand: true }), stableV1, 'Failed');
    w.slots = { blue: { revision: 'rev1', replicas: 4 } };
    w.run((x) => x.status.phase === 'Failed');
    expect(w.weights).toEqual([]);
    w.jobs.clear();
    w.jobOutcome = 'Succeeded';
    w.annotations = { retry: 'now' };
    w.run((x) => x.status.phase === 'Succeeded' && x.status.revision === 'rev2');
    expect(w.jobsCreated).toEqual(['shop-expand-rev2-tp7ig0', 'shop-expand-rev2-tp7ig0-r1']);
  });

  test('paused holds the step however long it waits', () => {
    const w = new World(spec({ paused: true }), stableV1);
    w.slots = { blue: { revision: 'rev1', replicas: 4 } };
    w.run((x) => x.status.phase === 'Shifting');
    const p = planRelease(w.s, w.status, { ...w.observe(), now: new Date(w.now + 3_600_000) });
    expect(p.status.currentStep).toBe(0);
    expect(p.requeueAfterMs).toBeUndefined();
  });

  test('promote skips the remaining steps', () => {
    const w = new World(spec(), stableV1);
    w.slots = { blue: { revision: 'rev1', replicas: 4 } };
    w.run((x) => x.status.phase === 'Shifting');
    w.annotations = { promote: 'now' };
    w.run((x) => x.status.phase === 'Succeeded');
    expect(w.weights).toEqual([10, 0]);
    expect(w.status.activeSlot).toBe('green');
  });

  test('a failed contract keeps the new version serving and says so loudly', () => {
    const w = new World(spec({ contract: { afterMs: 1000 } }), stableV1, 'Failed');
    w.slots = { blue: { revision: 'rev1', replicas: 4 } };
    w.run((x) => x.status.phase === 'Failed');
    expect(w.status.activeSlot).toBe('green');
    expect(w.stable).toBe('green');
    expect(w.status.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'ContractFailed',
    });
  });
});

describe('one way back', () => {
  const slots = {
    blue: { revision: 'rev1', version: '1.0.0', replicas: 4, available: 4, rolledOut: true },
    green: { revision: 'rev2', version: '2.0.0', replicas: 4, available: 4, rolledOut: true },
  };

  test('abort during the bake: the previous slot, still scaled, becomes stable again', () => {
    const baking: ReleaseStatus = {
      ...stableV1,
      revision: 'rev2',
      stableRevision: 'rev2',
      stableVersion: '2.0.0',
      activeSlot: 'green',
      targetSlot: 'green',
      phase: 'Baking',
      phaseStartedAt: new Date(T0).toISOString(),
      scaleDownAt: new Date(T0 + 600_000).toISOString(),
      migrations: { contract: { phase: 'Pending', job: 'shop-contract-rev2-tp7ig0' } },
    };
    const s = spec({ contract: { afterMs: 60_000 } });
    const world = { slots, stableSelects: 'green' as const, previewSelects: 'green' as const, weight: 0 };
    const p = planRelease(s, baking, obs({ ...world, annotations: { abort: 'now' } }, T0 + 1000));
    expect(p.actions.filter((a) => a.type !== 'Event' && a.type !== 'ClearAnnotation')).toEqual([
      { type: 'ApplyServices', stable: 'blue', preview: 'green' },
      { type: 'ScaleSlot', slot: 'green', replicas: 0 },
    ]);
    expect(p.status).toMatchObject({
      phase: 'RollingBack',
      activeSlot: 'blue',
      targetSlot: 'green',
      stableVersion: '1.0.0',
      stableRevision: 'rev1',
    });
    expect(p.status.scaleDownAt).toBeUndefined();
  });

  test('RollingBack writes again only when the cluster still disagrees after a grace period', () => {
    const rolling: ReleaseStatus = {
      ...stableV1,
      revision: 'rev2',
      targetSlot: 'green',
      phase: 'RollingBack',
      phaseStartedAt: new Date(T0).toISOString(),
      canaryWeight: 0,
      rollback: { cause: 'Aborted', reason: 'aborted' },
    };
    const world = { slots, stableSelects: 'blue' as const, previewSelects: 'green' as const, weight: 0 };
    const early = planRelease(spec(), rolling, obs(world, T0 + 100));
    expect(early.actions).toEqual([]);
    expect(early.status.phase).toBe('RollingBack');
    expect(early.requeueAfterMs).toBe(4_900);
    const late = planRelease(spec(), rolling, obs(world, T0 + 5_000));
    expect(late.actions).toEqual([{ type: 'ScaleSlot', slot: 'green', replicas: 0 }]);
  });

  test('a superseded rollout in Replicas mode gives the stable slot its pods back, no route involved', () => {
    const shifting: ReleaseStatus = {
      ...stableV1,
      revision: 'rev2',
      targetSlot: 'green',
      phase: 'Shifting',
      currentStep: 2,
      canaryWeight: 50,
    };
    const half = {
      blue: { ...slots.blue, replicas: 2 },
      green: { ...slots.green, replicas: 2 },
    };
    const p = planRelease(
      spec({ mode: 'Replicas', version: '3.0.0', revision: 'rev3' }),
      shifting,
      obs({ slots: half, stableSelects: 'both', previewSelects: 'green' }),
    );
    expect(p.actions.filter((a) => a.type !== 'Event')).toEqual([
      { type: 'ApplyServices', stable: 'blue', preview: 'green' },
      { type: 'ScaleSlot', slot: 'blue', replicas: 4 },
    ]);
  });
});

describe('Enforced, left by an older operator', () => {
  test('is removed from the status', () => {
    const legacy = {
      type: 'Enforced',
      status: 'False' as const,
      reason: 'NotImplemented',
      message: 'x',
      lastTransitionTime: '2026-11-28T10:00:00Z',
    };
    const p = planRelease(spec(), { ...stableV1, conditions: [legacy] }, obs());
    expect(p.status.conditions?.map((c) => c.type)).not.toContain('Enforced');
  });
});

describe('an abort while a gate holds the rollout', () => {
  test('ends it without touching anything: no traffic, no scaling, the stable version keeps serving', () => {
    const waiting = {
      ...stableV1,
      phase: 'AwaitingApproval' as const,
      revision: 'rev2',
      targetSlot: 'green' as const,
      canaryWeight: 0,
    };
    const p = planRelease(spec(), waiting, obs({ annotations: { abort: 'true' } }));
    expect(p.status.phase).toBe('RolledBack');
    expect(p.status.history?.[0]).toMatchObject({ version: '2.0.0', outcome: 'Aborted', cause: 'Aborted' });
    expect(p.actions.map((a) => a.type)).toEqual(['ClearAnnotation', 'Event']);
    expect(p.status.conditions?.find((c) => c.type === 'Ready')?.message).toBe(
      'rollout of 2.0.0 aborted on request while waiting at a gate; nothing had been touched, 1.0.0 still serves',
    );
  });
});
