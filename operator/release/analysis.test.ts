import { AnalysisSchedule } from './analysis.js';

const at = (s: number) => new Date(Date.parse('2026-11-28T10:00:00Z') + s * 1000);
const INTERVAL = 30_000;

describe('AnalysisSchedule', () => {
  test('a regular evaluation is due after the interval and measured against its end', () => {
    const s = new AnalysisSchedule();
    expect(s.due('ns/web', 'rev2/0', at(0), INTERVAL)).toBe(true);
    expect(s.lateness('ns/web', 'rev2/0', at(0), INTERVAL)).toBeUndefined();
    s.record('ns/web', 'rev2/0', at(0));
    expect(s.due('ns/web', 'rev2/0', at(29), INTERVAL)).toBe(false);
    expect(s.due('ns/web', 'rev2/0', at(31), INTERVAL)).toBe(true);
    expect(s.lateness('ns/web', 'rev2/0', at(31), INTERVAL)).toBe(1000);
  });

  test('the first evaluation of the next rollout is due at once and not late', () => {
    const s = new AnalysisSchedule();
    s.record('ns/web', 'rev2/0', at(0));
    // Rolled back, then a new version 10 s later, and a retry of it an hour on.
    expect(s.due('ns/web', 'rev3/0', at(10), INTERVAL)).toBe(true);
    expect(s.lastAt('ns/web', 'rev3/0')).toBeUndefined();
    s.record('ns/web', 'rev3/0', at(10));
    expect(s.lateness('ns/web', 'rev3/1', at(3600), INTERVAL)).toBeUndefined();
    expect(s.lateness('ns/web', 'rev3/0', at(3600), INTERVAL)).toBe(3_560_000);
  });

  test('an evaluation asked for is due at once and not counted as late', () => {
    const s = new AnalysisSchedule();
    s.record('ns/web', 'rev2/0', at(0));
    s.force('ns/web');
    expect(s.due('ns/web', 'rev2/0', at(1), INTERVAL)).toBe(true);
    expect(s.lateness('ns/web', 'rev2/0', at(1), INTERVAL)).toBeUndefined();
  });
});
