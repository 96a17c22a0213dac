// Deployment windows: whether a rollout may start at a given instant, and
// when it next may. Pure: the only clock is the `now` argument, and wall
// clocks come from Intl (Node ships full ICU), so no tz database of our own.
//
// Semantics, also in docs/environments.md:
// - a window opens on each listed day at `start` (wall clock in timeZone)
//   and closes at `end` the same day, or the next day when end < start;
// - a start that falls in a spring-forward gap opens at the first instant
//   after the gap; an ambiguous fall-back time means its first occurrence
//   (for end too, so a window keeps its wall-clock length);
// - several windows: open when any is; closesAt is the end of the whole run
//   of windows that overlap or touch, so "open until" is when the gate
//   really shuts, not a hand-over between two windows.
import type { PromotionWindow } from '../api/generated/index.js';
import { formatDuration } from '../runtime/duration.js';

export type WindowState =
  /** `window` is the one whose close ends the run of open windows. */
  | { open: true; closesAt: Date; window: PromotionWindow }
  | { open: false; opensAt: Date; window: PromotionWindow }
  | { invalid: string };

const MINUTE = 60_000;
const DAY = 86_400_000;
const WEEK = 7 * DAY;
/** Local days looked at after today; one more than a week so next week's same weekday is in. */
const DAYS_AHEAD = 8;
const WEEKDAY_INDEX: Record<PromotionWindow['days'][number], number> = {
  Sun: 0,
  Mon: 1,
  Tue: 2,
  Wed: 3,
  Thu: 4,
  Fri: 5,
  Sat: 6,
};

/**
 * Where `now` stands against the windows. Undefined when they never close:
 * no windows, or windows covering the whole week.
 */
export function windowState(windows: readonly PromotionWindow[], now: Date): WindowState | undefined {
  if (windows.length === 0) return undefined;
  const spans: Span[] = [];
  for (const [i, w] of windows.entries()) {
    const parsed = parseWindow(w);
    if (typeof parsed === 'string') return { invalid: `windows[${i}]: ${parsed}` };
    spans.push(...occurrences(w, parsed, now.getTime()));
  }
  spans.sort((a, b) => a.open - b.open);

  const t = now.getTime();
  for (const run of runs(spans)) {
    if (run.close <= t) continue;
    if (run.open > t) return { open: false, opensAt: new Date(run.open), window: run.first };
    // A run reaching a week ahead repeats forever: the windows leave no gap.
    if (run.close - t >= WEEK) return undefined;
    return { open: true, closesAt: new Date(run.close), window: run.last };
  }
  // Only when every occurrence in reach vanished into DST gaps.
  return { invalid: `no window opens within the next ${DAYS_AHEAD} days` };
}

/** "next window opens Mon 09:00 Europe/Berlin (in 2h13m)" */
export function describeOpening(state: { opensAt: Date; window: PromotionWindow }, now: Date): string {
  return `next window opens ${openingText(state, now)}`;
}

/** "Mon 09:00 Europe/Berlin (in 2h13m)", the part of describeOpening after the verb. */
export function openingText(state: { opensAt: Date; window: PromotionWindow }, now: Date): string {
  const inMs = state.opensAt.getTime() - now.getTime();
  return `${wallClockText(state.opensAt, state.window)} (in ${formatDuration(inMs)})`;
}

/**
 * "next window opens Mon 09:00 Europe/Berlin": for status, which holds nothing
 * that moves with the clock (a countdown would rewrite it at every reconcile).
 */
export function describeNextOpening(state: { opensAt: Date; window: PromotionWindow }): string {
  return `next window opens ${wallClockText(state.opensAt, state.window)}`;
}

/** "open until Thu 16:00 Europe/Berlin" */
export function describeClosing(state: { closesAt: Date; window: PromotionWindow }): string {
  return `open until ${wallClockText(state.closesAt, state.window)}`;
}

function wallClockText(at: Date, window: PromotionWindow): string {
  const zone = window.timeZone ?? 'UTC';
  const format = formatter(zone);
  // Only reached with a window windowState accepted, so the zone is known.
  if (!format) return at.toISOString();
  const w = wallClock(format, at.getTime());
  return `${w.weekday} ${pad(w.hour)}:${pad(w.minute)} ${zone}`;
}

interface ParsedWindow {
  format: Intl.DateTimeFormat;
  startMin: number;
  endMin: number;
  weekdays: Set<number>;
}

interface Span {
  open: number;
  close: number;
  window: PromotionWindow;
}

