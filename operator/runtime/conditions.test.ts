import { jsonEqual, setCondition, setHealth } from './conditions.js';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const t1 = new Date('2026-01-01T00:05:00.000Z');

describe('setCondition', () => {
  test('keeps lastTransitionTime when only the message changes', () => {
    const a = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'one' }, 1, t0);
    const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'B', message: 'two' }, 2, t1);
    expect(b[0]).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'B',
      message: 'two',
      lastTransitionTime: '2026-01-01T00:00:00Z',
      observedGeneration: 2,
    });
  });

  test('moves lastTransitionTime when the status flips', () => {
    const a = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: '' }, 1, t0);
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'A', message: '' }, 1, t1);
    expect(b[0]?.lastTransitionTime).toBe('2026-01-01T00:05:00Z');
  });

  test('does not mutate its input', () => {
    const a = setCondition([], { type: 'X', status: 'True', reason: 'R', message: '' }, 1, t0);
    setCondition(a, { type: 'X', status: 'False', reason: 'R', message: '' }, 1, t1);
    expect(a[0]?.status).toBe('True');
  });
});

describe('setHealth', () => {
  test('Ready clears Reconciling and Stalled', () => {
    let c = setHealth([], { state: 'Stalled', reason: 'NotFound', message: 'x' }, 1, t0);
    expect(c.map((x) => `${x.type}=${x.status}`)).toEqual(['Ready=False', 'Stalled=True']);
    c = setHealth(c, { state: 'Progressing', reason: 'Working', message: 'y' }, 1, t0);
    expect(c.map((x) => `${x.type}=${x.status}`)).toEqual(['Ready=False', 'Reconciling=True']);
    c = setHealth(c, { state: 'Ready', reason: 'Reconciled', message: '' }, 1, t1);
    expect(c.map((x) => `${x.type}=${x.status}`)).toEqual(['Ready=True']);
  });

  test('is idempotent: the same health twice gives an equal status', () => {
    const h = { state: 'Ready', reason: 'Reconciled', message: 'ok' } as const;
    const a = setHealth([], h, 3, t0);
    expect(jsonEqual(setHealth(a, h, 3, t1), a)).toBe(true);
  });
});

describe('jsonEqual', () => {
  test('ignores key order and undefined fields, not values', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1, d: undefined })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 2 })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: [] }, { a: {} })).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
  });
});
