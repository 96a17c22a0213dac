import {
  BACKOFF,
  describeAttempt,
  nextAttemptDelayMs,
  retryAfterMs,
  retryDelayMs,
  verdictOf,
} from './retry.js';

describe('retryDelayMs', () => {
  test('1 s, 2 s, 4 s, … capped at 5 min, without jitter at random() = 0', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, () => 0))).toEqual([1000, 2000, 4000, 8000, 16_000]);
    expect(retryDelayMs(9, () => 0)).toBe(256_000);
    expect(retryDelayMs(10, () => 0)).toBe(BACKOFF.maxMs);
    expect(retryDelayMs(1000, () => 0)).toBe(BACKOFF.maxMs);
  });

  test('jitter takes up to a fifth off, never adds', () => {
    expect(retryDelayMs(3, () => 0.999999)).toBe(3200);
    for (let i = 0; i < 200; i++) {
      const ms = retryDelayMs(6);
      expect(ms).toBeGreaterThan(0.8 * 32_000 - 1);
      expect(ms).toBeLessThanOrEqual(32_000);
    }
  });
});

describe('nextAttemptDelayMs', () => {
  test('the backoff, or a longer Retry-After; never shorter than the backoff', () => {
    expect(nextAttemptDelayMs(1, undefined, () => 0)).toBe(1000);
    expect(nextAttemptDelayMs(1, 30_000, () => 0)).toBe(30_000);
    expect(nextAttemptDelayMs(1, 0, () => 0)).toBe(1000);
    expect(nextAttemptDelayMs(4, 2000, () => 0)).toBe(8000);
  });
});

describe('verdictOf', () => {
  const r = (status: number) => verdictOf({ kind: 'response', status });
  test('2xx is delivered', () => {
    expect([200, 201, 202, 204].map(r)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
  });
  test('408, 429 and 5xx are retried; so is no answer', () => {
    expect([408, 429, 500, 502, 503, 504].map(r)).toEqual(Array(6).fill('retry'));
    expect(verdictOf({ kind: 'error', error: 'connection refused' })).toBe('retry');
  });
  test('other 4xx and redirects are not', () => {
    expect([400, 401, 403, 404, 410, 413, 301, 302].map(r)).toEqual(Array(8).fill('reject'));
  });
});

describe('describing an attempt', () => {
  test('a status or the error', () => {
    expect(describeAttempt({ kind: 'response', status: 503 })).toBe('HTTP 503');
    expect(describeAttempt({ kind: 'error', error: 'connection refused' })).toBe('connection refused');
  });
});

describe('retryAfterMs', () => {
  test('seconds, capped at the longest backoff; the date form is ignored', () => {
    expect(retryAfterMs('30')).toBe(30_000);
    expect(retryAfterMs('86400')).toBe(BACKOFF.maxMs);
    expect(retryAfterMs('Wed, 21 Oct 2026 07:28:00 GMT')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});
