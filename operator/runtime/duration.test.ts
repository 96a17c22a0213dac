import { formatDuration, parseDuration } from './duration.js';

test('parses the units the CRDs allow, alone and combined', () => {
  expect(parseDuration('500ms')).toBe(500);
  expect(parseDuration('30s')).toBe(30_000);
  expect(parseDuration('10m')).toBe(600_000);
  expect(parseDuration('1h30m')).toBe(5_400_000);
  expect(parseDuration('30d')).toBe(2_592_000_000);
});

test('refuses anything else', () => {
  for (const bad of ['', '10', 'm', '1x', '1m ', ' 1m', '1.5m', '-1s'])
    expect(() => parseDuration(bad)).toThrow(/invalid/);
});

test('formats the two largest units, the way countdowns read', () => {
  expect(formatDuration(2 * 3_600_000 + 13 * 60_000 + 59_000)).toBe('2h13m');
  expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000)).toBe('3d4h');
  expect(formatDuration(30_000)).toBe('30s');
});
