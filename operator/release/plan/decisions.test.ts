// The decisions the audit trail needs are Events of the plan, each said once
// (not once per reconcile), with the facts a reader asks for in `details`.
import type { ReleaseStatus } from '../../api/generated/index.js';
import type { GateFacts } from '../../environment/gates.js';
import { planRelease, type Action, type Observation, type Plan, type RolloutSpec } from './index.js';
import { T0, World, spec, stableV1 } from './world.testkit.js';

type EventAction = Extract<Action, { type: 'Event' }>;
const events = (p: Plan): EventAction[] => p.actions.filter((a): a is EventAction => a.type === 'Event');
const reasons = (p: Plan) => events(p).map((e) => e.reason);

function obs(over: Partial<Observation> = {}, at = T0): Observation {
  return { now: new Date(at), slots: {}, jobs: {}, annotations: {}, ...over };
}

function gates(over: Partial<GateFacts> = {}): GateFacts {
  return { namespace: 'shop', environment: { name: 'production', found: true }, ...over };
}

const approvals = (approvers: string[], required = 2): Partial<GateFacts> => ({
  approvals: { required, approvers, forbidSelfApproval: false },
});

/** Plans repeatedly with the same observation, as reconciles do until something changes. */
function settle(s: RolloutSpec, status: ReleaseStatus, o: Observation, times = 3): [Plan, ...Plan[]] {
  const plans: [Plan, ...Plan[]] = [planRelease(s, status, o)];
  times -= 1;
  let st = plans[0].status;
  for (let i = 0; i < times; i++) {
    const p = planRelease(s, st, o);
    plans.push(p);
    st = p.status;
  }
  return plans;
}

const lastOf = (plans: readonly [Plan, ...Plan[]]): Plan => plans[plans.length - 1] ?? plans[0];

describe('approvals', () => {
  test('each approver newly counted is one Approved Event naming them, never repeated', () => {
    const s = spec();
    const plans = settle(s, stableV1, obs({ gates: gates(approvals(['alice'])) }));
    const [first, ...rest] = plans;
    expect(events(first).filter((e) => e.reason === 'Approved')).toEqual([
      {
        type: 'Event',
        kind: 'Normal',
        reason: 'Approved',
        message: 'alice approved the rollout of 2.0.0 (1 of 2 approvals)',
        details: { approver: 'alice', approvals: 1, required: 2 },
      },
    ]);
    for (const p of rest) expect(reasons(p)).toEqual([]);

    const held = lastOf(plans).status;
    const p = planRelease(s, held, obs({ gates: gates(approvals(['alice', 'bob'])) }));
    expect(
      events(p)
        .filter((e) => e.reason === 'Approved')
        .map((e) => e.details),
    ).toEqual([{ approver: 'bob', approvals: 2, required: 2 }]);
  });

  test('enough approvals: the gates pass, said once with who approved', () => {
    const s = spec();
    const waiting = lastOf(settle(s, stableV1, obs({ gates: gates(approvals(['alice'])) }))).status;
    expect(waiting.phase).toBe('AwaitingApproval');
    const p = planRelease(s, waiting, obs({ gates: gates(approvals(['alice', 'bob'])) }));
    expect(reasons(p)).toEqual(['Approved', 'GatesPassed', 'Deploying']);
    expect(events(p)[1]).toMatchObject({
      message: 'every gate of the rollout of 2.0.0 is open; approved by alice, bob',
      details: { approvedBy: 'alice,bob' },
    });
    expect(p.status.approvedBy).toEqual(['alice', 'bob']);
  });

  test('approvals already there when the rollout starts are each said, and the gates open in the same call', () => {
    const p = planRelease(spec(), stableV1, obs({ gates: gates(approvals(['alice', 'bob'])) }));
    expect(reasons(p)).toEqual(['RolloutStarted', 'Approved', 'Approved']);
    expect(events(p)[0]?.details).toEqual({ slot: 'green', from: '1.0.0', gates: 'open' });
  });
});

