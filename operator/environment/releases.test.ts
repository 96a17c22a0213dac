import type { Release, ReleaseStatus } from '../api/generated/index.js';
import { jsonEqual } from '../runtime/conditions.js';
import { releasesSummary, succeededAt, type ReleaseView } from './releases.js';

const t0 = new Date('2026-03-02T09:00:00.000Z');

function rel(name: string, version: string, status?: ReleaseStatus): ReleaseView {
  return {
    metadata: { name, namespace: 'shop' },
    spec: {
      environmentRef: { name: 'production' },
      application: name,
      version,
      template: {},
    } as Release['spec'],
    status,
  };
}

const ready = (status: 'True' | 'False', reason: string, message: string) => ({
  type: 'Ready',
  status,
  reason,
  message,
  lastTransitionTime: '2026-03-02T08:00:00Z',
});

describe('succeededAt', () => {
  test('the newest Succeeded record of the current version', () => {
    const r = rel('shop', '2.0.0', {
      phase: 'Succeeded',
      history: [
        { version: '2.0.0', outcome: 'Succeeded', finishedAt: '2026-03-02T08:30:00.000Z' },
        { version: '1.0.0', outcome: 'Succeeded', finishedAt: '2026-03-01T08:30:00.000Z' },
      ],
    });
    expect(succeededAt(r)).toBe('2026-03-02T08:30:00.000Z');
  });

  test('none while the Release is not Succeeded, or when the record is of another version', () => {
    const history = [{ version: '1.0.0', outcome: 'Succeeded' as const, finishedAt: '2026-03-01T08:30:00Z' }];
    expect(succeededAt(rel('shop', '2.0.0', { phase: 'Shifting', history }))).toBeUndefined();
    expect(succeededAt(rel('shop', '2.0.0', { phase: 'Succeeded', history }))).toBeUndefined();
  });
});

describe('releasesSummary', () => {
  const releases = [
    rel('web', '3.0.0', {
      phase: 'Pending',
      conditions: [ready('False', 'ConfigInvalid', '1 configuration rule violated: A: bad')],
    }),
    rel('api', '2.0.0', {
      phase: 'Succeeded',
      history: [{ version: '2.0.0', outcome: 'Succeeded', finishedAt: '2026-03-02T08:30:00.000Z' }],
    }),
    rel('new', '1.0.0'),
  ];

  test('releases by name with phase and succeededAt; waiting ones with their Ready reason', () => {
    const s = releasesSummary({}, releases, 1, t0);
    expect(s.releases).toEqual([
      {
        name: 'api',
        application: 'api',
        version: '2.0.0',
        phase: 'Succeeded',
        succeededAt: '2026-03-02T08:30:00.000Z',
      },
      { name: 'web', application: 'web', version: '3.0.0', phase: 'Pending', succeededAt: undefined },
    ]);
    expect(s.waiting).toEqual([
      {
        name: 'web',
        phase: 'Pending',
        reason: 'ConfigInvalid',
        message: '1 configuration rule violated: A: bad',
      },
    ]);
    expect(s.conditions).toEqual([]);
  });

  test('at most 100 of each, by name', () => {
    const many = Array.from({ length: 150 }, (_, i) =>
      rel(`r${String(i).padStart(3, '0')}`, '1.0.0', { phase: 'WaitingForWindow' }),
    );
    const s = releasesSummary({}, many, 1, t0);
    expect(s.releases).toHaveLength(100);
    expect(s.waiting).toHaveLength(100);
    expect(s.releases?.[0]?.name).toBe('r000');
  });

  test('Drifted=True names the drifted Releases; it goes away when none is', () => {
    const drifted = (name: string) =>
      rel(name, '1.0.0', {
        phase: 'Succeeded',
        conditions: [
          { type: 'Drifted', status: 'True', reason: 'Scaled', message: 'x', lastTransitionTime: '' },
        ],
      });
    const s = releasesSummary({}, [drifted('b'), drifted('a'), ...releases], 1, t0);
    expect(s.conditions?.find((c) => c.type === 'Drifted')).toMatchObject({
      status: 'True',
      reason: 'ReleasesDrifted',
      message: 'Releases a and b drifted from what was declared',
    });
    const after = releasesSummary({ conditions: s.conditions }, releases, 1, t0);
    expect(after.conditions).toEqual([]);
  });

  test('the same Releases give the same summary: nothing to write', () => {
    const a = releasesSummary({}, releases, 1, t0);
    const b = releasesSummary(
      { conditions: a.conditions },
      [...releases].reverse(),
      1,
      new Date(t0.getTime() + 60_000),
    );
    expect(jsonEqual(a, b)).toBe(true);
  });
});
