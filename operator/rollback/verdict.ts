// From the numbers an evaluation read to what it concludes: one Reading per
// trigger, and one verdict for the policy. Pure; analyze.ts does the reading.
import type { Trigger } from '../api/generated/index.js';
import {
  describeThreshold,
  formatNumber,
  formatPercent,
  formatValue,
  parsePercent,
  parseThreshold,
  unitOf,
} from './format.js';
import type { QueryResult } from './prometheus.js';
import type { Evaluation, Measurement, Reading, Result, Signal } from './types.js';

/** A number read for one slot, or why there is none. */
export type Sample = { ok: true; value: number } | { ok: false; reason: string };

export interface TriggerInput {
  trigger: Trigger;
  /** The new slot's value. */
  value: Sample;
  /** Requests per second to the new slot; read for triggers gatedByTraffic when minRequestRate > 0. */
  requestRate?: Sample;
  /** For a relative trigger, the stable slot's readings; absent on a first rollout. */
  stable?: { value: Sample; requestRate?: Sample };
}

/** A reading, and for a Fail what breached, in words. */
export interface Judgement {
  reading: Reading;
  breach?: string;
  /** The numbers it stood on, by slot. */
  measurements?: Measurement[];
}

// The lengths status.analysis allows for a reason and a message.
const MAX_REASON = 256;
const MAX_MESSAGE = 1024;

/** Signals that mean nothing without traffic: a p95 of three requests is noise. */
export function gatedByTraffic(trigger: Trigger): boolean {
  return trigger.builtin === 'LatencyP95' || trigger.builtin === 'ErrorRate';
}

/** The one number a query should return, or why it did not. */
export function sampleOf(result: QueryResult): Sample {
  if (!result.ok) return { ok: false, reason: result.error };
  const [first, ...more] = result.series;
  if (!first) return { ok: false, reason: 'no data: the query returned no series' };
  if (more.length > 0) {
    return { ok: false, reason: `the query returned ${more.length + 1} series where one number is expected` };
  }
  if (Number.isNaN(first.value)) return { ok: false, reason: 'the query returned NaN' };
  if (!Number.isFinite(first.value)) {
    return { ok: false, reason: `the query returned ${first.value > 0 ? '+Inf' : '-Inf'}` };
  }
  return { ok: true, value: first.value };
}

type Part =
  { result: 'Pass' } | { result: 'Fail'; breach: string } | { result: 'Inconclusive'; reason: string };

export function judge(input: TriggerInput, minRequestRate: number): Judgement {
  const judgement = readingOf(input, minRequestRate);
  const measurements = measurementsOf(input, minRequestRate);
  return measurements.length > 0 ? { ...judgement, measurements } : judgement;
}

function signalOf(trigger: Trigger): Signal {
  return trigger.builtin ?? 'Query';
}

/**
 * The values a verdict could stand on: a slot's latency or error rate from
 * less traffic than minRequestRate is noise the verdict ignores, so no alert
 * should read it either.
 */
function measurementsOf(input: TriggerInput, minRequestRate: number): Measurement[] {
  const { trigger, value, stable } = input;
  const out: Measurement[] = [];
  const add = (slot: Measurement['slot'], sample: Sample, rate: Sample | undefined): void => {
    if (!sample.ok || tooQuiet(trigger, rate, slot, minRequestRate) !== undefined) return;
    out.push({ trigger: trigger.name, signal: signalOf(trigger), slot, value: sample.value });
  };
  add('new', value, input.requestRate);
  if (trigger.relativeTo !== undefined && stable !== undefined)
    add('stable', stable.value, stable.requestRate);
  return out;
}

function readingOf(input: TriggerInput, minRequestRate: number): Judgement {
  const { trigger, value } = input;
  const unit = unitOf(trigger);
  const threshold = describeThreshold(trigger);
  const reading: Reading = { trigger: trigger.name, result: 'Inconclusive' };
  if (value.ok) reading.value = formatValue(value.value, unit);
  if (threshold !== undefined) reading.threshold = threshold;
  const inconclusive = (reason: string): Judgement => ({
    reading: { ...reading, reason: clip(reason, MAX_REASON) },
  });

  const quiet = tooQuiet(trigger, input.requestRate, 'new', minRequestRate);
  if (quiet !== undefined) return inconclusive(quiet);
  if (!value.ok) return inconclusive(value.reason);

  const parts: Part[] = [];
  try {
    parts.push(...limitParts(trigger, value.value));
  } catch (err) {
    return inconclusive(err instanceof Error ? err.message : String(err));
  }
  if (trigger.relativeTo !== undefined) {
    const relative = relativePart(input, value.value, minRequestRate);
    if (relative.baseline !== undefined) reading.baseline = relative.baseline;
    parts.push(relative.part);
  }
  if (parts.length === 0) return inconclusive('nothing to compare with: the trigger sets no threshold');

  const breaches = parts.flatMap((p) => (p.result === 'Fail' ? [p.breach] : []));
  if (breaches.length > 0) {
    const label = trigger.builtin === undefined ? '' : `${trigger.builtin} `;
    return {
      reading: { ...reading, result: 'Fail' },
      breach: `${trigger.name}: ${label}${reading.value ?? ''} ${breaches.join(', ')}`,
    };
  }
  const reasons = parts.flatMap((p) => (p.result === 'Inconclusive' ? [p.reason] : []));
  return reasons.length > 0 ? inconclusive(reasons.join('; ')) : { reading: { ...reading, result: 'Pass' } };
}