describe('gates', () => {
  const soaking = gates({
    promotion: {
      source: { namespace: 'shop-staging', name: 'staging' },
      succeededAt: new Date(T0 - 60_000),
      wanted: '2.0.0',
      soakMs: 3_600_000,
    },
  });
  const badConfig = gates({
    config: { violations: [{ key: 'LOG_LEVEL', message: 'LOG_LEVEL must be one of info' }] },
  });

  test('a rollout held in Pending says which gate holds it once, and again only for a new reason', () => {
    const plans = settle(spec(), stableV1, obs({ gates: soaking }));
    const [first, ...rest] = plans;
    expect(reasons(first)).toEqual(['RolloutStarted', 'Soaking']);
    expect(events(first)[1]).toMatchObject({ kind: 'Normal', details: { gate: 'promotion' } });
    for (const p of rest) expect(reasons(p)).toEqual([]);

    const p = planRelease(spec(), lastOf(plans).status, obs({ gates: badConfig }));
    expect(events(p)).toEqual([
      expect.objectContaining({ kind: 'Warning', reason: 'ConfigInvalid', details: { gate: 'config' } }),
    ]);
  });

  test('a gate that moves the phase says so once, with the gate named', () => {
    const [p0, p1] = settle(spec(), stableV1, obs({ gates: gates(approvals([])) }));
    expect(events(p0)).toEqual([
      expect.objectContaining({ reason: 'RolloutStarted' }),
      expect.objectContaining({ reason: 'AwaitingApproval', details: { gate: 'approvals' } }),
    ]);
    expect(p1 && reasons(p1)).toEqual([]);
  });
});

describe('migrations', () => {
  const s = spec({ expand: true });

  test('the Job is announced once when created, and its success once', () => {
    const w = new World(s, stableV1);
    w.run((x) => x.status.phase === 'Succeeded' && x.status.stableRevision === 'rev2');
    const said = w.actions.filter((a): a is EventAction => a.type === 'Event');
    const migration = said.filter((e) => e.details?.migration === 'expand');
    expect(migration.map((e) => e.reason)).toEqual(['MigrationJobCreated', 'MigrationSucceeded']);
    expect(migration[0]?.details).toEqual({ migration: 'expand', job: w.jobsCreated[0] });
  });

  test('a failed expand names the migration and its Job', () => {
    const w = new World(s, stableV1, 'Failed');
    w.run((x) => x.status.phase === 'Failed');
    const failed = w.actions.find((a): a is EventAction => a.type === 'Event' && a.reason === 'ExpandFailed');
    expect(failed?.details).toEqual({ migration: 'expand', job: w.jobsCreated[0] });
  });
});

describe('rollback and abort', () => {
  test('a breach rolls back with its cause, trigger, value and threshold in the details', () => {
    const w = new World(spec(), stableV1);
    w.policy = {
      policy: 'standard',
      failureLimit: 1,
      onInconclusive: 'Pause',
      downMigrations: false,
      intervalMs: 30_000,
    };
    w.evaluate = () => ({
      verdict: 'Fail',
      message: 'errors: 5% > 1%',
      readings: [{ trigger: 'errors', result: 'Fail', value: '5%', threshold: '1%' }],
    });
    w.run((x) => x.status.phase === 'RolledBack');
    const said = w.actions.filter((a): a is EventAction => a.type === 'Event');
    const rolling = said.find((e) => e.reason === 'AnalysisFailed' && e.kind === 'Warning' && e.details?.to);
    expect(rolling?.details).toMatchObject({ cause: 'AnalysisFailed', trigger: 'errors', to: 'blue' });
    expect(said.at(-1)).toMatchObject({ reason: 'AnalysisFailed', details: { cause: 'AnalysisFailed' } });
  });

  test('an abort mid-rollout is recorded with its cause, then the rollback that follows', () => {
    const w = new World(spec(), stableV1);
    w.run((x) => x.status.phase === 'Shifting');
    w.annotations = { abort: '2026-11-28T10:05:00Z' };
    w.run((x) => x.status.phase === 'RolledBack');
    const said = w.actions
      .filter((a): a is EventAction => a.type === 'Event')
      .map((e) => [e.reason, e.details?.cause]);
    expect(said.slice(-2)).toEqual([
      ['Aborted', 'Aborted'],
      ['Aborted', 'Aborted'],
    ]);
  });
});

describe('first rollout', () => {
  test('nothing in its way: its start is not news, its success says when it started', () => {
    const w = new World(spec(), {});
    w.run((x) => x.status.phase === 'Succeeded');
    const said = w.actions.filter((a): a is EventAction => a.type === 'Event');
    expect(said.map((e) => e.reason)).toEqual(['RolloutSucceeded']);
    expect(said[0]?.details).toEqual({ slot: 'blue', startedAt: new Date(T0).toISOString() });
  });
});
