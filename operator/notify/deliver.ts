// Delivery: one bounded queue per target, drained by timers, never by the
// reconcile that took the decision (enqueue returns at once). A target has one
// POST out at a time, so it hears its notifications in the order they were
// decided, retries included. A target that fails backs off as a whole
// (1 s → 5 min, jittered, longer if Retry-After asks). A notification is
// given up when its target refuses it (4xx) or when it is older than an hour,
// and both are counted and logged. Everything is in memory and belongs to the
// leader: what is queued when the process stops or stops leading is lost (and
// said in the log), and so is the state of a target that left its Environment.
import type { NotificationHealth, NotificationTarget } from '../api/generated/index.js';
import type { Logger } from '../runtime/log.js';
import { realClock, type Clock } from '../runtime/queue.js';
import type { Format } from './body.js';
import type { Post } from './http.js';
import { MAX_AGE_MS, describeAttempt, nextAttemptDelayMs, verdictOf, type Attempt } from './retry.js';
import { SecretProblem } from '../runtime/secret-values.js';

/** Notifications waiting per target; the oldest goes first when it is full. */
export const QUEUE_LIMIT = 200;

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
  /** Targets with notifications waiting whose last attempt failed; called when the count changes. */
  onFailingTargets?(count: number): void;
  /** A target's health changed (state or error): its Environment's status follows. */
  onHealth?(namespace: string, environment: string): void;
}

interface Queued extends Outgoing {
  enqueuedAt: number;
}

interface TargetState {
  ref: TargetRef;
  items: Queued[];
  /** A POST is out; the next one waits for its answer. */
  sending: boolean;
  /** Failed attempts in a row; 0 while healthy. */
  failures: number;
  /** No attempt starts before this instant (backoff). */
  notBefore: number;
  timer?: unknown;
  health?: NotificationHealth;
}

const environmentOf = (t: Pick<TargetRef, 'namespace' | 'environment'>) => `${t.namespace}/${t.environment}`;

export class Notifier {
  /** By Environment (namespace/name), then target name: an Environment's event looks at its targets only. */
  private readonly targets = new Map<string, Map<string, TargetState>>();
  private readonly running = new Set<Promise<void>>();
  private readonly clock: Clock;
  private stopped = false;
  /** Lost at stop by POSTs that were out and failed: counted in the stop log line. */
  private lostAtStop = 0;
  private failingReported = 0;

  constructor(private readonly deps: NotifierDeps) {
    this.clock = deps.clock ?? realClock;
  }

  /** Queues a notification and returns at once; a timer starts the POST. */
  enqueue(n: Outgoing): void {
    if (this.stopped) return;
    let env = this.targets.get(environmentOf(n.target));
    if (!env) this.targets.set(environmentOf(n.target), (env = new Map()));
    let t = env.get(n.target.name);
    if (!t) {
      t = { ref: n.target, items: [], sending: false, failures: 0, notBefore: 0 };
      env.set(n.target.name, t);
    }
    if (t.items.length >= QUEUE_LIMIT) {
      const oldest = t.items.shift();
      if (oldest) this.give(t, oldest, 'dropped', `the queue of ${QUEUE_LIMIT} is full`);
    }
    t.items.push({ ...n, enqueuedAt: this.clock.now() });
    this.report();
    this.wake(t, 0);
  }

  /** Health of the targets of one Environment, by target name. */
  health(namespace: string, environment: string): Map<string, NotificationHealth> {
    const out = new Map<string, NotificationHealth>();
    for (const t of this.of(namespace, environment)) if (t.health) out.set(t.ref.name, t.health);
    return out;
  }

  /** Notifications waiting or in flight. */
  get pending(): number {
    let n = 0;
    for (const t of this.all()) n += t.items.length + (t.sending ? 1 : 0);
    return n;
  }

  /**
   * The target names an Environment defines now (none once it is deleted or
   * its namespace left the watch scope). Any other target of it is forgotten:
   * its queue dropped and counted, its health gone, so nothing reports a
   * target that no longer exists as failing.
   */
  retain(namespace: string, environment: string, names: readonly string[]): void {
    for (const t of this.of(namespace, environment))
      if (!names.includes(t.ref.name)) this.discard(t, 'notification target removed; its queue is dropped');
    this.report();
  }

  /**
   * This replica stopped leading: every queue is dropped (the new leader sends
   * the decisions it takes) and every health forgotten, so a standby reports
   * no failing target. Enqueueing works again once it leads again.
   */
  reset(): void {
    const lost = this.discardAll();
    this.report();
    if (lost > 0) this.deps.log.warn({ lost }, 'notifications not delivered: this replica stopped leading');
  }