/** Why there is too little traffic to judge a slot by, if the trigger's signal needs traffic and there is. */
function tooQuiet(
  trigger: Trigger,
  rate: Sample | undefined,
  slot: 'new' | 'stable',
  minRequestRate: number,
): string | undefined {
  if (!gatedByTraffic(trigger) || !(minRequestRate > 0) || rate === undefined) return undefined;
  if (!rate.ok) return `request rate of the ${slot} slot unknown: ${rate.reason}`;
  if (rate.value >= minRequestRate) return undefined;
  return `${formatNumber(rate.value)} req/s to the ${slot} slot, below minRequestRate ${formatNumber(minRequestRate)}`;
}

function limitParts(trigger: Trigger, value: number): Part[] {
  const parts: Part[] = [];
  if (trigger.builtin !== undefined && trigger.threshold !== undefined) {
    const limit = parseThreshold(trigger.threshold, unitOf(trigger));
    parts.push(value > limit ? { result: 'Fail', breach: `> ${trigger.threshold}` } : { result: 'Pass' });
  }
  if (trigger.query !== undefined && trigger.above !== undefined) {
    parts.push(value > trigger.above ? { result: 'Fail', breach: `> ${trigger.above}` } : { result: 'Pass' });
  }
  if (trigger.query !== undefined && trigger.below !== undefined) {
    parts.push(value < trigger.below ? { result: 'Fail', breach: `< ${trigger.below}` } : { result: 'Pass' });
  }
  return parts;
}

function relativePart(
  input: TriggerInput,
  value: number,
  minRequestRate: number,
): { part: Part; baseline?: string } {
  const { trigger, stable } = input;
  const unsure = (reason: string): Part => ({ result: 'Inconclusive', reason });
  if (stable === undefined) return { part: unsure('no stable slot to compare with (first rollout)') };
  const quiet = tooQuiet(trigger, stable.requestRate, 'stable', minRequestRate);
  if (quiet !== undefined) return { part: unsure(quiet) };
  if (!stable.value.ok) return { part: unsure(`stable slot: ${stable.value.reason}`) };

  const base = stable.value.value;
  const baseline = formatValue(base, unitOf(trigger));
  let allowed: number;
  try {
    allowed = parsePercent(trigger.maxIncrease ?? '');
  } catch {
    return { part: unsure(`invalid maxIncrease "${trigger.maxIncrease ?? ''}"`), baseline };
  }
  // Any increase over a stable slot at 0 (no errors, say) is beyond every maxIncrease. Inconclusive
  // here would hold every rollout of a healthy application, whose stable slot mostly serves no errors.
  if (base === 0) {
    if (!(value > 0)) return { part: { result: 'Pass' }, baseline };
    const breach = `where the stable slot has ${baseline}`;
    return { part: { result: 'Fail', breach }, baseline };
  }
  // Against |base| so a negative baseline (a custom query) still reads as an increase.
  const increase = (value - base) / Math.abs(base);
  if (!(increase > allowed)) return { part: { result: 'Pass' }, baseline };
  const breach = `+${formatPercent(increase)} over stable ${baseline} (max +${trigger.maxIncrease ?? ''})`;
  return { part: { result: 'Fail', breach }, baseline };
}

/** The verdict of all readings: any Fail fails, else any Inconclusive is Inconclusive. */
export function evaluationOf(judgements: readonly Judgement[], at: Date): Evaluation {
  const readings = judgements.map((j) => j.reading);
  const count = (r: Result): number => readings.filter((reading) => reading.result === r).length;
  const verdict: Result = count('Fail') > 0 ? 'Fail' : count('Inconclusive') > 0 ? 'Inconclusive' : 'Pass';
  let message: string;
  if (readings.length === 0) message = 'the policy has no triggers';
  else if (verdict === 'Fail') message = judgements.flatMap((j) => (j.breach ? [j.breach] : [])).join('; ');
  else if (verdict === 'Inconclusive') {
    message = readings
      .filter((r) => r.result === 'Inconclusive')
      .map((r) => `${r.trigger}: Inconclusive (${r.reason ?? 'no reason given'})`)
      .join('; ');
  } else message = readings.length === 1 ? '1 trigger passes' : `${readings.length} triggers pass`;
  return {
    at,
    verdict: readings.length === 0 ? 'Inconclusive' : verdict,
    readings,
    message: clip(message, MAX_MESSAGE),
    measurements: judgements.flatMap((j) => j.measurements ?? []),
  };
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
