import { describe, expect, it } from '@jest/globals';
import type { PromotionWindow } from '../api/generated/index.js';
import { describeClosing, describeOpening, windowState, type WindowState } from './window.js';

const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';
const WEEKDAYS: PromotionWindow['days'] = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'];
const EVERY_DAY: PromotionWindow['days'] = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

const at = (iso: string): Date => new Date(iso);
const win = (
  days: PromotionWindow['days'],
  start: string,
  end: string,
  timeZone?: string,
): PromotionWindow => ({ days, start, end, ...(timeZone ? { timeZone } : {}) });

/** The state with its instants as ISO strings, for readable expectations. */
function state(windows: PromotionWindow[], now: string): string {
  const s = windowState(windows, at(now));
  if (s === undefined) return 'always open';
  if ('invalid' in s) return `invalid: ${s.invalid}`;
  return s.open ? `open until ${s.closesAt.toISOString()}` : `opens ${s.opensAt.toISOString()}`;
}

function closed(s: WindowState | undefined): { opensAt: Date; window: PromotionWindow } {
  if (s === undefined || 'invalid' in s || s.open)
    throw new Error(`expected closed, got ${JSON.stringify(s)}`);
  return s;
}

describe('windowState in UTC', () => {
  const office = [win(WEEKDAYS, '09:00', '17:00')];

  it('is open on a listed day between start and end, closing at end', () => {
    expect(state(office, '2026-04-29T10:00:00Z')).toBe('open until 2026-04-29T17:00:00.000Z');
    expect(state(office, '2026-04-29T09:00:00Z')).toBe('open until 2026-04-29T17:00:00.000Z');
  });

  it('is closed before start, at end, and on days not listed', () => {
    expect(state(office, '2026-04-29T08:59:00Z')).toBe('opens 2026-04-29T09:00:00.000Z');
    expect(state(office, '2026-04-29T17:00:00Z')).toBe('opens 2026-04-30T09:00:00.000Z');
    // Saturday 2 May: the next opening is Monday.
    expect(state(office, '2026-05-02T12:00:00Z')).toBe('opens 2026-05-04T09:00:00.000Z');
  });

  it('finds the next opening a week away', () => {
    const monday = [win(['Mon'], '09:00', '10:00')];
    expect(state(monday, '2026-05-04T10:00:00Z')).toBe('opens 2026-05-11T09:00:00.000Z');
  });

  it('has no restriction when there are no windows or they cover the whole week', () => {
    expect(windowState([], at('2026-05-02T12:00:00Z'))).toBeUndefined();
    const halves = [win(EVERY_DAY, '00:00', '12:00'), win(EVERY_DAY, '12:00', '00:00')];
    expect(state(halves, '2026-05-02T12:00:00Z')).toBe('always open');
  });
});

describe('windowState crossing midnight', () => {
  // Friday 22:00 to Saturday 02:00; 1 May 2026 is a Friday.
  const night = [win(['Fri'], '22:00', '02:00')];

  it('belongs to the day it opens on', () => {
    expect(state(night, '2026-05-01T21:59:00Z')).toBe('opens 2026-05-01T22:00:00.000Z');
    expect(state(night, '2026-05-01T23:00:00Z')).toBe('open until 2026-05-02T02:00:00.000Z');
    expect(state(night, '2026-05-02T01:00:00Z')).toBe('open until 2026-05-02T02:00:00.000Z');
    expect(state(night, '2026-05-02T03:00:00Z')).toBe('opens 2026-05-08T22:00:00.000Z');
    // Thursday night is not listed, even though Friday 01:00 is before 02:00.
    expect(state(night, '2026-05-01T01:00:00Z')).toBe('opens 2026-05-01T22:00:00.000Z');
  });
});

