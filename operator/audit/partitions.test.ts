import {
  addMonths,
  parsePartition,
  partition,
  partitionsAhead,
  partitionsFor,
  partitionsToDrop,
} from './partitions.js';

test('a month partition is named by year and month and bounded by UTC month starts', () => {
  expect(partition({ year: 2026, month: 3 })).toEqual({
    year: 2026,
    month: 3,
    name: 'cutover_audit_y2026m03',
    from: new Date('2026-03-01T00:00:00Z'),
    to: new Date('2026-04-01T00:00:00Z'),
  });
  expect(partition({ year: 2026, month: 12 }).to).toEqual(new Date('2027-01-01T00:00:00Z'));
});

test('names parse back; other tables are not partitions', () => {
  expect(parsePartition('cutover_audit_y2025m11')?.from).toEqual(new Date('2025-11-01T00:00:00Z'));
  expect(parsePartition('cutover_audit')).toBeUndefined();
  expect(parsePartition('cutover_audit_y2025m13')).toBeUndefined();
  expect(parsePartition('cutover_audit_y2025m11_old')).toBeUndefined();
});

test('months add across years, both ways', () => {
  expect(addMonths({ year: 2026, month: 12 }, 1)).toEqual({ year: 2027, month: 1 });
  expect(addMonths({ year: 2026, month: 1 }, -1)).toEqual({ year: 2025, month: 12 });
  expect(addMonths({ year: 2026, month: 5 }, -17)).toEqual({ year: 2024, month: 12 });
});

test('the current and the next month are kept ready, by the UTC month of the clock', () => {
  expect(partitionsAhead(new Date('2026-12-31T23:59:59.999Z')).map((p) => p.name)).toEqual([
    'cutover_audit_y2026m12',
    'cutover_audit_y2027m01',
  ]);
  // 00:30 on the 1st in Berlin is still the previous month in UTC.
  expect(partitionsAhead(new Date('2026-06-01T00:30:00+02:00'))[0]?.name).toBe('cutover_audit_y2026m05');
});

test('a batch across a month boundary needs both months, once each', () => {
  const times = ['2026-01-31T23:59:59.999Z', '2026-02-01T00:00:00.000Z', '2026-01-15T10:00:00.000Z'];
  expect(partitionsFor(times).map((p) => p.name)).toEqual([
    'cutover_audit_y2026m01',
    'cutover_audit_y2026m02',
  ]);
});

describe('retention', () => {
  const names = [
    'cutover_audit_y2025m01',
    'cutover_audit_y2025m02',
    'cutover_audit_y2025m03',
    'cutover_audit_y2026m02',
    'cutover_audit_y2026m03',
    'something_else',
  ];

  test('drops the partitions whose whole month is older than the retention, oldest first', () => {
    // 365 days before 2026-03-01T12:00Z is 2025-03-01T12:00Z: February 2025 ended before it, March did not.
    const dropped = partitionsToDrop(names, new Date('2026-03-01T12:00:00Z'), 365);
    expect(dropped.map((p) => p.name)).toEqual(['cutover_audit_y2025m01', 'cutover_audit_y2025m02']);
  });

  test('a partition ending exactly at the cutoff goes; one a millisecond later stays', () => {
    const cutoffAtMarch = new Date(Date.parse('2025-03-01T00:00:00Z') + 365 * 86_400_000);
    expect(partitionsToDrop(names, cutoffAtMarch, 365).map((p) => p.name)).toContain(
      'cutover_audit_y2025m02',
    );
    const justBefore = new Date(cutoffAtMarch.getTime() - 1);
    expect(partitionsToDrop(names, justBefore, 365).map((p) => p.name)).toEqual(['cutover_audit_y2025m01']);
  });

  test('nothing is dropped while every month is young enough', () => {
    expect(partitionsToDrop(names, new Date('2025-06-01T00:00:00Z'), 365)).toEqual([]);
  });

  test('a shorter retention drops more', () => {
    const dropped = partitionsToDrop(names, new Date('2026-04-15T00:00:00Z'), 30);
    expect(dropped.map((p) => p.name)).toEqual([
      'cutover_audit_y2025m01',
      'cutover_audit_y2025m02',
      'cutover_audit_y2025m03',
      'cutover_audit_y2026m02',
    ]);
  });
});
