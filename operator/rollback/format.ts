// Thresholds as RollbackPolicies write them, and readings written back the
// same way, so `612ms` is read against `500ms` and `0.52%` against `1%`.
import type { Trigger } from '../api/generated/index.js';

/** How a trigger's numbers are written: seconds as ms, ratios as %, query results as they are. */
export type Unit = 'seconds' | 'ratio' | 'number';

export function unitOf(trigger: Trigger): Unit {
  if (trigger.builtin === 'LatencyP95') return 'seconds';
  return trigger.builtin === undefined ? 'number' : 'ratio';
}

const THRESHOLD = /^(\d+(?:\.\d+)?)(ms|s|%)$/;
const UNIT_OF_SUFFIX = { ms: 'seconds', s: 'seconds', '%': 'ratio' } as const;
const SCALE = { ms: 1e-3, s: 1, '%': 1e-2 } as const;

/**
 * A builtin threshold in the unit its signal is measured in: `500ms` → 0.5
 * (seconds), `1.5s` → 1.5, `1%` → 0.01. Throws when the text is malformed
 * or in the wrong unit for the signal; the CRD schema rejects both, so this
 * only fires for a policy that bypassed it.
 */
export function parseThreshold(text: string, unit: Unit): number {
  const match = THRESHOLD.exec(text);
  const suffix = match?.[2] as keyof typeof SCALE | undefined;
  if (!match || !suffix) throw new Error(`invalid threshold "${text}"`);
  if (UNIT_OF_SUFFIX[suffix] !== unit) {
    throw new Error(`threshold "${text}" must be ${unit === 'seconds' ? 'a duration' : 'a percentage'}`);
  }
  return Number(match[1]) * SCALE[suffix];
}

/** `10%` → 0.1, for maxIncrease. */
export function parsePercent(text: string): number {
  const match = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (!match) throw new Error(`invalid percentage "${text}"`);
  return Number(match[1]) / 100;
}

// Digits after the point stop being informative beyond this.
const MAX_DECIMALS = 6;

/**
 * Two decimals, or two significant digits below 1, trailing zeros dropped:
 * 5, 12.35, 0.52, 0.0012. Enough to compare with a threshold, few enough
 * to read in a status line.
 */
export function formatNumber(n: number): string {
  const abs = Math.abs(n);
  const decimals = abs >= 1 || abs === 0 ? 2 : Math.min(MAX_DECIMALS, 1 - Math.floor(Math.log10(abs)));
  const rounded = Number(n.toFixed(decimals));
  return String(rounded === 0 ? 0 : rounded);
}

export function formatPercent(ratio: number): string {
  return `${formatNumber(ratio * 100)}%`;
}

/** Milliseconds with at most one decimal: 0.612 → `612ms`, 0.0125 → `12.5ms`. */
export function formatLatency(seconds: number): string {
  const ms = Number((seconds * 1000).toFixed(1));
  return `${ms === 0 ? 0 : ms}ms`;
}

export function formatValue(value: number, unit: Unit): string {
  if (unit === 'seconds') return formatLatency(value);
  return unit === 'ratio' ? formatPercent(value) : formatNumber(value);
}

/**
 * What a trigger's reading is compared with: `500ms`, `> 5`, `< 0.5 or > 1000`,
 * `+10% over stable`, or several of them. Undefined when it names nothing.
 */
export function describeThreshold(trigger: Trigger): string | undefined {
  const parts: string[] = [];
  if (trigger.builtin !== undefined && trigger.threshold !== undefined) parts.push(trigger.threshold);
  const band: string[] = [];
  if (trigger.query !== undefined && trigger.below !== undefined) band.push(`< ${trigger.below}`);
  if (trigger.query !== undefined && trigger.above !== undefined) band.push(`> ${trigger.above}`);
  if (band.length > 0) parts.push(band.join(' or '));
  if (trigger.relativeTo !== undefined) parts.push(`+${trigger.maxIncrease ?? '?'} over stable`);
  return parts.length > 0 ? parts.join(', ') : undefined;
}