/** A validation message, or the window ready to compute with. */
function parseWindow(w: PromotionWindow): ParsedWindow | string {
  const zone = w.timeZone ?? 'UTC';
  const format = formatter(zone);
  if (!format) return `unknown time zone "${zone}"`;
  const startMin = minutes(w.start);
  const endMin = minutes(w.end);
  if (startMin === undefined) return `start "${w.start}" is not HH:MM`;
  if (endMin === undefined) return `end "${w.end}" is not HH:MM`;
  if (startMin === endMin) return 'end must differ from start';
  if (w.days.length === 0) return 'no days listed';
  return { format, startMin, endMin, weekdays: new Set(w.days.map((d) => WEEKDAY_INDEX[d])) };
}

/**
 * Each opening of one window from the day before today (a window crossing
 * midnight may still be open) to DAYS_AHEAD days after, today being the
 * local date in the window's zone.
 */
function occurrences(w: PromotionWindow, p: ParsedWindow, now: number): Span[] {
  const today = wallClock(p.format, now);
  const spans: Span[] = [];
  for (let k = -1; k <= DAYS_AHEAD; k++) {
    // Midnight UTC of the local date: a calendar date, free of any offset.
    const date = Date.UTC(today.year, today.month - 1, today.day + k);
    if (!p.weekdays.has(new Date(date).getUTCDay())) continue;
    const closeDate = p.endMin < p.startMin ? date + DAY : date;
    const open = instantOf(p.format, date + p.startMin * MINUTE);
    const close = instantOf(p.format, closeDate + p.endMin * MINUTE);
    // Empty when both ends fall into the same spring-forward gap.
    if (close > open) spans.push({ open, close, window: w });
  }
  return spans;
}

interface Run {
  open: number;
  close: number;
  first: PromotionWindow;
  last: PromotionWindow;
}

/** Spans sorted by opening, merged where they overlap or touch. */
function runs(spans: readonly Span[]): Run[] {
  const out: Run[] = [];
  for (const s of spans) {
    const cur = out.at(-1);
    if (cur && s.open <= cur.close) {
      if (s.close > cur.close) {
        cur.close = s.close;
        cur.last = s.window;
      }
    } else {
      out.push({ open: s.open, close: s.close, first: s.window, last: s.window });
    }
  }
  return out;
}

// The same few wall-clock times come back for every Release of an
// Environment and every evaluation of the day, and each costs several
// formatToParts calls: remember them. The answer for a zone and wall clock
// never changes while the process runs, so this stays pure.
const instants = new WeakMap<Intl.DateTimeFormat, Map<number, number>>();
const INSTANTS_PER_ZONE = 4096;

function instantOf(format: Intl.DateTimeFormat, local: number): number {
  let known = instants.get(format);
  if (!known) instants.set(format, (known = new Map()));
  let t = known.get(local);
  if (t === undefined) {
    if (known.size >= INSTANTS_PER_ZONE) known.clear();
    t = computeInstant(format, local);
    known.set(local, t);
  }
  return t;
}

/**
 * The instant a wall-clock time happens in the formatter's zone. `local` is
 * that wall clock written as if it were UTC. Gap: the first instant after
 * it. Ambiguous: the first occurrence.
 */
function computeInstant(format: Intl.DateTimeFormat, local: number): number {
  // Offsets a day either side bracket any single transition near `local`.
  const before = offsetAt(format, local - DAY);
  const after = offsetAt(format, local + DAY);
  const fits = [local - before, local - after].filter((t) => offsetAt(format, t) === local - t);
  if (fits.length > 0) return Math.min(...fits);
  if (before === after) return local - before;
  // In a gap: the transition lies between the two readings; find it to the
  // second (tzdb transitions fall on whole seconds).
  let lo = Math.min(local - before, local - after);
  let hi = Math.max(local - before, local - after);
  const offsetLo = offsetAt(format, lo);
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (offsetAt(format, mid) === offsetLo) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Wall clock minus UTC at instant t, in ms. */
function offsetAt(format: Intl.DateTimeFormat, t: number): number {
  const w = wallClock(format, t);
  const wallMs = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return wallMs - Math.floor(t / 1000) * 1000;
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: string;
}

function wallClock(format: Intl.DateTimeFormat, t: number): WallClock {
  const w: WallClock = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, weekday: '' };
  for (const part of format.formatToParts(t)) {
    switch (part.type) {
      case 'year':
      case 'month':
      case 'day':
      case 'hour':
      case 'minute':
      case 'second':
        w[part.type] = Number(part.value);
        break;
      case 'weekday':
        w.weekday = part.value;
        break;
      default:
        break;
    }
  }
  return w;
}

// Only zones Intl accepts are kept, so the cache is bounded by the tz
// database however many misspellings the Environments hold.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat | undefined {
  let format = formatters.get(zone);
  if (format) return format;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    return undefined;
  }
  formatters.set(zone, format);
  return format;
}

function minutes(clock: string): number | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(clock);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
