// judge() for triggers relative to the stable slot: either part failing fails.
import type { Trigger } from '../api/generated/index.js';
import type { Reading } from './types.js';
import { judge, type Sample, type TriggerInput } from './verdict.js';

const ok = (value: number): Sample => ({ ok: true, value });
const none = (reason: string): Sample => ({ ok: false, reason });
const busy = ok(50);

const slower: Trigger = { name: 'slower', builtin: 'LatencyP95', relativeTo: 'Stable', maxIncrease: '10%' };
const both: Trigger = { ...slower, name: 'both', threshold: '500ms' };
const queueGrowth: Trigger = { name: 'growth', query: 'q', relativeTo: 'Stable', maxIncrease: '50%' };

describe('judge, relative to the stable slot', () => {
  const stable = (value: Sample, requestRate: Sample = busy) => ({ value, requestRate });

  test.each<[string, TriggerInput, Partial<Reading>, string?]>([
    [
      '5% slower passes',
      { trigger: slower, value: ok(0.105), requestRate: busy, stable: stable(ok(0.1)) },
      { result: 'Pass', value: '105ms', baseline: '100ms', threshold: '+10% over stable' },
    ],
    [
      'exactly +10% passes',
      { trigger: slower, value: ok(0.11), requestRate: busy, stable: stable(ok(0.1)) },
      { result: 'Pass' },
    ],
    [
      '60% slower fails',
      { trigger: slower, value: ok(0.16), requestRate: busy, stable: stable(ok(0.1)) },
      { result: 'Fail', value: '160ms', baseline: '100ms' },
      'slower: LatencyP95 160ms +60% over stable 100ms (max +10%)',
    ],
    [
      'faster passes',
      { trigger: slower, value: ok(0.05), requestRate: busy, stable: stable(ok(0.1)) },
      { result: 'Pass' },
    ],
    [
      '0 against 0 passes',
      { trigger: queueGrowth, value: ok(0), stable: stable(ok(0)) },
      { result: 'Pass', value: '0', baseline: '0' },
    ],
    [
      'anything against 0 is beyond every maxIncrease',
      { trigger: queueGrowth, value: ok(3), stable: stable(ok(0)) },
      { result: 'Fail', baseline: '0' },
      'growth: 3 where the stable slot has 0',
    ],
    [
      'a negative baseline still reads as an increase',
      { trigger: queueGrowth, value: ok(-1), stable: stable(ok(-4)) },
      { result: 'Fail', baseline: '-4' },
      'growth: -1 +75% over stable -4 (max +50%)',
    ],
    [
      'no stable slot on a first rollout',
      { trigger: slower, value: ok(0.16), requestRate: busy },
      { result: 'Inconclusive', value: '160ms', reason: 'no stable slot to compare with (first rollout)' },
    ],
    [
      'too little traffic to the stable slot',
      { trigger: slower, value: ok(0.16), requestRate: busy, stable: stable(ok(0.1), ok(0.3)) },
      { result: 'Inconclusive', reason: '0.3 req/s to the stable slot, below minRequestRate 1' },
    ],
    [
      'too little traffic to the new slot holds back the relative part too',
      { trigger: slower, value: ok(0.16), requestRate: ok(0.5), stable: stable(ok(0.1)) },
      { result: 'Inconclusive', reason: '0.5 req/s to the new slot, below minRequestRate 1' },
    ],
    [
      'no baseline data',
      { trigger: slower, value: ok(0.16), requestRate: busy, stable: stable(none('the query returned NaN')) },
      { result: 'Inconclusive', reason: 'stable slot: the query returned NaN' },
    ],
    [
      'a maxIncrease that bypassed the schema',
      {
        trigger: { ...slower, maxIncrease: 'ten' },
        value: ok(0.1),
        requestRate: busy,
        stable: stable(ok(0.1)),
      },
      { result: 'Inconclusive', baseline: '100ms', reason: 'invalid maxIncrease "ten"' },
    ],
    // A threshold and a relative part: either failing fails.
    [
      'both pass',
      { trigger: both, value: ok(0.3), requestRate: busy, stable: stable(ok(0.3)) },
      { result: 'Pass', threshold: '500ms, +10% over stable' },
    ],
    [
      'only the threshold fails',
      { trigger: both, value: ok(0.6), requestRate: busy, stable: stable(ok(0.6)) },
      { result: 'Fail' },
      'both: LatencyP95 600ms > 500ms',
    ],
    [
      'only the relative part fails',
      { trigger: both, value: ok(0.3), requestRate: busy, stable: stable(ok(0.1)) },
      { result: 'Fail' },
      'both: LatencyP95 300ms +200% over stable 100ms (max +10%)',
    ],
    [
      'both fail',
      { trigger: both, value: ok(0.612), requestRate: busy, stable: stable(ok(0.38)) },
      { result: 'Fail' },
      'both: LatencyP95 612ms > 500ms, +61.05% over stable 380ms (max +10%)',
    ],
    [
      'a failing threshold is not excused by a missing stable slot',
      { trigger: both, value: ok(0.6), requestRate: busy },
      { result: 'Fail' },
      'both: LatencyP95 600ms > 500ms',
    ],
    [
      'a passing threshold is Inconclusive without a stable slot',
      { trigger: both, value: ok(0.3), requestRate: busy },
      { result: 'Inconclusive', reason: 'no stable slot to compare with (first rollout)' },
    ],
  ])('%s', (_what, input, reading, ...breach) => {
    // A rest parameter: jest would take a fourth one missing from a row for a done callback.
    const judgement = judge(input, 1);
    expect(judgement.reading).toMatchObject(reading);
    expect(judgement.breach).toBe(breach[0]);
  });
});
