import type { Trigger } from '../api/generated/index.js';
import {
  describeThreshold,
  formatLatency,
  formatNumber,
  formatPercent,
  formatValue,
  parsePercent,
  parseThreshold,
  unitOf,
} from './format.js';

describe('parseThreshold', () => {
  test.each([
    ['500ms', 'seconds', 0.5],
    ['0.5ms', 'seconds', 0.0005],
    ['1.5s', 'seconds', 1.5],
    ['2s', 'seconds', 2],
    ['1%', 'ratio', 0.01],
    ['0.1%', 'ratio', 0.001],
    ['90%', 'ratio', 0.9],
    ['150%', 'ratio', 1.5],
  ] as const)('%s is %p %s', (text, unit, expected) => {
    expect(parseThreshold(text, unit)).toBeCloseTo(expected, 12);
  });

  test.each([
    ['500', 'seconds', 'invalid threshold "500"'],
    ['1m', 'seconds', 'invalid threshold "1m"'],
    ['.5s', 'seconds', 'invalid threshold ".5s"'],
    ['-1%', 'ratio', 'invalid threshold "-1%"'],
    ['1%', 'seconds', 'threshold "1%" must be a duration'],
    ['500ms', 'ratio', 'threshold "500ms" must be a percentage'],
  ] as const)('%s for %s is refused', (text, unit, message) => {
    expect(() => parseThreshold(text, unit)).toThrow(message);
  });
});

test.each([
  ['10%', 0.1],
  ['0%', 0],
  ['12.5%', 0.125],
  ['200%', 2],
])('parsePercent(%s) is %p', (text, expected) => {
  expect(parsePercent(text)).toBeCloseTo(expected, 12);
});

test.each(['10', '10 %', 'ten%', ''])('parsePercent refuses %p', (text) => {
  expect(() => parsePercent(text)).toThrow('invalid percentage');
});

describe('formatting', () => {
  test.each([
    [0, '0'],
    [5, '5'],
    [1200, '1200'],
    [12.345, '12.35'],
    [1.005, '1'],
    [0.52, '0.52'],
    [0.5234, '0.52'],
    [0.0052, '0.0052'],
    [0.095, '0.095'],
    [0.999, '1'],
    [0.4, '0.4'],
    [1e-9, '0'],
    [-0.25, '-0.25'],
    [-1e-9, '0'],
  ])('formatNumber(%p) is %s', (n, text) => {
    expect(formatNumber(n)).toBe(text);
  });

  test.each([
    [0.05, '5%'],
    [0.0052, '0.52%'],
    [0.01, '1%'],
    [0.123456, '12.35%'],
    [0, '0%'],
    [1.5, '150%'],
    [0.00001234, '0.0012%'],
  ])('formatPercent(%p) is %s', (ratio, text) => {
    expect(formatPercent(ratio)).toBe(text);
  });

  test.each([
    [0.612, '612ms'],
    [0.5, '500ms'],
    [0.0125, '12.5ms'],
    [0.01234, '12.3ms'],
    [1.5, '1500ms'],
    [0.14749, '147.5ms'],
    [0, '0ms'],
  ])('formatLatency(%p) is %s', (seconds, text) => {
    expect(formatLatency(seconds)).toBe(text);
  });

  test('formatValue follows the unit', () => {
    expect([formatValue(0.25, 'seconds'), formatValue(0.25, 'ratio'), formatValue(0.25, 'number')]).toEqual([
      '250ms',
      '25%',
      '0.25',
    ]);
  });
});

describe('units and thresholds of triggers', () => {
  test.each<[Trigger, string, string | undefined]>([
    [{ name: 'l', builtin: 'LatencyP95', threshold: '500ms' }, 'seconds', '500ms'],
    [{ name: 'e', builtin: 'ErrorRate', threshold: '1%' }, 'ratio', '1%'],
    [{ name: 'c', builtin: 'CPU', threshold: '90%' }, 'ratio', '90%'],
    [{ name: 'm', builtin: 'Memory', threshold: '80%' }, 'ratio', '80%'],
    [{ name: 'd', builtin: 'DatabasePool', threshold: '75%' }, 'ratio', '75%'],
    [{ name: 'q', query: 'x', above: 5 }, 'number', '> 5'],
    [{ name: 'q', query: 'x', below: 2 }, 'number', '< 2'],
    [{ name: 'q', query: 'x', above: 1000, below: 0.5 }, 'number', '< 0.5 or > 1000'],
    [
      { name: 'r', builtin: 'LatencyP95', relativeTo: 'Stable', maxIncrease: '10%' },
      'seconds',
      '+10% over stable',
    ],
    [
      { name: 'b', builtin: 'LatencyP95', threshold: '1s', relativeTo: 'Stable', maxIncrease: '20%' },
      'seconds',
      '1s, +20% over stable',
    ],
    [
      { name: 'q', query: 'x', above: 3, relativeTo: 'Stable', maxIncrease: '5%' },
      'number',
      '> 3, +5% over stable',
    ],
    [{ name: 'none', builtin: 'CPU' }, 'ratio', undefined],
  ])('%o', (trigger, unit, threshold) => {
    expect(unitOf(trigger)).toBe(unit);
    expect(describeThreshold(trigger)).toBe(threshold);
  });
});
