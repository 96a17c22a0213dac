import type { Evaluation } from '../../rollback/types.js';
import { planRelease } from './index.js';
import { T0, World, spec, stableV1 } from './world.testkit.js';

const STEP = 60_000;
const INTERVAL = 10_000;

const pass = (): Omit<Evaluation, 'at'> => ({
  verdict: 'Pass',
  readings: [{ trigger: 'errors', result: 'Pass', value: '0%', threshold: '1%' }],
  message: '1 trigger passes',
});
const errors = (value: string): Omit<Evaluation, 'at'> => ({
  verdict: 'Fail',
  readings: [{ trigger: 'errors', result: 'Fail', value, threshold: '1%' }],
  message: `errors: ErrorRate ${value} > 1%`,
});
const inconclusive = (): Omit<Evaluation, 'at'> => ({
  verdict: 'Inconclusive',
  readings: [
    {
      trigger: 'errors',
      result: 'Inconclusive',
      reason: '0.2 req/s to the new slot, below minRequestRate 1',
    },
  ],
  message: 'errors: Inconclusive (0.2 req/s to the new slot, below minRequestRate 1)',
});

function world(
  over: Parameters<typeof spec>[0] = {},
  policy: Partial<NonNullable<World['policy']>> = {},
): World {
  const w = new World(spec({ stepDurationMs: STEP, ...over }), stableV1);
  w.slots = { blue: { revision: 'rev1', version: '1.0.0', replicas: 4 } };
  [w.stable, w.preview] = ['blue', 'blue'];
  w.policy = {
    policy: 'standard',
    failureLimit: 2,
    onInconclusive: 'Pause',
    downMigrations: false,
    intervalMs: INTERVAL,
    ...policy,
  };
  return w;
}

const done = (w: World) =>
  w.status.revision === 'rev2' && ['Succeeded', 'RolledBack', 'Failed'].includes(w.status.phase ?? '');

