// Delivery: one bounded queue per target, drained by timers, never by the
// reconcile that took the decision (enqueue returns at once). A target that
// fails backs off as a whole (1 s → 5 min, jittered) and then probes with one
// request at a time, so a receiver that is down is not hammered and the order
// of its notifications holds; a healthy one has a few POSTs in flight. A
// notification is given up when its target refuses it (4xx) or when it is
// older than an hour, and both are counted and logged. Everything is in
// memory: what is queued when the process stops is lost (and said in the log).
import type { NotificationHealth, NotificationTarget } from '../api/generated/index.js';
import type { Logger } from '../runtime/log.js';
import { realClock, type Clock } from '../runtime/queue.js';
import type { Format } from './body.js';
import type { Post } from './http.js';
import { MAX_AGE_MS, describeAttempt, retryDelayMs, verdictOf, type Attempt } from './retry.js';
import { SecretProblem } from './secrets.js';

/** Notifications waiting per target; the oldest goes first when it is full. */
export const QUEUE_LIMIT = 200;
/** POSTs in flight per healthy target. */
export const IN_FLIGHT = 4;

export type Result = 'delivered' | 'failed' | 'rejected' | 'expired' | 'dropped';

export interface TargetRef {
  namespace: string;
  environment: string;
  name: string;
}

export interface Outgoing {
  target: TargetRef;
  format: Format;
  /** The rendered body (render() in body.ts). */
  body: string;
  /** For logs: which decision this is. */
  reason: string;
  id: string;
}

export interface NotifierDeps {
  post: Post;
  /** The target as the Environment now defines it; undefined once it left the spec. */
  target(ref: TargetRef): NotificationTarget | undefined;
  /** The URL in the target's Secret; a SecretProblem says why there is none. */
  url(namespace: string, target: NotificationTarget): Promise<string>;
  log: Logger;
  clock?: Clock;
  random?: () => number;
  /** Every outcome of every attempt, and the queue depths: metrics. */
  onResult?(format: Format, result: Result): void;
  onDepth?(format: Format, depth: number): void;
  onFailingTargets?(count: number): void;
  /** A target's health changed (state or error): its Environment's status follows. */
  onHealth?(namespace: string, environment: string): void;
}

interface Queued extends Outgoing {
  enqueuedAt: number;
  /** Order of enqueueing, kept through retries. */
  seq: number;
}

interface TargetState {
  ref: TargetRef;
  items: Queued[];
  inFlight: number;
  /** Failed attempts in a row; 0 while healthy. */
  failures: number;
  /** No attempt starts before this instant (backoff). */
  notBefore: number;
  timer?: unknown;
  health?: NotificationHealth;
}

const keyOf = (t: TargetRef) => `${t.namespace}/${t.environment}/${t.name}`;

export class Notifier {
  private readonly targets = new Map<string, TargetState>();
  private readonly running = new Set<Promise<void>>();
  private readonly clock: Clock;
  private stopped = false;
  private seq = 0;

  constructor(private readonly deps: NotifierDeps) {
    this.clock = deps.clock ?? realClock;
  }

  /** Queues a notification and returns at once; a timer starts the POST. */
  enqueue(n: Outgoing): void {
    if (this.stopped) return;
    const key = keyOf(n.target);
    let t = this.targets.get(key);
    if (!t) {
      t = { ref: n.target, items: [], inFlight: 0, failures: 0, notBefore: 0 };
      this.targets.set(key, t);
    }
    if (t.items.length >= QUEUE_LIMIT) {
      const oldest = t.items.shift();
      if (oldest) this.give(t, oldest, 'dropped', `the queue of ${QUEUE_LIMIT} is full`);
    }
    t.items.push({ ...n, enqueuedAt: this.clock.now(), seq: ++this.seq });
    this.depths();
    this.wake(t, 0);
  }

  /** Health of the targets of one Environment, by target name. */
  health(namespace: string, environment: string): Map<string, NotificationHealth> {
    const out = new Map<string, NotificationHealth>();
    for (const t of this.targets.values())
      if (t.ref.namespace === namespace && t.ref.environment === environment && t.health)
        out.set(t.ref.name, t.health);
    return out;
  }

  /** Notifications waiting or in flight. */
  get pending(): number {
    let n = 0;
    for (const t of this.targets.values()) n += t.items.length + t.inFlight;
    return n;
  }

  /** Stops starting attempts, waits for those in flight; what is still queued is lost, and said. */
  async stop(): Promise<void> {
    this.stopped = true;
    let lost = 0;
    for (const t of this.targets.values()) {
      if (t.timer !== undefined) this.clock.clearTimeout(t.timer);
      for (const item of t.items.splice(0)) {
        lost += 1;
        this.deps.onResult?.(item.format, 'dropped');
      }
    }
    this.depths();
    await Promise.allSettled([...this.running]);
    if (lost > 0) this.deps.log.warn({ lost }, 'notifications not delivered: the operator is stopping');
  }

  private wake(t: TargetState, ms: number): void {
    if (t.timer !== undefined || this.stopped) return;
    t.timer = this.clock.setTimeout(() => {
      t.timer = undefined;
      this.pump(t);
    }, ms);
  }