describe('windowState with several windows', () => {
  it('reports the end of a run of touching windows, not the hand-over', () => {
    const morning = win(WEEKDAYS, '09:00', '12:00', BERLIN);
    const afternoon = win(WEEKDAYS, '12:00', '16:00', BERLIN);
    const s = windowState([afternoon, morning], at('2026-04-30T08:00:00Z'));
    expect(s).toEqual({ open: true, closesAt: at('2026-04-30T14:00:00Z'), window: afternoon });
  });

  it('joins overlapping windows in different zones', () => {
    const berlin = win(WEEKDAYS, '09:00', '16:00', BERLIN); // 07:00-14:00Z in summer
    const newYork = win(WEEKDAYS, '09:00', '17:00', NEW_YORK); // 13:00-21:00Z in summer
    expect(state([berlin, newYork], '2026-04-30T08:00:00Z')).toBe('open until 2026-04-30T21:00:00.000Z');
  });

  it('picks the earliest next opening and names its window', () => {
    const late = win(['Mon'], '14:00', '15:00');
    const early = win(['Tue'], '08:00', '09:00', NEW_YORK);
    const s = closed(windowState([late, early], at('2026-05-04T16:00:00Z')));
    expect(s).toEqual({ open: false, opensAt: at('2026-05-05T12:00:00Z'), window: early });
  });

  it('ignores a window that is closed while another is open', () => {
    const open = win(['Mon'], '09:00', '17:00');
    const later = win(['Mon'], '18:00', '19:00');
    expect(state([later, open], '2026-05-04T10:00:00Z')).toBe('open until 2026-05-04T17:00:00.000Z');
  });
});

describe('windowState in Europe/Berlin around daylight saving (29 March and 25 October 2026)', () => {
  const office = [win(WEEKDAYS, '09:00', '16:00', BERLIN)];

  it('opens at 09:00 wall clock on both sides of spring forward', () => {
    // Monday 23 March 09:00 CET, Monday 30 March 09:00 CEST: one hour apart in UTC.
    expect(state(office, '2026-03-22T12:00:00Z')).toBe('opens 2026-03-23T08:00:00.000Z');
    expect(state(office, '2026-03-29T12:00:00Z')).toBe('opens 2026-03-30T07:00:00.000Z');
    expect(state(office, '2026-03-30T07:00:00Z')).toBe('open until 2026-03-30T14:00:00.000Z');
  });

  it('opens at 09:00 wall clock on both sides of fall back', () => {
    expect(state(office, '2026-10-18T12:00:00Z')).toBe('opens 2026-10-19T07:00:00.000Z');
    expect(state(office, '2026-10-25T12:00:00Z')).toBe('opens 2026-10-26T08:00:00.000Z');
    expect(state(office, '2026-10-26T07:30:00Z')).toBe('opens 2026-10-26T08:00:00.000Z');
  });

  it('opens a start inside the spring-forward gap at the first instant after it', () => {
    const sunday = [win(['Sun'], '02:30', '04:00', BERLIN)];
    // 01:45 CET: the clocks jump from 02:00 CET to 03:00 CEST at 01:00Z.
    expect(state(sunday, '2026-03-29T00:45:00Z')).toBe('opens 2026-03-29T01:00:00.000Z');
    expect(state(sunday, '2026-03-29T01:00:00Z')).toBe('open until 2026-03-29T02:00:00.000Z');
    const s = closed(windowState(sunday, at('2026-03-28T22:47:00Z')));
    expect(describeOpening(s, at('2026-03-28T22:47:00Z'))).toBe(
      'next window opens Sun 03:00 Europe/Berlin (in 2h13m)',
    );
  });

  it('skips a window lying wholly inside the gap that day', () => {
    const gap = [win(['Sun'], '02:10', '02:40', BERLIN)];
    expect(state(gap, '2026-03-28T12:00:00Z')).toBe('opens 2026-04-05T00:10:00.000Z');
  });

  it('takes the first occurrence of an ambiguous time on the fall-back day', () => {
    const sunday = [win(['Sun'], '02:30', '04:00', BERLIN)];
    // 02:30 CEST = 00:30Z (the second 02:30, CET, is 01:30Z); 04:00 CET = 03:00Z.
    expect(state(sunday, '2026-10-24T12:00:00Z')).toBe('opens 2026-10-25T00:30:00.000Z');
    expect(state(sunday, '2026-10-25T01:45:00Z')).toBe('open until 2026-10-25T03:00:00.000Z');
    // An ambiguous end is its first occurrence too: 02:30 CEST.
    const early = [win(['Sun'], '01:00', '02:30', BERLIN)];
    expect(state(early, '2026-10-24T23:00:00Z')).toBe('open until 2026-10-25T00:30:00.000Z');
  });

  it('keeps the wall-clock length, so a window spanning the change is an hour shorter or longer', () => {
    const half = [win(['Sun'], '00:00', '12:00', BERLIN)];
    // Spring: 00:00 CET (23:00Z) to 12:00 CEST (10:00Z) = 11 h.
    expect(state(half, '2026-03-28T23:00:00Z')).toBe('open until 2026-03-29T10:00:00.000Z');
    // Autumn: 00:00 CEST (22:00Z) to 12:00 CET (11:00Z) = 13 h.
    expect(state(half, '2026-10-24T22:00:00Z')).toBe('open until 2026-10-25T11:00:00.000Z');
  });

  it('crosses midnight into the change', () => {
    const night = [win(['Sat'], '23:00', '03:30', BERLIN)];
    // 23:00 CET (22:00Z) to 03:30 CEST (01:30Z).
    expect(state(night, '2026-03-28T23:30:00Z')).toBe('open until 2026-03-29T01:30:00.000Z');
    // 23:00 CEST (21:00Z) to 03:30 CET (02:30Z).
    expect(state(night, '2026-10-25T01:00:00Z')).toBe('open until 2026-10-25T02:30:00.000Z');
  });
});