describe('analysis while traffic shifts', () => {
  test('healthy metrics: every step advances only on an evaluation taken after it was due', () => {
    const w = world();
    const advanced: number[] = [];
    w.run((x) => {
      if (advanced.at(-1) !== x.weight) advanced.push(x.weight);
      return done(x);
    });
    // The last 0: the stable Service takes over from the route at promotion.
    expect(w.weights).toEqual([10, 25, 50, 100, 0]);
    expect(w.status.analysis).toMatchObject({ policy: 'standard', verdict: 'Pass', consecutiveFailures: 0 });
    // One evaluation at each step's end at the latest, besides those every interval.
    for (let i = 1; i <= 4; i++) {
      const due = T0 + i * STEP;
      expect(w.evaluations.some((e) => e.at >= due && e.at < due + INTERVAL)).toBe(true);
    }
  });

  test('error rate breaching at 25 %: rolled back after failureLimit evaluations, naming the trigger', () => {
    const w = world();
    w.evaluate = (x) => (x.weight === 25 ? errors('5%') : pass());
    w.run(done);
    expect(w.status.phase).toBe('RolledBack');
    expect(w.weights).toEqual([10, 25, 0]);
    expect(w.slots.green?.replicas).toBe(0);
    expect(w.status.rollback).toMatchObject({
      cause: 'AnalysisFailed',
      metric: 'errors',
      value: '5%',
      threshold: '1%',
    });
    expect(w.status.rollback?.reason).toContain('2 breaching evaluations in a row');
    expect(w.evaluations.filter((e) => e.verdict === 'Fail')).toHaveLength(2);
    expect(w.status.history?.[0]).toMatchObject({ outcome: 'RolledBack', cause: 'AnalysisFailed' });
  });

  test('the rollback decision is written before traffic moves', () => {
    const w = world();
    w.evaluate = (x) => (x.weight === 25 ? errors('5%') : pass());
    w.run((x) => x.status.analysis?.consecutiveFailures === 1);
    w.now += INTERVAL;
    const p = planRelease(w.s, w.status, w.observe());
    expect(p.status.phase).toBe('RollingBack');
    expect(p.commitFirst).toBe(true);
    expect(p.actions[0]).toEqual({ type: 'SetWeight', weight: 0, stable: 'blue', canary: 'green' });
  });

  test('the next version after a rollback counts its breaches from zero', () => {
    const first = world();
    first.evaluate = (x) => (x.weight === 10 ? errors('5%') : pass());
    first.run(done);
    expect(first.status.analysis?.consecutiveFailures).toBe(2);
    const w = new World(spec({ stepDurationMs: STEP, version: '3.0.0', revision: 'rev3' }), first.status);
    Object.assign(w, {
      slots: first.slots,
      stable: first.stable,
      preview: first.preview,
      weight: first.weight,
    });
    w.policy = first.policy;
    w.evaluate = () => errors('5%');
    w.run((x) => x.status.revision === 'rev3' && x.status.phase === 'RolledBack');
    expect(w.evaluations.filter((e) => e.verdict === 'Fail')).toHaveLength(2);
    expect(w.status.rollback?.reason).toContain('2 breaching evaluations in a row');
  });

  test('a breach that clears before failureLimit resets the count and the rollout goes on', () => {
    const w = world({}, { failureLimit: 3 });
    let n = 0;
    w.evaluate = (x) => (x.weight === 25 && n++ < 2 ? errors('2%') : pass());
    w.run(done);
    expect(w.status.phase).toBe('Succeeded');
    expect(w.status.analysis?.consecutiveFailures).toBe(0);
  });

  test('Inconclusive with Pause holds the step for as long as it lasts, then goes on', () => {
    const w = world();
    let quiet = true;
    w.evaluate = (x) => (x.weight === 25 && quiet ? inconclusive() : pass());
    w.run((x) => x.weight === 25 && x.now > T0 + 20 * STEP);
    expect(w.weights).toEqual([10, 25]);
    expect(w.status.conditions?.find((c) => c.type === 'Analysis')).toMatchObject({
      status: 'False',
      reason: 'Inconclusive',
    });
    quiet = false;
    w.run(done);
    expect(w.status.phase).toBe('Succeeded');
    expect(w.weights).toEqual([10, 25, 50, 100, 0]);
  });

  test('Inconclusive with Continue moves through the steps but never to full traffic on it', () => {
    const w = world({}, { onInconclusive: 'Continue' });
    w.evaluate = inconclusive;
    w.run((x) => x.now > T0 + 30 * STEP);
    expect(w.weights).toEqual([10, 25, 50]);
    expect(w.status.phase).toBe('Shifting');
  });

  test('Inconclusive with Rollback counts as a breach', () => {
    const w = world({}, { onInconclusive: 'Rollback' });
    w.evaluate = inconclusive;
    w.run(done);
    expect(w.status.phase).toBe('RolledBack');
    expect(w.weights).toEqual([10, 0]);
  });

  test('spec.paused holds traffic, not judgement: a breach still rolls back', () => {
    const w = world({ paused: true });
    w.evaluate = (x) => (x.now > T0 + 5 * STEP ? errors('9%') : pass());
    w.run(done);
    expect(w.status.phase).toBe('RolledBack');
    expect(w.weights).toEqual([10, 0]);
  });

  test('status.analysis is written when the verdict changes, not every interval', () => {
    const w = world({ stepDurationMs: 10 * STEP });
    let writes = 0;
    let last = JSON.stringify(w.status);
    w.run((x) => {
      const now = JSON.stringify(x.status);
      if (now !== last) writes++;
      last = now;
      return x.weight === 10 && x.now > T0 + 5 * STEP;
    });
    // 30 evaluations passed at this step; the status changed for the phases and the first verdict only.
    expect(w.evaluations.length).toBeGreaterThan(25);
    expect(writes).toBeLessThan(6);
  });

  test('a crash that loses the rollback actions: the restarted run finishes the rollback once', () => {
    for (let crashAt = 0; crashAt < 30; crashAt++) {
      const w = world();
      w.evaluate = (x) => (x.weight === 25 ? errors('5%') : pass());
      w.run(done, (i) => i === crashAt);
      expect(w.status.phase).toBe('RolledBack');
      expect(w.weights.at(-1)).toBe(0);
      expect(w.status.history?.filter((h) => h.cause === 'AnalysisFailed')).toHaveLength(1);
    }
  });
});