  private pump(t: TargetState): void {
    const now = this.clock.now();
    if (now < t.notBefore) return this.wake(t, t.notBefore - now);
    // After a failure, one probe at a time until an attempt succeeds.
    const limit = t.failures > 0 ? 1 : IN_FLIGHT;
    while (t.items.length > 0 && t.inFlight < limit && !this.stopped) {
      const item = t.items.shift() as Queued;
      if (now - item.enqueuedAt > MAX_AGE_MS) {
        this.give(t, item, 'expired', `undelivered after ${MAX_AGE_MS / 60_000} min`);
        continue;
      }
      t.inFlight += 1;
      const p = this.attempt(t, item).finally(() => this.running.delete(p));
      this.running.add(p);
    }
    this.depths();
  }

  private async attempt(t: TargetState, item: Queued): Promise<void> {
    const spec = this.deps.target(t.ref);
    let outcome: Attempt;
    if (!spec) {
      outcome = { kind: 'error', error: 'gone' };
    } else {
      try {
        outcome = await this.deps.post(await this.deps.url(t.ref.namespace, spec), item.body);
      } catch (err) {
        // Only a SecretProblem's words are safe to repeat; anything else may quote what it read.
        outcome = {
          kind: 'error',
          error: err instanceof SecretProblem ? err.message : 'reading the URL failed',
        };
      }
    }
    t.inFlight -= 1;
    if (!spec) {
      this.forget(t, item);
    } else {
      this.settle(t, item, outcome);
    }
    if (!this.stopped && t.items.length > 0) this.wake(t, Math.max(0, t.notBefore - this.clock.now()));
    this.depths();
  }

  private settle(t: TargetState, item: Queued, outcome: Attempt): void {
    const verdict = verdictOf(outcome);
    const said = describeAttempt(outcome);
    if (verdict === 'delivered') {
      if (t.failures > 0)
        this.deps.log.info({ ...this.where(t), failures: t.failures }, 'notification target recovered');
      t.failures = 0;
      t.notBefore = 0;
      this.deps.onResult?.(item.format, 'delivered');
      this.setHealth(t, { state: 'Delivering' });
      return;
    }
    this.setHealth(t, { state: 'Failing', lastError: said });
    if (verdict === 'reject') {
      this.give(t, item, 'rejected', `${said}: not retried`);
      return;
    }
    t.failures += 1;
    const now = this.clock.now();
    const delay =
      outcome.kind === 'response' && outcome.retryAfterMs !== undefined
        ? outcome.retryAfterMs
        : retryDelayMs(t.failures, this.deps.random);
    t.notBefore = now + delay;
    this.deps.onResult?.(item.format, 'failed');
    // One line per streak milestone (1, 2, 4, 8, … failures), not one per retry.
    if (Number.isInteger(Math.log2(t.failures)))
      this.deps.log.warn(
        { ...this.where(t), reason: item.reason, failures: t.failures, retryInMs: delay, err: said },
        'notification failed; retrying',
      );
    // Back in its place: the order of a target's notifications holds through retries.
    const at = t.items.findIndex((i) => i.seq > item.seq);
    t.items.splice(at < 0 ? t.items.length : at, 0, item);
  }

  /** The target left its Environment (or the Environment is gone): nothing queued for it can go. */
  private forget(t: TargetState, item: Queued): void {
    const lost = [item, ...t.items.splice(0)];
    for (const i of lost) this.deps.onResult?.(i.format, 'dropped');
    this.deps.log.info(
      { ...this.where(t), lost: lost.length },
      'notification target removed; its queue is dropped',
    );
    if (t.inFlight === 0) {
      if (t.timer !== undefined) this.clock.clearTimeout(t.timer);
      this.targets.delete(keyOf(t.ref));
      if (t.health?.state === 'Failing') this.failing();
    }
  }

  private give(t: TargetState, item: Queued, result: Result, why: string): void {
    this.deps.onResult?.(item.format, result);
    this.deps.log.warn(
      {
        ...this.where(t),
        reason: item.reason,
        id: item.id,
        result,
        ageMs: this.clock.now() - item.enqueuedAt,
      },
      `notification given up: ${why}`,
    );
  }

  private setHealth(t: TargetState, next: { state: 'Delivering' | 'Failing'; lastError?: string }): void {
    const prev = t.health;
    const lastError = next.lastError ?? prev?.lastError;
    if (prev?.state === next.state && prev.lastError === lastError) return;
    const since = prev?.state === next.state ? prev.since : new Date(this.clock.now()).toISOString();
    t.health = { name: t.ref.name, state: next.state, since, ...(lastError ? { lastError } : {}) };
    if (prev?.state !== next.state) this.failing();
    this.deps.onHealth?.(t.ref.namespace, t.ref.environment);
  }

  private failing(): void {
    let n = 0;
    for (const t of this.targets.values()) if (t.health?.state === 'Failing') n += 1;
    this.deps.onFailingTargets?.(n);
  }

  private where(t: TargetState) {
    return { namespace: t.ref.namespace, environment: t.ref.environment, target: t.ref.name };
  }

  private depths(): void {
    const n: Record<Format, number> = { json: 0, slack: 0 };
    for (const t of this.targets.values()) for (const i of t.items) n[i.format] += 1;
    for (const [format, depth] of Object.entries(n) as Array<[Format, number]>)
      this.deps.onDepth?.(format, depth);
  }
}
