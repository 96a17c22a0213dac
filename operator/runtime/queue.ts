// A keyed work queue in the shape of client-go's: a key is in flight at most
// once, adds of a queued key merge, adds of an in-flight key are remembered and
// replayed when it finishes, failures back off per key, and timers (requeue
// after) collapse to the earliest deadline per key.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 5, maxMs: 5 * 60_000 };

/** Delay before retry number `failures` (1-based): base·2^(n-1), capped. */
export function backoffDelay(failures: number, { baseMs, maxMs }: BackoffOptions = defaultBackoff): number {
  if (failures <= 0) return 0;
  // 2^(n-1) overflows to Infinity long before n matters; the cap keeps it finite.
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 60));
}

/** What a handler asks of the queue once it is done with a key. */
export interface Outcome {
  /** Reconcile this key again after this many milliseconds (a timer, not an error). */
  requeueAfterMs?: number;
}

export type Handler = (key: string) => Promise<Outcome | undefined> | Promise<void>;

export interface QueueObserver {
  onDepth?(depth: number): void;
  onRetry?(key: string, failures: number, delayMs: number, error: unknown): void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while in flight: they go back on the queue when their handler finishes. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; handle: unknown }>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private shuttingDown = false;

  constructor(
    private readonly clock: Clock = realClock,
    private readonly backoff: BackoffOptions = defaultBackoff,
    private readonly observer: QueueObserver = {},
  ) {}

  get depth(): number {
    return this.queue.length;
  }

  /** Number of keys waiting on a timer (requeue-after or backoff). */
  get waiting(): number {
    return this.timers.size;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queued.add(key);
    this.queue.push(key);
    this.observer.onDepth?.(this.queue.length);
  }

  /** Adds the key once `ms` have passed; an earlier pending deadline wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    // Timers take at most 2^31-1 ms (about 24.8 days) and fire at once beyond
    // that: a longer wait (a long soak) comes back then and waits again.
    ms = Math.min(ms, MAX_TIMER_MS);
    const at = this.clock.now() + ms;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.clock.clearTimeout(pending.handle);
    const handle = this.clock.setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, { at, handle });
  }

  /** Schedules a retry after the key's next backoff step and returns the delay. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = backoffDelay(n, this.backoff);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears the key's failure count after a success. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Waits for the next key; undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.processing.add(key);
      this.observer.onDepth?.(this.queue.length);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  /**
   * Runs `workers` loops that take keys and call the handler. A thrown error
   * backs off that key alone; an outcome may ask for a timer. Resolves after
   * shutdown() once every in-flight handler has finished.
   */
  async run(handler: Handler, workers: number): Promise<void> {
    const loop = async (): Promise<void> => {
      for (;;) {
        const key = await this.get();
        if (key === undefined) return;
        try {
          const outcome: Outcome | undefined = (await handler(key)) ?? undefined;
          this.forget(key);
          if (outcome?.requeueAfterMs !== undefined) this.addAfter(key, outcome.requeueAfterMs);
        } catch (err) {
          const delay = this.addRateLimited(key);
          this.observer.onRetry?.(key, this.failureCount(key), delay, err);
        } finally {
          this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, workers) }, loop));
  }

  /** Stops handing out keys and drops timers; in-flight handlers finish. */
  shutdown(): void {
    this.shuttingDown = true;
    for (const { handle } of this.timers.values()) this.clock.clearTimeout(handle);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    this.dirty.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1;