describe('the bake and the contract', () => {
  test('a breach during the bake brings the previous slot back', () => {
    const w = world({ contract: { afterMs: 5 * STEP } });
    w.evaluate = (x) => (x.status.phase === 'Baking' ? errors('4%') : pass());
    w.run(done);
    expect(w.status).toMatchObject({ phase: 'RolledBack', activeSlot: 'blue', stableVersion: '1.0.0' });
    expect(w.stable).toBe('blue');
    expect(w.jobsCreated).toEqual([]);
  });

  test('the contract waits for a passing evaluation at the end of the bake', () => {
    const w = world({ contract: { afterMs: STEP } });
    let quiet = true;
    w.evaluate = (x) => (x.status.phase === 'Baking' && quiet ? inconclusive() : pass());
    w.run((x) => x.status.phase === 'Baking' && x.now > T0 + 20 * STEP);
    expect(w.jobsCreated).toEqual([]);
    quiet = false;
    w.run(done);
    expect(w.jobsCreated).toEqual(['shop-contract-rev2-tp7ig0']);
  });

  test('a breach after the contract started freezes the rollout: no traffic moves', () => {
    const w = world({ contract: { afterMs: STEP } });
    w.jobOutcome = () => 'Succeeded';
    w.jobs.set('shop-contract-rev2-tp7ig0', 'Running');
    w.evaluate = (x) => (x.status.phase === 'Contracting' ? errors('7%') : pass());
    w.run(done);
    expect(w.status.phase).toBe('Failed');
    expect(w.weights).toEqual([10, 25, 50, 100, 0]);
    expect(w.stable).toBe('green');
    const ready = w.status.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'ContractApplied' });
    expect(w.status.conditions?.find((c) => c.type === 'Degraded')).toMatchObject({
      reason: 'ContractApplied',
    });
    // The contract Job is left to finish, and status follows it.
    w.jobs.set('shop-contract-rev2-tp7ig0', 'Succeeded');
    w.run((x) => x.status.migrations?.contract?.phase === 'Succeeded');
    expect(w.status.phase).toBe('Failed');
  });
});

describe('down migrations', () => {
  test('after traffic is back and the slot gone, the down Job runs once; then RolledBack', () => {
    const w = world({ expand: true }, { downMigrations: true });
    w.evaluate = (x) => (x.weight === 25 ? errors('5%') : pass());
    const order: string[] = [];
    w.run((x) => {
      if (x.jobsCreated.includes('shop-down-rev2-tp7ig0') && !order.includes('down')) {
        order.push(`down at weight ${x.weight}, green ${x.slots.green?.replicas ?? 0}`);
        order.push('down');
      }
      return done(x);
    });
    expect(order[0]).toBe('down at weight 0, green 0');
    expect(w.jobsCreated).toEqual(['shop-expand-rev2-tp7ig0', 'shop-down-rev2-tp7ig0']);
    expect(w.status.migrations?.down).toMatchObject({ phase: 'Succeeded', job: 'shop-down-rev2-tp7ig0' });
    expect(w.status.phase).toBe('RolledBack');
  });

  test('a failed down Job leaves the rollout RolledBack, saying the expanded schema stays', () => {
    const w = world({ expand: true }, { downMigrations: true });
    w.jobOutcome = (name) => (name.includes('-down-') ? 'Failed' : 'Succeeded');
    w.evaluate = (x) => (x.weight === 10 ? errors('5%') : pass());
    w.run(done);
    expect(w.status.phase).toBe('RolledBack');
    const ready = w.status.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.reason).toBe('DownMigrationFailed');
    expect(ready?.message).toContain('the expanded schema stays');
  });

  test('without RunDownMigrations no down Job exists', () => {
    const w = world({ expand: true });
    w.evaluate = (x) => (x.weight === 25 ? errors('5%') : pass());
    w.run(done);
    expect(w.jobsCreated).toEqual(['shop-expand-rev2-tp7ig0']);
  });
});

describe('verification', () => {
  test('a failing verification Job rolls back before any traffic moved', () => {
    const w = world({ verify: true });
    w.jobOutcome = (name) => (name.includes('-verify-') ? 'Failed' : 'Succeeded');
    w.run(done);
    expect(w.weights).toEqual([]);
    expect(w.preview).toBe('green');
    expect(w.status.verification).toMatchObject({ phase: 'Failed', job: 'shop-verify-rev2-tp7ig0' });
    expect(w.status.rollback).toMatchObject({ cause: 'VerificationFailed' });
    expect(w.status.rollback?.reason).toContain('no traffic was moved');
    expect(w.slots.green?.replicas).toBe(0);
  });

  test('a passing verification starts the steps', () => {
    const w = world({ verify: true });
    w.run(done);
    expect(w.jobsCreated).toEqual(['shop-verify-rev2-tp7ig0']);
    expect(w.status.verification?.phase).toBe('Succeeded');
    expect(w.weights).toEqual([10, 25, 50, 100, 0]);
  });
});

