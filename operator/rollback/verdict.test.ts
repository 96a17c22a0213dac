import type { Trigger } from '../api/generated/index.js';
import type { Reading } from './types.js';
import { evaluationOf, judge, sampleOf, type Sample, type TriggerInput } from './verdict.js';

const ok = (value: number): Sample => ({ ok: true, value });
const none = (reason: string): Sample => ({ ok: false, reason });

const latency: Trigger = { name: 'latency', builtin: 'LatencyP95', threshold: '500ms' };
const errors: Trigger = { name: 'errors', builtin: 'ErrorRate', threshold: '1%' };
const cpu: Trigger = { name: 'cpu', builtin: 'CPU', threshold: '90%' };
const pool: Trigger = { name: 'pool', builtin: 'DatabasePool', threshold: '80%' };
const queue: Trigger = { name: 'queue', query: 'q', above: 100, below: 1 };

describe('sampleOf', () => {
  test.each<[string, Parameters<typeof sampleOf>[0], Sample]>([
    ['one number', { ok: true, series: [{ labels: {}, value: 0.5 }] }, ok(0.5)],
    ['zero', { ok: true, series: [{ labels: { a: 'b' }, value: 0 }] }, ok(0)],
    ['no series', { ok: true, series: [] }, none('no data: the query returned no series')],
    [
      'several series',
      { ok: true, series: [1, 2, 3].map((value) => ({ labels: {}, value })) },
      none('the query returned 3 series where one number is expected'),
    ],
    ['NaN', { ok: true, series: [{ labels: {}, value: Number.NaN }] }, none('the query returned NaN')],
    ['+Inf', { ok: true, series: [{ labels: {}, value: Infinity }] }, none('the query returned +Inf')],
    ['-Inf', { ok: true, series: [{ labels: {}, value: -Infinity }] }, none('the query returned -Inf')],
    ['a query error', { ok: false, error: 'Prometheus at x: timeout' }, none('Prometheus at x: timeout')],
  ])('%s', (_what, result, sample) => {
    expect(sampleOf(result)).toEqual(sample);
  });
});

const busy = ok(50);

