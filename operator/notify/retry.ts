// When to try a webhook again, and which answers are worth another try. Pure:
// the delivery queue (deliver.ts) asks, the tests pin the schedule down.
import { backoffDelay } from '../runtime/queue.js';

/** Delays grow 1 s, 2 s, 4 s, … up to 5 min between attempts. */
export const BACKOFF = { baseMs: 1000, maxMs: 5 * 60_000 };
/** A notification still undelivered this long after the decision is given up (counted and logged). */
export const MAX_AGE_MS = 60 * 60_000;

/**
 * Delay before the next attempt after `failures` failed attempts in a row.
 * Up to a fifth shorter at random, so targets that failed together (one
 * receiver behind several targets, an outage) do not retry in lockstep.
 */
export function retryDelayMs(failures: number, random: () => number = Math.random): number {
  const ceiling = backoffDelay(failures, BACKOFF);
  return Math.round(ceiling * (1 - 0.2 * random()));
}

/**
 * Delay before the next attempt after a failure: the backoff, or longer when
 * the receiver's Retry-After asks for more. Never shorter: a receiver that
 * answers `Retry-After: 0` to every POST would otherwise be hammered.
 */
export function nextAttemptDelayMs(
  failures: number,
  retryAfter: number | undefined,
  random: () => number = Math.random,
): number {
  return Math.max(retryAfter ?? 0, retryDelayMs(failures, random));
}

/** What one POST came back with. The error text never holds the URL. */
export type Attempt =
  { kind: 'response'; status: number; retryAfterMs?: number } | { kind: 'error'; error: string };

export type Verdict = 'delivered' | 'retry' | 'reject';

/**
 * 2xx is delivered. A request timeout (408), rate limiting (429), a server
 * error (5xx) or no answer at all may pass on a later try; any other answer
 * (a 4xx: wrong URL, revoked token, a body refused; or a redirect, which is not
 * followed) would be the same next time.
 */
export function verdictOf(a: Attempt): Verdict {
  if (a.kind === 'error') return 'retry';
  if (a.status >= 200 && a.status < 300) return 'delivered';
  if (a.status === 408 || a.status === 429 || a.status >= 500) return 'retry';
  return 'reject';
}

/** Status and error in a few words, for logs and status. */
export function describeAttempt(a: Attempt): string {
  return a.kind === 'error' ? a.error : `HTTP ${a.status}`;
}

/** Retry-After in seconds (the date form is rare from webhooks and ignored), capped at the longest backoff. */
export function retryAfterMs(header: string | null): number | undefined {
  if (header === null || !/^\s*\d+\s*$/.test(header)) return undefined;
  return Math.min(BACKOFF.maxMs, Number(header) * 1000);
}
