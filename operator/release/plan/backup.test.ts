import type { Evaluation } from '../../rollback/types.js';
import { planRelease, type Action } from './index.js';
import { T0, World, spec, stableV1 } from './world.testkit.js';

const STEP = 60_000;
const BACKUP = 'shop-backup-rev2-tp7ig0';
const CONTRACT = 'shop-contract-rev2-tp7ig0';

const pass = (): Omit<Evaluation, 'at'> => ({ verdict: 'Pass', readings: [], message: 'pass' });
const errors = (): Omit<Evaluation, 'at'> => ({
  verdict: 'Fail',
  readings: [{ trigger: 'errors', result: 'Fail', value: '6%', threshold: '1%' }],
  message: 'errors: ErrorRate 6% > 1%',
});

/** v1 serves from blue; v2 has a contract that drops a column, and a BackupPolicy applies. */
function world(): World {
  const w = new World(spec({ stepDurationMs: STEP, contract: { afterMs: STEP } }), stableV1);
  w.slots = { blue: { revision: 'rev1', version: '1.0.0', replicas: 4 } };
  [w.stable, w.preview] = ['blue', 'blue'];
  w.contract = { destructive: true, why: '002_drop.up.sql:1 drop-column' };
  w.backupPolicy = { name: 'nightly', found: true };
  return w;
}

const done = (w: World) =>
  w.status.revision === 'rev2' && ['Succeeded', 'RolledBack', 'Failed'].includes(w.status.phase ?? '');
const backingUp = (w: World) => w.status.phase === 'BackingUp';
const events = (w: World, reason: string) =>
  w.actions.filter((a): a is Extract<Action, { type: 'Event' }> => a.type === 'Event' && a.reason === reason);
const condition = (w: World, type: string) => w.status.conditions?.find((c) => c.type === type);

describe('a destructive contract with a BackupPolicy', () => {
  test('BackingUp creates one backup Job and holds the contract while it runs', () => {
    const w = world();
    w.jobOutcome = 'Running';
    w.run(backingUp);
    expect(w.actions.filter((a) => a.type === 'CreateJob')).toEqual([
      { type: 'CreateJob', kind: 'backup', name: BACKUP, policy: 'nightly' },
    ]);
    expect(w.status.backup).toMatchObject({ phase: 'Running', job: BACKUP, policy: 'nightly', attempt: 0 });
    expect(events(w, 'BackupStarting')[0]?.message).toContain('002_drop.up.sql:1 drop-column');
    // Later reconciles while it runs: nothing new is created, the contract waits.
    for (let i = 0; i < 3; i++) {
      w.now += STEP;
      const p = planRelease(w.s, w.status, w.observe());
      expect(p.actions.filter((a) => a.type !== 'Event')).toEqual([]);
      expect(p.status.phase).toBe('BackingUp');
    }
    expect(w.jobsCreated).toEqual([BACKUP]);
  });

  test('a successful backup: its id in status and in the history entry, then the contract', () => {
    const w = world();
    w.run(done);
    expect(w.status.phase).toBe('Succeeded');
    expect(w.jobsCreated).toEqual([BACKUP, CONTRACT]);
    expect(w.status.backup).toMatchObject({ phase: 'Succeeded', id: `id-${BACKUP}`, size: '2Ki' });
    expect(w.status.backup?.finishedAt).toBeDefined();
    expect(w.status.history?.[0]).toMatchObject({
      version: '2.0.0',
      outcome: 'Succeeded',
      backupId: `id-${BACKUP}`,
    });
    expect(events(w, 'ContractMigrationStarting')[0]?.message).toContain(`backup id-${BACKUP} taken`);
  });

  test('a failed backup stalls in BackingUp: no contract, traffic untouched, the previous slot up', () => {
    const w = world();
    w.jobOutcome = (name) => (name.includes('-backup-') ? 'Failed' : 'Succeeded');
    w.backupReport = () => ({
      ok: false,
      error: 'cutover backup: bucket backups unreachable at http://s3:9000',
    });
    w.run((x) => x.status.backup?.phase === 'Failed');
    const before = w.actions.length;
    for (let i = 0; i < 5; i++) {
      w.now += STEP;
      const p = planRelease(w.s, w.status, w.observe());
      w.apply(p.actions);
      w.status = p.status;
    }
    expect(w.status.phase).toBe('BackingUp');
    expect(w.jobsCreated).toEqual([BACKUP]);
    // Nothing acted on since: the new version keeps serving everything from the stable Service.
    expect(w.actions.slice(before)).toEqual([]);
    expect(w.status).toMatchObject({ activeSlot: 'green', canaryWeight: 100 });
    expect(w.stable).toBe('green');
    expect(w.slots.blue?.replicas).toBe(4);
    expect(condition(w, 'Stalled')).toMatchObject({ status: 'True', reason: 'BackupFailed' });
    expect(condition(w, 'Stalled')?.message).toContain('bucket backups unreachable');
    expect(w.status.backup).toMatchObject({ phase: 'Failed', job: BACKUP });
    expect(w.status.backup?.message).toContain('bucket backups unreachable');
    expect(events(w, 'BackupFailed')).toHaveLength(1);
  });

  test('a retry takes a fresh backup (-r1), then the contract runs', () => {
    const w = world();
    w.jobOutcome = (name) => (name === BACKUP ? 'Failed' : 'Succeeded');
    w.run((x) => x.status.backup?.phase === 'Failed');
    w.annotations = { retry: 'now' };
    w.run(done);
    expect(w.status.phase).toBe('Succeeded');
    expect(w.jobsCreated).toEqual([BACKUP, `${BACKUP}-r1`, CONTRACT]);
    expect(w.status.backup).toMatchObject({ phase: 'Succeeded', attempt: 1, id: `id-${BACKUP}-r1` });
    expect(w.status.history?.[0]?.backupId).toBe(`id-${BACKUP}-r1`);
    expect(w.annotations).toEqual({});
  });

  test('a Job of that name the Release does not own is not adopted', () => {
    const w = world();
    w.run((x) => x.status.phase === 'Baking');
    const o = w.observe();
    const p = planRelease(w.s, w.status, {
      ...o,
      now: new Date(w.now + STEP),
      jobs: { ...o.jobs, backup: { ownedByUs: false, state: 'Running' } },
    });
    expect(p.status.phase).toBe('BackingUp');
    expect(p.actions.filter((a) => a.type === 'CreateJob')).toEqual([]);
    expect(p.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      status: 'True',
      reason: 'BackupFailed',
    });
  });

  test('a BackupPolicy that is gone holds the contract without creating a Job', () => {
    const w = world();
    w.backupPolicy = { name: 'nightly', found: false };
    w.run((x) => backingUp(x) && condition(x, 'Stalled')?.status === 'True');
    expect(condition(w, 'Stalled')?.reason).toBe('BackupPolicyNotFound');
    expect(w.jobsCreated).toEqual([]);
  });

  test('a breach while backing up rolls back to the previous slot, as in the bake', () => {
    const w = world();
    w.jobOutcome = (name) => (name.includes('-backup-') ? 'Running' : 'Succeeded');
    w.policy = {
      policy: 'standard',
      failureLimit: 1,
      onInconclusive: 'Pause',
      downMigrations: false,
      intervalMs: 10_000,
    };
    w.evaluate = (x) => (x.status.phase === 'BackingUp' ? errors() : pass());
    w.run(done);
    expect(w.status).toMatchObject({ phase: 'RolledBack', activeSlot: 'blue', stableVersion: '1.0.0' });
    expect(w.stable).toBe('blue');
    expect(w.jobsCreated).toEqual([BACKUP]);
  });

  test('kill -9 at any reconcile: one backup Job, adopted after a restart, never duplicated', () => {
    for (let crashAt = 0; crashAt < 40; crashAt++) {
      const w = world();
      w.run(done, (i) => i === crashAt);
      expect(w.status.phase).toBe('Succeeded');
      expect(w.jobsCreated).toEqual([BACKUP, CONTRACT]);
      expect(w.status.history?.[0]?.backupId).toBe(`id-${BACKUP}`);
    }
  });

  test('a backup Job found after a restart that lost the status write is adopted', () => {
    const w = world();
    w.jobOutcome = 'Running';
    w.run((x) => x.status.phase === 'Baking');
    // The Job an earlier process created; its status write never landed.
    w.jobs.set(BACKUP, 'Running');
    w.now += STEP;
    w.run((x) => x.status.backup?.job === BACKUP);
    expect(w.actions.filter((a) => a.type === 'CreateJob')).toEqual([]);
    expect(w.status).toMatchObject({ phase: 'BackingUp', backup: { phase: 'Running', job: BACKUP } });
  });
});

