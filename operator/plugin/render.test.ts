import { describe, expect, it } from '@jest/globals';
import type { PromotionWindow, Release, ReleaseStatus } from '../api/generated/index.js';
import { formatDuration, parseDuration, renderHistory, renderStatus, renderStepBar } from './render.js';

const NOW = new Date('2026-05-01T12:00:00Z');
const before = (seconds: number): string => new Date(NOW.getTime() - seconds * 1000).toISOString();
const DEFAULTS = { steps: [10, 25, 50, 100], stepDuration: '2m' };

function release(status: ReleaseStatus | undefined, spec: Partial<Release['spec']> = {}): Release {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      environmentRef: { name: 'production' },
      application: 'web',
      version: '2.4.0',
      template: { spec: { containers: [{ name: 'app', image: 'example.com/web:2.4.0' }] } },
      migrations: {
        databaseSecretRef: { name: 'web-db', key: 'url' },
        expand: { configMapRef: { name: 'web-expand' } },
        contract: { configMapRef: { name: 'web-contract' } },
      },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

const ready = (status: 'True' | 'False', reason: string, message: string) => ({
  type: 'Ready',
  status,
  reason,
  message,
  lastTransitionTime: before(600),
});

const FIXTURES: Record<string, Release> = {
  pending: release({
    phase: 'Pending',
    activeSlot: 'blue',
    stableVersion: '2.3.1',
    conditions: [ready('False', 'Pending', 'waiting for the Environment gates')],
  }),
  shifting: release({
    phase: 'Shifting',
    activeSlot: 'blue',
    stableVersion: '2.3.1',
    canaryWeight: 25,
    currentStep: 1,
    stepStartedAt: before(90),
    migrations: {
      expand: {
        phase: 'Succeeded',
        job: 'web-expand-7f9c2',
        startedAt: before(400),
        finishedAt: before(355),
      },
      contract: { phase: 'Pending' },
    },
    analysis: {
      policy: 'standard',
      consecutiveFailures: 0,
      lastEvaluation: before(20),
      lastMeasurements: [
        { trigger: 'latency', value: '320ms', threshold: '500ms', result: 'Pass' },
        { trigger: 'errors', value: '0.2%', threshold: '1%', result: 'Pass' },
      ],
    },
    conditions: [
      ready('False', 'Progressing', 'shifting traffic: 25% on 2.4.0'),
      { ...ready('True', 'Progressing', 'step 2 of 4'), type: 'Reconciling' },
    ],
  }),
  baking: release({
    phase: 'Baking',
    activeSlot: 'green',
    stableVersion: '2.3.1',
    canaryWeight: 100,
    currentStep: 3,
    stepStartedAt: before(300),
    migrations: {
      expand: {
        phase: 'Succeeded',
        job: 'web-expand-7f9c2',
        startedAt: before(1400),
        finishedAt: before(1355),
      },
      contract: { phase: 'Pending' },
    },
    analysis: { policy: 'standard', consecutiveFailures: 0, lastEvaluation: before(5) },
    conditions: [ready('False', 'Baking', 'holding 100% for 30m before the contract migration')],
  }),
  succeeded: release(
    {
      phase: 'Succeeded',
      activeSlot: 'green',
      stableVersion: '2.4.0',
      canaryWeight: 100,
      currentStep: 3,
      stepStartedAt: before(7200),
      migrations: {
        expand: {
          phase: 'Succeeded',
          job: 'web-expand-7f9c2',
          startedAt: before(9000),
          finishedAt: before(8955),
        },
        contract: {
          phase: 'Succeeded',
          job: 'web-contract-7f9c2',
          startedAt: before(3600),
          finishedAt: before(3480),
        },
      },
      conditions: [ready('True', 'Succeeded', '2.4.0 serves all traffic')],
    },
    { paused: false },
  ),
  rolledBack: release({
    phase: 'RolledBack',
    activeSlot: 'blue',
    stableVersion: '2.3.1',
    canaryWeight: 0,
    currentStep: 1,
    migrations: { expand: { phase: 'Succeeded', job: 'web-expand-7f9c2' } },
    analysis: { policy: 'standard', consecutiveFailures: 2, lastEvaluation: before(240) },
    rollback: {
      reason: 'error rate above threshold for 2 evaluations',
      metric: 'errors',
      value: '3.2%',
      threshold: '1%',
      at: before(240),
    },
    conditions: [ready('False', 'RolledBack', 'errors 3.2% > 1%; traffic back on 2.3.1')],
  }),
  failed: release({
    phase: 'Failed',
    activeSlot: 'blue',
    stableVersion: '2.3.1',
    migrations: {
      expand: {
        phase: 'Failed',
        job: 'web-expand-7f9c2',
        startedAt: before(130),
        finishedAt: before(100),
        message: '002_add_email.up.sql: ERROR: column "email" of relation "users" already exists',
      },
    },
    conditions: [
      ready('False', 'MigrationFailed', 'expand migration failed; no traffic moved'),
      { ...ready('True', 'MigrationFailed', 'fix the migration and retry'), type: 'Stalled' },
    ],
  }),
};

const render = (name: string, color = false): string => {
  const fixture = FIXTURES[name];
  if (!fixture) throw new Error(`no fixture ${name}`);
  return renderStatus(fixture, { color, now: NOW, defaults: DEFAULTS });
};

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

const lines = (...l: string[]): string => l.join('\n') + '\n';

describe('renderStatus', () => {
  it('shows a pending release with nothing moved yet', () => {
    expect(render('pending')).toBe(
      lines(
        'Release      web (namespace shop)',
        'Application  web',
        'Environment  production',
        'Version      2.4.0 (stable 2.3.1)',
        'Phase        Pending',
        'Active slot  blue',
        'Traffic      [□□□□□□□□□□□□□□□□□□□□] 0%  not started (10 → 25 → 50 → 100)',
        'Migrations   expand   not started',
        '             contract not started',
        'Analysis     none: no RollbackPolicy evaluation in this rollout',
        'Conditions',
        '  TYPE    STATUS   REASON    MESSAGE',
        '  Ready   False    Pending   waiting for the Environment gates',
      ),
    );
  });

  it('shows a release shifting at 25% with the time held at the step', () => {
    expect(render('shifting')).toBe(
      lines(
        'Release      web (namespace shop)',
        'Application  web',
        'Environment  production',
        'Version      2.4.0 (stable 2.3.1)',
        'Phase        Shifting',
        'Active slot  blue',
        'Traffic      [■■■■■□□□□□□□□□□□□□□□] 25%  step 2/4 (10 → 25 → 50 → 100)',
        '             held 1m30s of 2m at this step (30s left)',
        'Migrations   expand   Succeeded  job web-expand-7f9c2, took 45s',
        '             contract Pending',
        'Analysis     policy standard, last evaluation 20s ago, 0 consecutive failures',
        '             TRIGGER   VALUE   THRESHOLD   RESULT',
        '             latency   320ms   500ms       Pass',
        '             errors    0.2%    1%          Pass',
        'Conditions',
        '  TYPE          STATUS   REASON        MESSAGE',
        '  Ready         False    Progressing   shifting traffic: 25% on 2.4.0',
        '  Reconciling   True     Progressing   step 2 of 4',
      ),
    );
  });

  it('shows a baking release at 100% without a step timer', () => {
    expect(render('baking')).toBe(
      lines(
        'Release      web (namespace shop)',
        'Application  web',
        'Environment  production',
        'Version      2.4.0 (stable 2.3.1)',
        'Phase        Baking',
        'Active slot  green',
        'Traffic      [■■■■■■■■■■■■■■■■■■■■] 100%  step 4/4 (10 → 25 → 50 → 100)',
        'Migrations   expand   Succeeded  job web-expand-7f9c2, took 45s',
        '             contract Pending',
        'Analysis     policy standard, last evaluation 5s ago, 0 consecutive failures',
        'Conditions',
        '  TYPE    STATUS   REASON   MESSAGE',
        '  Ready   False    Baking   holding 100% for 30m before the contract migration',
      ),
    );
  });

  it('shows a succeeded release as its own stable version', () => {
    expect(render('succeeded')).toBe(
      lines(
        'Release      web (namespace shop)',
        'Application  web',
        'Environment  production',
        'Version      2.4.0 (stable)',
        'Phase        Succeeded',
        'Active slot  green',
        'Traffic      [■■■■■■■■■■■■■■■■■■■■] 100%  step 4/4 (10 → 25 → 50 → 100)',
        'Migrations   expand   Succeeded  job web-expand-7f9c2, took 45s',
        '             contract Succeeded  job web-contract-7f9c2, took 2m',
        'Analysis     none: no RollbackPolicy evaluation in this rollout',
        'Conditions',
        '  TYPE    STATUS   REASON      MESSAGE',
        '  Ready   True     Succeeded   2.4.0 serves all traffic',
      ),
    );
  });

  it('shows where a rolled-back release stopped and why', () => {
    expect(render('rolledBack')).toBe(
      lines(
        'Release      web (namespace shop)',
        'Application  web',
        'Environment  production',
        'Version      2.4.0 (stable 2.3.1)',
        'Phase        RolledBack',
        'Active slot  blue',
        'Traffic      [□□□□□□□□□□□□□□□□□□□□] 0%  stopped at step 2/4 (10 → 25 → 50 → 100)',
        'Migrations   expand   Succeeded  job web-expand-7f9c2',
        '             contract not started',
        'Analysis     policy standard, last evaluation 4m ago, 2 consecutive failures',
        'Rollback     error rate above threshold for 2 evaluations',
        '             trigger errors, 3.2% against threshold 1%, at 2026-05-01T11:56:00Z (4m ago)',
        'Conditions',
        '  TYPE    STATUS   REASON       MESSAGE',
        '  Ready   False    RolledBack   errors 3.2% > 1%; traffic back on 2.3.1',
      ),
    );
  });

  it('shows the message of a failed migration under its Job', () => {
    expect(render('failed')).toBe(
      lines(
        'Release      web (namespace shop)',
        'Application  web',
        'Environment  production',
        'Version      2.4.0 (stable 2.3.1)',
        'Phase        Failed',
        'Active slot  blue',
        'Traffic      [□□□□□□□□□□□□□□□□□□□□] 0%  stopped before step 1 (10 → 25 → 50 → 100)',
        'Migrations   expand   Failed     job web-expand-7f9c2, took 30s',
        '                      002_add_email.up.sql: ERROR: column "email" of relation "users" already exists',
        '             contract not started',
        'Analysis     none: no RollbackPolicy evaluation in this rollout',
        'Conditions',
        '  TYPE      STATUS   REASON            MESSAGE',
        '  Ready     False    MigrationFailed   expand migration failed; no traffic moved',
        '  Stalled   True     MigrationFailed   fix the migration and retry',
      ),
    );
  });

  it('says so when the operator has not written any status', () => {
    const text = renderStatus(release(undefined, { migrations: undefined }), { color: false, now: NOW });
    expect(text).toContain('Phase        no status yet (is the operator running?)\n');
    expect(text).toContain('Migrations   none\n');
    expect(text).toContain('Conditions   none\n');
  });

  it('prefers the Release steps and hold time over the Environment defaults', () => {
    const r = release(
      { phase: 'Shifting', canaryWeight: 50, currentStep: 0, stepStartedAt: before(200) },
      { traffic: { steps: [50, 100], stepDuration: '5m' } },
    );
    const text = renderStatus(r, { color: false, now: NOW, defaults: DEFAULTS });
    expect(text).toContain('[■■■■■■■■■■□□□□□□□□□□] 50%  step 1/2 (50 → 100)\n');
    expect(text).toContain('held 3m20s of 5m at this step (1m40s left)\n');
  });

  it('uses the built-in steps without an Environment, and one step in Service mode', () => {
    const shifting = { phase: 'Shifting', canaryWeight: 10, currentStep: 0 } as const;
    expect(renderStatus(release(shifting), { color: false, now: NOW })).toContain(
      'step 1/4 (10 → 25 → 50 → 100)',
    );
    const service = release({ ...shifting, canaryWeight: 100 }, { traffic: { mode: 'Service' } });
    expect(renderStatus(service, { color: false, now: NOW })).toContain('100%  step 1/1 (100)\n');
  });

  it('marks a paused rollout', () => {
    const text = renderStatus(release({ phase: 'Shifting' }, { paused: true }), { color: false, now: NOW });
    expect(text).toContain('Phase        Shifting (paused)\n');
  });

  it('writes no escape codes without colour, and only adds escape codes with it', () => {
    for (const name of Object.keys(FIXTURES)) {
      const plain = render(name);
      const colored = render(name, true);
      expect(plain).not.toContain('\x1b');
      expect(colored).toContain('\x1b[');
      expect(colored.replace(ANSI, '')).toBe(plain);
    }
  });

  it('colours the phase by outcome', () => {
    expect(render('succeeded', true)).toContain('\x1b[1;32mSucceeded\x1b[0m');
    expect(render('rolledBack', true)).toContain('\x1b[1;31mRolledBack\x1b[0m');
    expect(render('shifting', true)).toContain('\x1b[1;36mShifting\x1b[0m');
  });
});

describe('the Window line', () => {
  const berlin = (days: PromotionWindow['days'], start = '09:00', end = '16:00'): PromotionWindow => ({
    days,
    start,
    end,
    timeZone: 'Europe/Berlin',
  });
  const pending = FIXTURES.pending as Release;
  const windowLine = (windows: PromotionWindow[], now = NOW, color = false): string | undefined =>
    renderStatus(pending, { color, now, defaults: DEFAULTS, windows })
      .split('\n')
      .find((l) => l.replace(ANSI, '').startsWith('Window'));

  it('sits under the Environment while a window is open and says when it closes', () => {
    // NOW is Friday 1 May 2026, 14:00 in Berlin.
    const out = renderStatus(pending, {
      color: false,
      now: NOW,
      defaults: DEFAULTS,
      windows: [berlin(['Mon', 'Tue', 'Wed', 'Thu', 'Fri'])],
    });
    expect(out.split('\n').slice(2, 5)).toEqual([
      'Environment  production',
      'Window       open until Fri 16:00 Europe/Berlin',
      'Version      2.4.0 (stable 2.3.1)',
    ]);
  });

  it('says when the next window opens and how long that is', () => {
    expect(windowLine([berlin(['Mon'])])).toBe('Window       next opens Mon 09:00 Europe/Berlin (in 2d19h)');
    expect(windowLine([berlin(['Mon'])], new Date('2026-05-04T04:47:00Z'))).toBe(
      'Window       next opens Mon 09:00 Europe/Berlin (in 2h13m)',
    );
  });

  it('shows a window the cluster cannot evaluate instead of guessing', () => {
    const line = windowLine([{ ...berlin(['Mon']), timeZone: 'Europe/Berln' }], NOW, true);
    expect(line).toContain('\x1b[31m');
    expect(line?.replace(ANSI, '')).toBe(
      'Window       invalid: windows[0]: unknown time zone "Europe/Berln"',
    );
  });

  it('says so when the windows leave no gap in the week', () => {
    const all: PromotionWindow['days'] = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
    expect(windowLine([berlin(all, '00:00', '12:00'), berlin(all, '12:00', '00:00')])).toBe(
      'Window       open at any time (the windows cover the whole week)',
    );
  });

  it('is left out without windows (none declared, or no Environment found)', () => {
    expect(windowLine([])).toBeUndefined();
    expect(render('pending')).not.toContain('Window');
  });

  it('colours only the waiting state, without moving anything', () => {
    const colored = windowLine([berlin(['Mon'])], NOW, true) ?? '';
    expect(colored).toContain('\x1b[33mnext opens');
    expect(colored.replace(ANSI, '')).toBe(windowLine([berlin(['Mon'])]));
  });
});

describe('renderStepBar', () => {
  const steps = [10, 25, 50, 100];

  it('fills one cell per 5% and names the step being held', () => {
    expect(renderStepBar({ steps, weight: 10, currentStep: 0 }, { color: false })).toBe(
      '[■■□□□□□□□□□□□□□□□□□□] 10%  step 1/4 (10 → 25 → 50 → 100)',
    );
    expect(renderStepBar({ steps, weight: 25, currentStep: 1 }, { color: false, width: 12 })).toBe(
      '[■■■□□□□□□□□□] 25%  step 2/4 (10 → 25 → 50 → 100)',
    );
  });

  it('highlights the current step only when colouring', () => {
    const bar = renderStepBar({ steps, weight: 25, currentStep: 1 }, { color: true });
    expect(bar).toContain('(10 → \x1b[1;36m25\x1b[0m → 50 → 100)');
    expect(bar.replace(ANSI, '')).toBe(
      renderStepBar({ steps, weight: 25, currentStep: 1 }, { color: false }),
    );
  });

  it('clamps weights outside 0-100 and ignores a step index out of range', () => {
    expect(renderStepBar({ steps, weight: 140, currentStep: 9 }, { color: false, width: 4 })).toBe(
      '[■■■■] 100%  not started (10 → 25 → 50 → 100)',
    );
    expect(renderStepBar({ steps, weight: -5 }, { color: false, width: 4 })).toBe(
      '[□□□□] 0%  not started (10 → 25 → 50 → 100)',
    );
  });
});

describe('renderHistory', () => {
  it('lists rollouts newest first with their durations', () => {
    const r = release({
      history: [
        {
          version: '2.2.0',
          outcome: 'Succeeded',
          startedAt: before(86_400 * 3),
          finishedAt: before(86_400 * 3 - 754),
        },
        { version: '2.4.0', outcome: 'RolledBack', startedAt: before(600), finishedAt: before(240) },
        {
          version: '2.3.1',
          outcome: 'Succeeded',
          startedAt: before(86_400),
          finishedAt: before(86_400 - 3700),
        },
        { version: '2.3.0', outcome: 'Aborted', startedAt: before(90_000) },
      ],
    });
    expect(renderHistory(r, { color: false })).toBe(
      lines(
        'VERSION   OUTCOME      STARTED                FINISHED               DURATION',
        '2.4.0     RolledBack   2026-05-01T11:50:00Z   2026-05-01T11:56:00Z   6m',
        '2.3.1     Succeeded    2026-04-30T12:00:00Z   2026-04-30T13:01:40Z   1h1m',
        '2.3.0     Aborted      2026-04-30T11:00:00Z   -                      -',
        '2.2.0     Succeeded    2026-04-28T12:00:00Z   2026-04-28T12:12:34Z   12m34s',
      ),
    );
  });

  it('colours outcomes without moving the columns', () => {
    const r = release({
      history: [{ version: '2.4.0', outcome: 'Failed', startedAt: before(60), finishedAt: before(30) }],
    });
    const colored = renderHistory(r, { color: true });
    expect(colored).toContain('\x1b[31mFailed\x1b[0m');
    expect(colored.replace(ANSI, '')).toBe(renderHistory(r, { color: false }));
  });

  it('says when there is no history', () => {
    expect(renderHistory(release({ phase: 'Pending' }), { color: false })).toBe(
      'No finished rollouts recorded for release "web" yet.\n',
    );
  });
});

describe('durations', () => {
  it('parses the Go durations the CRD admits', () => {
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1500ms')).toBe(1_500);
    expect(parseDuration('2 minutes')).toBeUndefined();
  });

  it('formats the two largest units, dropping a zero second unit', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(-5_000)).toBe('0s');
    expect(formatDuration(45_900)).toBe('45s');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(3_605_000)).toBe('1h');
    expect(formatDuration(86_400_000 * 3 + 3_600_000 * 4 + 60_000)).toBe('3d4h');
  });
});
