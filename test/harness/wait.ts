import { setTimeout as delay } from 'node:timers/promises';
import { inspect } from 'node:util';

export interface WaitForOptions {
  /** Total time allowed, including the time spent inside `fn`. */
  timeoutMs: number;
  /** Pause between attempts; defaults to 100 ms. */
  intervalMs?: number;
  /** Completes the sentence "timed out waiting for …". */
  description: string;
  /** Ends the wait early, e.g. when the process being waited on has exited. */
  signal?: AbortSignal;
}

type NotDone = false | null | undefined;

const DEFAULT_INTERVAL_MS = 100;

/**
 * Polls `fn` until it returns something other than false/null/undefined and
 * resolves with that value. A throwing `fn` counts as "not yet": the error is
 * kept and reported if the deadline passes, because the last error is usually
 * the one that explains why the condition never held.
 *
 * This is the only way tests wait for something; a fixed sleep either wastes
 * time or flakes.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  options: WaitForOptions,
): Promise<Exclude<T, NotDone>> {
  const { timeoutMs, description, signal } = options;
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  if (!(timeoutMs > 0) || !(intervalMs >= 0)) {
    throw new RangeError(`waitFor(${description}): timeoutMs must be > 0 and intervalMs >= 0`);
  }
  const deadline = performance.now() + timeoutMs;
  let attempts = 0;
  let lastOutcome = 'no attempt finished';
  let lastError: unknown;

  for (;;) {
    signal?.throwIfAborted();
    attempts += 1;
    const remaining = deadline - performance.now();
    try {
      const outcome = await withinDeadline(fn, remaining, signal);
      if (outcome.finished) {
        if (isDone(outcome.value)) return outcome.value;
        lastOutcome = `last result: ${describeValue(outcome.value)}`;
      } else {
        lastOutcome = `the last attempt was still running after ${Math.round(remaining)} ms`;
      }
      lastError = undefined;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      lastError = err;
      lastOutcome = `last error: ${err instanceof Error ? err.message : String(err)}`;
    }

    const left = deadline - performance.now();
    if (left <= 0) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${description} (${attempts} attempts); ${lastOutcome}`,
        {
          cause: lastError,
        },
      );
    }
    await delay(Math.min(intervalMs, left), undefined, { signal });
  }
}

export interface WaitUntilOptions<T> extends WaitForOptions {
  /** The part of the last value read that the timeout error shows (all of it by default). */
  show?: (value: T) => unknown;
}

/**
 * Reads with `read` until `ok` holds for what it read, and resolves with
 * that value. On timeout the error shows the last value read: what the
 * condition was judged on explains why it never held, where waitFor could only
 * say the condition was false.
 */
export async function waitUntil<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  options: WaitUntilOptions<T>,
): Promise<T> {
  let last: { value: T } | undefined;
  try {
    const done = await waitFor(async () => {
      last = { value: await read() };
      return ok(last.value) && last;
    }, options);
    return done.value;
  } catch (err) {
    if (!last) throw err;
    const shown = options.show ? options.show(last.value) : last.value;
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`${message}\nlast value read: ${JSON.stringify(shown)}`, { cause: err });
  }
}

function isDone<T>(value: T): value is Exclude<T, NotDone> {
  return value !== false && value !== null && value !== undefined;
}

type Outcome<T> = { finished: true; value: T } | { finished: false };

// A single attempt that hangs (a connect with no timeout, say) must not be
// allowed to carry the wait past its deadline.
async function withinDeadline<T>(
  fn: () => T | Promise<T>,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<Outcome<T>> {
  const timer = new AbortController();
  const stop = signal ? AbortSignal.any([timer.signal, signal]) : timer.signal;
  try {
    return await Promise.race([
      Promise.resolve()
        .then(fn)
        .then((value): Outcome<T> => ({ finished: true, value })),
      delay(Math.max(ms, 0), { finished: false } as const, { signal: stop }),
    ]);
  } finally {
    timer.abort();
  }
}

function describeValue(value: unknown): string {
  const text = inspect(value, { depth: 2, breakLength: Infinity });
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