describe('no backup', () => {
  test('a contract that is not destructive goes straight from the bake to Contracting', () => {
    const w = world();
    w.contract = { destructive: false, why: 'no destructive statement' };
    const phases: string[] = [];
    w.run((x) => {
      phases.push(x.status.phase ?? '');
      return done(x);
    });
    expect(phases).not.toContain('BackingUp');
    expect(w.jobsCreated).toEqual([CONTRACT]);
    expect(w.status.backup).toBeUndefined();
    expect(w.status.history?.[0]?.backupId).toBeUndefined();
  });

  test('destructive without a BackupPolicy: a Warning once, and the contract runs', () => {
    const w = world();
    w.backupPolicy = undefined;
    w.run(done);
    expect(w.status.phase).toBe('Succeeded');
    expect(w.jobsCreated).toEqual([CONTRACT]);
    const warnings = events(w, 'ContractWithoutBackup');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ kind: 'Warning' });
    expect(warnings[0]?.message).toContain('002_drop.up.sql:1 drop-column');
  });

  test('the Environment gone and no policy of its own: stalled, not a contract without a backup', () => {
    const w = world();
    w.backupPolicy = undefined;
    w.environmentMissing = true;
    w.run((x) => x.status.conditions?.some((c) => c.type === 'Stalled' && c.status === 'True') ?? false);
    expect(w.status.phase).toBe('BackingUp');
    expect(w.status.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      reason: 'EnvironmentNotFound',
    });
    expect(w.jobsCreated).toEqual([]);
    expect(events(w, 'ContractWithoutBackup')).toHaveLength(0);
  });

  test('a new revision clears the backup of the one before', () => {
    const w = world();
    w.run(done);
    const p = planRelease(spec({ version: '3.0.0', revision: 'rev3' }), w.status, w.observe());
    expect(p.status.backup).toBeUndefined();
    expect(T0).toBeLessThan(w.now);
  });
});