describe('edges found in review', () => {
  test('a new rollout starts with no breaches counted and no verification carried over', () => {
    const w = world({ verify: true }, { failureLimit: 2 });
    w.evaluate = (x) => (x.weight === 25 ? errors('5%') : pass());
    w.run(done);
    expect(w.status.phase).toBe('RolledBack');
    // v3: one breach alone must not roll it back; it gets its own verification Job.
    const v3 = new World(
      spec({ version: '3.0.0', revision: 'rev3', stepDurationMs: STEP, verify: true }),
      w.status,
    );
    v3.slots = w.slots;
    [v3.stable, v3.preview, v3.policy] = [w.stable, w.preview, w.policy];
    let breaches = 0;
    v3.evaluate = () => (breaches++ === 0 ? errors('2%') : pass());
    v3.run((x) => x.status.revision === 'rev3' && ['Succeeded', 'RolledBack'].includes(x.status.phase ?? ''));
    expect(v3.status.phase).toBe('Succeeded');
    expect(v3.jobsCreated).toEqual(['shop-verify-rev3-tp7ig0']);
  });

  test('a breach during the bake of a first rollout freezes it: no previous version, no outage', () => {
    const w = new World(spec({ stepDurationMs: STEP, contract: { afterMs: 5 * STEP } }), {});
    w.policy = {
      policy: 'standard',
      failureLimit: 2,
      onInconclusive: 'Pause',
      downMigrations: false,
      intervalMs: INTERVAL,
    };
    w.evaluate = (x) => (x.status.phase === 'Baking' ? errors('4%') : pass());
    w.run((x) => x.status.revision === 'rev2' && x.status.phase === 'Failed');
    expect(w.status.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('NoPreviousVersion');
    expect(w.slots.blue?.replicas).toBe(4);
    expect(w.jobsCreated).toEqual([]);
  });

  test('a breach in Contracting before the contract Job exists is still a rollback to the previous slot', () => {
    const w = world({ contract: { afterMs: STEP } }, { failureLimit: 1 });
    w.run((x) => x.status.phase === 'Contracting');
    const creates = planRelease(w.s, w.status, { ...w.observe() });
    expect(creates.actions.map((a) => a.type)).toContain('CreateJob');
    // The Job was never created (a crash, say); the next evaluation breaches.
    w.evaluate = () => errors('9%');
    w.now += INTERVAL;
    const p = planRelease(w.s, w.status, w.observe());
    expect(p.status).toMatchObject({ phase: 'RollingBack', activeSlot: 'blue', stableVersion: '1.0.0' });
    expect(p.actions.map((a) => a.type)).not.toContain('CreateJob');
  });

  test('the previous slot stays scaled through a bake longer than scaleDownDelay', () => {
    const w = world({ contract: { afterMs: 30 * STEP }, scaleDownDelayMs: STEP });
    w.evaluate = (x) => (x.status.phase === 'Baking' && x.now > T0 + 20 * STEP ? errors('4%') : pass());
    w.run((x) => x.status.phase === 'RollingBack');
    expect(w.slots.blue?.replicas).toBe(4);
    w.run(done);
    expect(w.status).toMatchObject({ phase: 'RolledBack', activeSlot: 'blue' });
  });

  test('a failed verification of a first rollout scales the unverified slot away', () => {
    const w = new World(spec({ stepDurationMs: STEP, verify: true }), {});
    w.jobOutcome = (name) => (name.includes('-verify-') ? 'Failed' : 'Succeeded');
    w.run((x) => x.status.revision === 'rev2' && x.status.phase === 'RolledBack');
    expect(w.slots.blue?.replicas).toBe(0);
  });

  test('a policy that disappears mid-rollout holds the step instead of advancing unjudged', () => {
    const w = world();
    w.run((x) => x.weight === 10);
    w.policy = undefined;
    const p = planRelease(w.s, w.status, {
      ...w.observe(),
      policyMissing: 'standard',
      now: new Date(w.now + 10 * STEP),
    });
    expect(p.status.currentStep).toBe(0);
    expect(p.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'RollbackPolicyNotFound',
    });
  });

  test('a policy left without a Prometheus address holds the step, and full traffic, with a clear reason', () => {
    const w = world();
    w.run((x) => x.weight === 10);
    const unaddressed = (at: number) => {
      const obs = { ...w.observe(), now: new Date(at) };
      obs.analysis = {
        policy: 'standard',
        failureLimit: 2,
        onInconclusive: 'Continue',
        downMigrations: false,
        nextInMs: INTERVAL,
        addressMissing: true,
      };
      return obs;
    };
    const p = planRelease(w.s, w.status, unaddressed(w.now + 10 * STEP));
    expect(p.status.currentStep).toBe(0);
    w.apply(p.actions);
    expect(w.weight).toBe(10);
    expect(p.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'PrometheusAddressMissing',
      message:
        'RollbackPolicy standard: no Prometheus address: set spec.prometheus.address, or start the operator with --prometheus-address (Helm value prometheus.address); the rollout holds rather than go on unjudged',
    });
    // At the last step too: no promotion without an evaluation.
    w.run((x) => x.status.currentStep === 3);
    const last = planRelease(w.s, w.status, unaddressed(w.now + 10 * STEP));
    expect(last.status.phase).toBe('Shifting');
    expect(last.status.currentStep).toBe(3);
  });

  test('nothing to judge after promotion (relative triggers only): the contract does not wait', () => {
    const w = world({ contract: { afterMs: STEP } });
    w.run((x) => x.status.phase === 'Baking');
    const idle = { ...w.observe(), now: new Date(w.now + 2 * STEP) };
    idle.analysis = {
      policy: 'standard',
      failureLimit: 2,
      onInconclusive: 'Pause',
      downMigrations: false,
      nextInMs: INTERVAL,
      idle: true,
    };
    const p = planRelease(w.s, w.status, idle);
    expect(p.status.phase).toBe('Contracting');
  });
});

