import { AuditBuffer } from './buffer.js';

test('records wait oldest first; a written batch leaves', () => {
  const b = new AuditBuffer<number>(10);
  for (const n of [1, 2, 3]) b.push(n);
  expect(b.take(2)).toEqual([1, 2]);
  b.settle(true);
  expect(b.size).toBe(1);
  expect(b.take(5)).toEqual([3]);
});

test('a failed write keeps its batch for the next try, in order', () => {
  const b = new AuditBuffer<number>(10);
  for (const n of [1, 2, 3]) b.push(n);
  expect(b.take(2)).toEqual([1, 2]);
  b.settle(false);
  expect(b.take(10)).toEqual([1, 2, 3]);
});

test('one write at a time', () => {
  const b = new AuditBuffer<number>(10);
  b.push(1);
  expect(b.take(1)).toEqual([1]);
  expect(b.writing).toBe(true);
  expect(b.take(1)).toEqual([]);
  b.settle(true);
  expect(b.writing).toBe(false);
});

test('over the bound the oldest record goes, and every loss is counted', () => {
  const b = new AuditBuffer<number>(3);
  const lost = [1, 2, 3, 4, 5].map((n) => b.push(n));
  expect(lost).toEqual([0, 0, 0, 1, 1]);
  expect(b.dropped).toBe(2);
  expect(b.size).toBe(3);
  expect(b.take(10)).toEqual([3, 4, 5]);
});

test('records a write holds are not the ones dropped: it may still succeed', () => {
  const b = new AuditBuffer<number>(3);
  for (const n of [1, 2, 3]) b.push(n);
  expect(b.take(2)).toEqual([1, 2]);
  b.push(4);
  expect(b.dropped).toBe(1);
  b.settle(true);
  // 3 was the oldest not being written.
  expect(b.take(10)).toEqual([4]);
});

test('when a write holds everything, the newcomer is the one counted lost', () => {
  const b = new AuditBuffer<number>(2);
  b.push(1);
  b.push(2);
  expect(b.take(2)).toEqual([1, 2]);
  expect(b.push(3)).toBe(1);
  b.settle(false);
  expect(b.take(10)).toEqual([1, 2]);
  expect(b.dropped).toBe(1);
});

test('a capacity below one is refused', () => {
  expect(() => new AuditBuffer<number>(0)).toThrow(RangeError);
});