  /** Stops starting attempts, waits for those in flight; what is still queued is lost, and said. */
  async stop(): Promise<void> {
    this.stopped = true;
    let lost = this.discardAll();
    this.report();
    await Promise.allSettled([...this.running]);
    lost += this.lostAtStop;
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
    if (this.stopped || t.sending || !this.holds(t)) return;
    const now = this.clock.now();
    if (now < t.notBefore) return this.wake(t, t.notBefore - now);
    let item = t.items.shift();
    while (item && now - item.enqueuedAt > MAX_AGE_MS) {
      this.give(t, item, 'expired', `undelivered after ${MAX_AGE_MS / 60_000} min`);
      item = t.items.shift();
    }
    if (item) {
      t.sending = true;
      const p = this.attempt(t, item).finally(() => this.running.delete(p));
      this.running.add(p);
    }
    this.report();
  }

  private async attempt(t: TargetState, item: Queued): Promise<void> {
    const spec = this.deps.target(t.ref);
    if (!spec) {
      t.sending = false;
      this.discard(t, 'notification target removed; its queue is dropped', item);
      this.report();
      return;
    }
    let outcome: Attempt;
    try {
      outcome = await this.deps.post(await this.deps.url(t.ref.namespace, spec), item.body);
    } catch (err) {
      // Only a SecretProblem's words are safe to repeat; anything else may quote what it read.
      outcome = {
        kind: 'error',
        error: err instanceof SecretProblem ? err.message : 'reading the URL failed',
      };
    }
    t.sending = false;
    if (this.stopped || !this.holds(t)) {
      // Stopping, or the target was forgotten while this POST was out: it is not tried again.
      const delivered = verdictOf(outcome) === 'delivered';
      if (!delivered && this.stopped) this.lostAtStop += 1;
      this.deps.onResult?.(item.format, delivered ? 'delivered' : 'dropped');
      return;
    }
    this.settle(t, item, outcome);
    if (t.items.length > 0) this.wake(t, Math.max(0, t.notBefore - this.clock.now()));
    this.report();
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
    const delay = nextAttemptDelayMs(
      t.failures,
      outcome.kind === 'response' ? outcome.retryAfterMs : undefined,
      this.deps.random,
    );
    t.notBefore = this.clock.now() + delay;
    this.deps.onResult?.(item.format, 'failed');
    // One line per streak milestone (1, 2, 4, 8, … failures), not one per retry.
    if (Number.isInteger(Math.log2(t.failures)))
      this.deps.log.warn(
        { ...this.where(t), reason: item.reason, failures: t.failures, retryInMs: delay, err: said },
        'notification failed; retrying',
      );
    // Back at the head: the order of a target's notifications holds through retries.
    t.items.unshift(item);
  }

  /** Whether `t` is still the state of its target (not forgotten while a POST was out). */
  private holds(t: TargetState): boolean {
    return this.targets.get(environmentOf(t.ref))?.get(t.ref.name) === t;
  }

  /** The targets of one Environment, copied: discarding some while going through them is safe. */
  private of(namespace: string, environment: string): TargetState[] {
    return [...(this.targets.get(environmentOf({ namespace, environment }))?.values() ?? [])];
  }

  private *all(): Generator<TargetState> {
    for (const env of this.targets.values()) yield* env.values();
  }

  /** Forgets a target: its queue (and `also`) dropped and counted; returns how many. */
  private discard(t: TargetState, say?: string, also?: Queued): number {
    const lost = [...(also ? [also] : []), ...t.items.splice(0)];
    for (const i of lost) this.deps.onResult?.(i.format, 'dropped');
    if (t.timer !== undefined) this.clock.clearTimeout(t.timer);
    t.timer = undefined;
    const env = this.targets.get(environmentOf(t.ref));
    env?.delete(t.ref.name);
    if (env?.size === 0) this.targets.delete(environmentOf(t.ref));
    if (say && lost.length > 0) this.deps.log.info({ ...this.where(t), lost: lost.length }, say);
    return lost.length;
  }

  private discardAll(): number {
    let lost = 0;
    for (const t of [...this.all()]) lost += this.discard(t);
    return lost;
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
    this.deps.onHealth?.(t.ref.namespace, t.ref.environment);
  }

  private where(t: TargetState) {
    return { namespace: t.ref.namespace, environment: t.ref.environment, target: t.ref.name };
  }

  /**
   * Queue depths, and the targets failing to deliver: Failing with something
   * still to send. A target whose last notification was refused or expired,
   * with nothing left, is not failing anything now (the give-up is counted).
   */
  private report(): void {
    const depth: Record<Format, number> = { json: 0, slack: 0 };
    let failing = 0;
    for (const t of this.all()) {
      for (const i of t.items) depth[i.format] += 1;
      if (t.health?.state === 'Failing' && (t.items.length > 0 || t.sending)) failing += 1;
    }
    for (const [format, n] of Object.entries(depth) as Array<[Format, number]>)
      this.deps.onDepth?.(format, n);
    if (failing !== this.failingReported) {
      this.failingReported = failing;
      this.deps.onFailingTargets?.(failing);
    }
  }
}