describe('second review', () => {
  test('Replicas mode at 100 %: the stable slot comes back up before any traffic moves to it', () => {
    const w = world({ mode: 'Replicas' }, { failureLimit: 1 });
    w.run((x) => x.status.currentStep === 3);
    expect(w.slots.blue?.replicas).toBe(0);
    w.evaluate = () => errors('6%');
    w.now += INTERVAL;
    // The old slot has no pod yet: it is scaled up, and nothing else changes.
    const first = planRelease(w.s, w.status, w.observe());
    expect(first.status.phase).toBe('RollingBack');
    expect(first.actions.filter((a) => a.type !== 'Event')).toEqual([
      { type: 'ScaleSlot', slot: 'blue', replicas: 4 },
    ]);
    expect(first.status.canaryWeight).toBe(100);
    // Once its pods are ready the Service switches, then the failed slot goes.
    const obs = w.observe();
    const ready = {
      ...obs,
      slots: { ...obs.slots, blue: { revision: 'rev1', replicas: 4, available: 4, rolledOut: true } },
    };
    const second = planRelease(w.s, first.status, ready);
    expect(second.actions.filter((a) => a.type !== 'Event')).toEqual([
      { type: 'ApplyServices', stable: 'blue', preview: 'green' },
      { type: 'ScaleSlot', slot: 'green', replicas: 0 },
    ]);
    expect(second.status.canaryWeight).toBe(0);
  });

  test('an overlong verification message still fits the status schema', () => {
    const w = world({ verify: true });
    w.jobOutcome = (name) => (name.includes('-verify-') ? 'Failed' : 'Succeeded');
    const observe = w.observe.bind(w);
    w.observe = () => {
      const o = observe();
      if (o.jobs.verify) o.jobs.verify.message = 'x'.repeat(5000);
      return o;
    };
    w.run(done);
    expect(w.status.rollback?.reason?.length).toBeLessThanOrEqual(1024);
    expect(w.status.verification?.message?.length).toBeLessThanOrEqual(4096);
  });

  test('a contract Job that exists counts as started even when its status write was lost', () => {
    const w = world({ contract: { afterMs: STEP } }, { failureLimit: 1 });
    w.run((x) => x.status.phase === 'Contracting');
    w.jobs.set('shop-contract-rev2-tp7ig0', 'Running');
    w.evaluate = () => errors('9%');
    w.now += INTERVAL;
    const p = planRelease(w.s, w.status, w.observe());
    expect(p.status.phase).toBe('Failed');
    expect(p.actions.filter((a) => a.type === 'SetWeight' || a.type === 'ApplyServices')).toEqual([]);
  });

  test('a retry of the revision that serves everything is refused', () => {
    const w = world({ contract: { afterMs: STEP } });
    w.jobs.set('shop-contract-rev2-tp7ig0', 'Running');
    w.evaluate = (x) => (x.status.phase === 'Contracting' ? errors('7%') : pass());
    w.run(done);
    expect(w.status.phase).toBe('Failed');
    const p = planRelease(w.s, w.status, { ...w.observe(), annotations: { retry: 'now' } });
    expect(p.status.phase).toBe('Failed');
    expect(p.actions).toEqual([
      { type: 'ClearAnnotation', key: 'cutover.dev/retry' },
      expect.objectContaining({ type: 'Event', reason: 'RetryRefused' }),
    ]);
  });
});

