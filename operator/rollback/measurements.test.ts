// The numbers judge() hands on for the operator's gauges: only those a verdict could stand on.
import type { Trigger } from '../api/generated/index.js';
import type { Measurement } from './types.js';
import { evaluationOf, judge, type Sample, type TriggerInput } from './verdict.js';

const ok = (value: number): Sample => ({ ok: true, value });
const none = (reason: string): Sample => ({ ok: false, reason });
const busy = ok(50);
const quiet = ok(0.2);

const latency: Trigger = { name: 'latency', builtin: 'LatencyP95', relativeTo: 'Stable', maxIncrease: '10%' };
const memory: Trigger = { name: 'memory', builtin: 'Memory', threshold: '90%' };
const growth: Trigger = { name: 'growth', query: 'q', relativeTo: 'Stable', maxIncrease: '50%' };
const pool: Trigger = { name: 'pool', builtin: 'DatabasePool', threshold: '95%' };

describe('measurements of a judgement', () => {
  test.each<[string, TriggerInput, Measurement[]]>([
    [
      'a relative latency: both slots',
      { trigger: latency, value: ok(0.13), requestRate: busy, stable: { value: ok(0.1), requestRate: busy } },
      [
        { trigger: 'latency', signal: 'LatencyP95', slot: 'new', value: 0.13 },
        { trigger: 'latency', signal: 'LatencyP95', slot: 'stable', value: 0.1 },
      ],
    ],
    [
      'a latency from too little traffic to the new slot: only the stable one',
      { trigger: latency, value: ok(0.9), requestRate: quiet, stable: { value: ok(0.1), requestRate: busy } },
      [{ trigger: 'latency', signal: 'LatencyP95', slot: 'stable', value: 0.1 }],
    ],
    [
      'a stable slot with too little traffic: only the new one',
      {
        trigger: latency,
        value: ok(0.13),
        requestRate: busy,
        stable: { value: ok(0.1), requestRate: quiet },
      },
      [{ trigger: 'latency', signal: 'LatencyP95', slot: 'new', value: 0.13 }],
    ],
    [
      'a first rollout: no stable slot',
      { trigger: latency, value: ok(0.13), requestRate: busy },
      [{ trigger: 'latency', signal: 'LatencyP95', slot: 'new', value: 0.13 }],
    ],
    [
      'an absolute memory trigger: the new slot, not gated by traffic',
      { trigger: memory, value: ok(0.85) },
      [{ trigger: 'memory', signal: 'Memory', slot: 'new', value: 0.85 }],
    ],
    [
      'a custom query, both slots',
      { trigger: growth, value: ok(-3), stable: { value: ok(-4) } },
      [
        { trigger: 'growth', signal: 'Query', slot: 'new', value: -3 },
        { trigger: 'growth', signal: 'Query', slot: 'stable', value: -4 },
      ],
    ],
    ['nothing read', { trigger: pool, value: none('no database URL') }, []],
    [
      'a stable reading that failed',
      {
        trigger: latency,
        value: ok(0.13),
        requestRate: busy,
        stable: { value: none('timeout'), requestRate: busy },
      },
      [{ trigger: 'latency', signal: 'LatencyP95', slot: 'new', value: 0.13 }],
    ],
  ])('%s', (_what, input, measurements) => {
    expect(judge(input, 1).measurements ?? []).toEqual(measurements);
  });

  test('a stable value read for a trigger not relative to it is not a baseline', () => {
    const judgement = judge({ trigger: memory, value: ok(0.5), stable: { value: ok(0.4) } }, 1);
    expect(judgement.measurements?.map((m) => m.slot)).toEqual(['new']);
  });

  test('minRequestRate 0 keeps a latency from a quiet slot', () => {
    const judgement = judge({ trigger: latency, value: ok(0.13), requestRate: ok(0) }, 0);
    expect(judgement.measurements).toHaveLength(1);
  });

  test('an evaluation carries the measurements of every judgement, in trigger order', () => {
    const at = new Date('2026-03-02T09:00:00Z');
    const evaluation = evaluationOf(
      [
        judge({ trigger: memory, value: ok(0.85) }, 1),
        judge({ trigger: pool, value: none('no database URL') }, 1),
        judge({ trigger: pool, value: ok(0.4) }, 1),
      ],
      at,
    );
    expect(evaluation.measurements).toEqual([
      { trigger: 'memory', signal: 'Memory', slot: 'new', value: 0.85 },
      { trigger: 'pool', signal: 'DatabasePool', slot: 'new', value: 0.4 },
    ]);
  });
});