describe('windowState in America/New_York (8 March and 1 November 2026)', () => {
  const office = [win(WEEKDAYS, '09:00', '17:00', NEW_YORK)];

  it('opens at 09:00 wall clock on both sides of each change', () => {
    expect(state(office, '2026-03-01T12:00:00Z')).toBe('opens 2026-03-02T14:00:00.000Z');
    expect(state(office, '2026-03-08T12:00:00Z')).toBe('opens 2026-03-09T13:00:00.000Z');
    expect(state(office, '2026-11-01T12:00:00Z')).toBe('opens 2026-11-02T14:00:00.000Z');
  });

  it('handles the gap and the fold at 02:00 and 01:00 local', () => {
    // 02:30 does not exist on 8 March: 03:00 EDT = 07:00Z.
    expect(state([win(['Sun'], '02:30', '04:00', NEW_YORK)], '2026-03-08T05:00:00Z')).toBe(
      'opens 2026-03-08T07:00:00.000Z',
    );
    // 01:30 happens twice on 1 November: the first, EDT, is 05:30Z.
    expect(state([win(['Sun'], '01:30', '03:00', NEW_YORK)], '2026-11-01T04:00:00Z')).toBe(
      'opens 2026-11-01T05:30:00.000Z',
    );
  });
});

describe('invalid windows', () => {
  it('names an unknown time zone that the schema pattern lets through', () => {
    expect(
      windowState([win(WEEKDAYS, '09:00', '16:00', 'Europe/Berln')], at('2026-05-01T12:00:00Z')),
    ).toEqual({
      invalid: 'windows[0]: unknown time zone "Europe/Berln"',
    });
  });

  it('is invalid as a whole when any one window is', () => {
    const good = win(WEEKDAYS, '09:00', '16:00');
    expect(state([good, win(['Mon'], '9:00', '10:00')], '2026-05-01T12:00:00Z')).toBe(
      'invalid: windows[1]: start "9:00" is not HH:MM',
    );
    expect(state([win(['Mon'], '10:00', '10:00')], '2026-05-01T12:00:00Z')).toBe(
      'invalid: windows[0]: end must differ from start',
    );
    expect(state([win([], '09:00', '10:00')], '2026-05-01T12:00:00Z')).toBe(
      'invalid: windows[0]: no days listed',
    );
  });
});

describe('messages', () => {
  it('says when and in how long the next window opens', () => {
    const monday = [win(['Mon'], '09:00', '16:00', BERLIN)];
    const now = at('2026-05-04T04:47:00Z'); // Monday 06:47 CEST
    const s = closed(windowState(monday, now));
    expect(describeOpening(s, now)).toBe('next window opens Mon 09:00 Europe/Berlin (in 2h13m)');
    const friday = at('2026-05-01T03:00:00Z'); // Friday 05:00 CEST
    expect(describeOpening(closed(windowState(monday, friday)), friday)).toBe(
      'next window opens Mon 09:00 Europe/Berlin (in 3d4h)',
    );
  });

  it('names UTC when the window gives no zone', () => {
    const now = at('2026-05-04T08:59:30Z');
    expect(describeOpening(closed(windowState([win(['Mon'], '09:00', '10:00')], now)), now)).toBe(
      'next window opens Mon 09:00 UTC (in 30s)',
    );
  });

  it('says when an open window closes, in the zone of the window that closes', () => {
    const s = windowState([win(['Thu'], '09:00', '16:00', BERLIN)], at('2026-04-30T10:00:00Z'));
    if (s === undefined || 'invalid' in s || !s.open)
      throw new Error(`expected open, got ${JSON.stringify(s)}`);
    expect(describeClosing(s)).toBe('open until Thu 16:00 Europe/Berlin');
  });
});