describe('judge', () => {
  test.each<[string, TriggerInput, Reading, string?]>([
    // Thresholds.
    [
      'latency under its threshold',
      { trigger: latency, value: ok(0.3), requestRate: busy },
      { trigger: 'latency', result: 'Pass', value: '300ms', threshold: '500ms' },
    ],
    [
      'latency over its threshold',
      { trigger: latency, value: ok(0.612), requestRate: busy },
      { trigger: 'latency', result: 'Fail', value: '612ms', threshold: '500ms' },
      'latency: LatencyP95 612ms > 500ms',
    ],
    [
      'exactly at the threshold is no breach',
      { trigger: errors, value: ok(0.01), requestRate: busy },
      { trigger: 'errors', result: 'Pass', value: '1%', threshold: '1%' },
    ],
    [
      'error rate over its threshold',
      { trigger: errors, value: ok(0.05), requestRate: busy },
      { trigger: 'errors', result: 'Fail', value: '5%', threshold: '1%' },
      'errors: ErrorRate 5% > 1%',
    ],
    [
      'CPU over its threshold',
      { trigger: cpu, value: ok(0.95) },
      { trigger: 'cpu', result: 'Fail', value: '95%', threshold: '90%' },
      'cpu: CPU 95% > 90%',
    ],
    [
      'a pool under its threshold',
      { trigger: pool, value: ok(0.3) },
      { trigger: 'pool', result: 'Pass', value: '30%', threshold: '80%' },
    ],
    // Custom queries.
    [
      'a query inside its band',
      { trigger: queue, value: ok(42) },
      { trigger: 'queue', result: 'Pass', value: '42', threshold: '< 1 or > 100' },
    ],
    [
      'a query above',
      { trigger: queue, value: ok(120) },
      { trigger: 'queue', result: 'Fail', value: '120', threshold: '< 1 or > 100' },
      'queue: 120 > 100',
    ],
    [
      'a query below',
      { trigger: queue, value: ok(0.25) },
      { trigger: 'queue', result: 'Fail', value: '0.25', threshold: '< 1 or > 100' },
      'queue: 0.25 < 1',
    ],
    // Too little traffic.
    [
      'latency with too little traffic to the new slot',
      { trigger: latency, value: ok(2), requestRate: ok(0.4) },
      {
        trigger: 'latency',
        result: 'Inconclusive',
        value: '2000ms',
        threshold: '500ms',
        reason: '0.4 req/s to the new slot, below minRequestRate 1',
      },
    ],
    [
      'an error rate with no traffic at all',
      { trigger: errors, value: none('the query returned NaN'), requestRate: ok(0) },
      {
        trigger: 'errors',
        result: 'Inconclusive',
        threshold: '1%',
        reason: '0 req/s to the new slot, below minRequestRate 1',
      },
    ],
    [
      'an unknown request rate',
      { trigger: errors, value: ok(0), requestRate: none('Prometheus at p: no answer within 5000ms') },
      {
        trigger: 'errors',
        result: 'Inconclusive',
        value: '0%',
        threshold: '1%',
        reason: 'request rate of the new slot unknown: Prometheus at p: no answer within 5000ms',
      },
    ],
    [
      'CPU does not depend on traffic',
      { trigger: cpu, value: ok(0.5), requestRate: ok(0) },
      { trigger: 'cpu', result: 'Pass', value: '50%', threshold: '90%' },
    ],
    // No value.
    [
      'no data',
      { trigger: latency, value: none('no data: the query returned no series'), requestRate: busy },
      {
        trigger: 'latency',
        result: 'Inconclusive',
        threshold: '500ms',
        reason: 'no data: the query returned no series',
      },
    ],
    [
      'no limits for CPU',
      { trigger: cpu, value: none('the pod template sets no CPU limit or request on some container') },
      {
        trigger: 'cpu',
        result: 'Inconclusive',
        threshold: '90%',
        reason: 'the pod template sets no CPU limit or request on some container',
      },
    ],
    [
      'a threshold that bypassed the schema',
      { trigger: { ...cpu, threshold: '90ms' }, value: ok(0.5) },
      {
        trigger: 'cpu',
        result: 'Inconclusive',
        value: '50%',
        threshold: '90ms',
        reason: 'threshold "90ms" must be a percentage',
      },
    ],
    [
      'a builtin with nothing to compare with',
      { trigger: { name: 'bare', builtin: 'Memory' }, value: ok(0.5) },
      {
        trigger: 'bare',
        result: 'Inconclusive',
        value: '50%',
        reason: 'nothing to compare with: the trigger sets no threshold',
      },
    ],
  ])('%s', (_what, input, reading, ...breach) => {
    // A rest parameter: jest would take a fourth one missing from a row for a done callback.
    const judgement = judge(input, 1);
    expect(judgement.reading).toEqual(reading);
    expect(judgement.breach).toBe(breach[0]);
  });

  test('minRequestRate 0 never holds a trigger back', () => {
    const judgement = judge({ trigger: errors, value: ok(0), requestRate: ok(0) }, 0);
    expect(judgement.reading.result).toBe('Pass');
  });

  test('a reason too long for the status is clipped', () => {
    const judgement = judge({ trigger: cpu, value: none('x'.repeat(300)) }, 1);
    expect(judgement.reading.reason).toHaveLength(256);
    expect(judgement.reading.reason?.endsWith('…')).toBe(true);
  });
});

describe('evaluationOf', () => {
  const at = new Date('2026-03-02T09:00:00Z');
  const pass = judge({ trigger: cpu, value: ok(0.5) }, 1);
  const fail = judge({ trigger: errors, value: ok(0.05), requestRate: busy }, 1);
  const fail2 = judge({ trigger: latency, value: ok(0.612), requestRate: busy }, 1);
  const quiet = judge({ trigger: latency, value: ok(0.3), requestRate: ok(0.4) }, 1);
  const noPool = judge({ trigger: pool, value: none('no database URL') }, 1);

  test.each([
    [[pass, pass, pass], 'Pass', '3 triggers pass'],
    [[pass], 'Pass', '1 trigger passes'],
    [
      [pass, quiet],
      'Inconclusive',
      'latency: Inconclusive (0.4 req/s to the new slot, below minRequestRate 1)',
    ],
    [
      [quiet, noPool],
      'Inconclusive',
      'latency: Inconclusive (0.4 req/s to the new slot, below minRequestRate 1); pool: Inconclusive (no database URL)',
    ],
    [[pass, fail, quiet], 'Fail', 'errors: ErrorRate 5% > 1%'],
    [[fail, fail2], 'Fail', 'errors: ErrorRate 5% > 1%; latency: LatencyP95 612ms > 500ms'],
    [[], 'Inconclusive', 'the policy has no triggers'],
  ] as const)('%#: %s', (judgements, verdict, message) => {
    const evaluation = evaluationOf(judgements, at);
    expect(evaluation).toEqual({
      at,
      verdict,
      message,
      readings: judgements.map((j) => j.reading),
      measurements: judgements.flatMap((j) => j.measurements ?? []),
    });
  });
});