test('a revision rolled out again later is a new run: new Job names, and its down migration undoes only its own', () => {
  const first = world({ expand: true }, { downMigrations: true });
  first.run(done);
  expect(first.status.phase).toBe('Succeeded');
  // Later, after another version, the same revision again (a revert), and this time it breaches.
  const again = new World(spec({ stepDurationMs: STEP, expand: true }), {
    ...first.status,
    revision: 'rev9',
    stableRevision: 'rev9',
  });
  again.now = T0 + 3_600_000;
  again.slots = first.slots;
  [again.stable, again.preview] = [first.stable, first.preview];
  again.policy = first.policy;
  again.evaluate = (x) => (x.weight === 10 ? errors('5%') : pass());
  again.run(done);
  expect(again.status.phase).toBe('RolledBack');
  const created = again.jobsCreated;
  expect(created).toHaveLength(2);
  expect(created.every((n) => !first.jobsCreated.includes(n))).toBe(true);
  const down = again.actions.find((a) => a.type === 'CreateJob' && a.kind === 'down');
  const expand = again.actions.find((a) => a.type === 'CreateJob' && a.kind === 'expand');
  expect(down && 'run' in down && down.run).toBe(expand && 'run' in expand && expand.run);
  expect(
    first.actions.some(
      (a) => a.type === 'CreateJob' && 'run' in a && down && 'run' in down && a.run === down.run,
    ),
  ).toBe(false);
});

test('a new revision waits for the down migration of the rollout it replaces', () => {
  const w = world({ expand: true }, { downMigrations: true });
  w.evaluate = (x) => (x.weight === 10 ? errors('5%') : pass());
  w.jobOutcome = (name) => (name.includes('-down-') ? 'Succeeded' : 'Succeeded');
  w.run((x) => x.status.migrations?.down?.phase === 'Running');
  const downJob = w.status.migrations?.down?.job ?? '';
  w.jobs.set(downJob, 'Running');
  const v3 = spec({ version: '3.0.0', revision: 'rev3', stepDurationMs: STEP, expand: true });
  const held = planRelease(v3, w.status, w.observe());
  expect(held.status).toMatchObject({ revision: 'rev2', phase: 'RollingBack' });
  expect(held.actions.filter((a) => a.type === 'CreateJob')).toEqual([]);
  w.jobs.set(downJob, 'Succeeded');
  const finished = planRelease(v3, w.status, w.observe());
  expect(finished.status).toMatchObject({ revision: 'rev2', phase: 'RolledBack' });
  expect(finished.status.migrations?.down?.phase).toBe('Succeeded');
  const started = planRelease(v3, finished.status, w.observe());
  expect(started.status).toMatchObject({ revision: 'rev3' });
});

test('a promote request left over after promotion is cleared, not kept for the next rollout', () => {
  const w = world();
  w.run(done);
  const p = planRelease(w.s, w.status, { ...w.observe(), annotations: { promote: 'now' } });
  expect(p.actions).toEqual([
    { type: 'ClearAnnotation', key: 'cutover.dev/promote' },
    expect.objectContaining({ type: 'Event', reason: 'PromoteIgnored' }),
  ]);
});
