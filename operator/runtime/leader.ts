// Lease-based leader election with client-go's timings: a 15 s lease, renewed
// every 2 s, given up when no renewal has succeeded for 10 s. Giving up before
// the lease expires is what keeps two replicas from ever writing at once: a
// leader cut off from the API server stops writing 5 s before a standby may
// take over. Expiry is judged by this replica's own clock from when it last saw
// the record change, never by comparing timestamps across machines.
import { ApiError, type KubeClient } from './client.js';
import { describeError } from './informer.js';
import type { Logger } from './log.js';
import { realClock, type Clock } from './queue.js';

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

const microTime = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

export class LeaderElector {
  private lastRenewAt = -Infinity;
  private observed: { record: string; at: number } | undefined;
  private stopped = false;
  private timer: unknown;
  private leading = false;
  private failing = false;
  private inflight: Promise<void> = Promise.resolve();
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderOptions,
    private readonly log: Logger,
    private readonly callbacks: { onStartedLeading?: () => void; onStoppedLeading?: () => void } = {},
    private readonly clock: Clock = realClock,
  ) {
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
  }

  /** True only while the last successful renewal is within the renew deadline. */
  isLeader(): boolean {
    return this.leading && this.clock.now() - this.lastRenewAt < this.renewDeadlineMs;
  }

  start(): void {
    this.stopped = false;
    this.run();
  }

  private run(): void {
    this.inflight = this.tick();
  }

  /** Stops campaigning and, if leading, hands the lease back so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    // A round already on the wire may still win the lease: wait for it, then hand back what it won.
    await this.inflight;
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const lease = await this.client.get<Lease>(this.ref());
      if (lease.spec.holderIdentity === this.opts.identity) {
        lease.spec = {
          ...lease.spec,
          holderIdentity: null,
          leaseDurationSeconds: 1,
          renewTime: microTime(this.clock.now()),
        };
        await this.client.replace(this.ref(), lease);
      }
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'could not release the leader lease; it expires on its own');
    }
  }

  private ref() {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      resource: 'leases',
      namespace: this.opts.namespace,
      name: this.opts.name,
    };
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.tryAcquireOrRenew();
      this.failing = false;
    } catch (err) {
      // One line per outage, not one every retry period.
      if (!this.failing)
        this.log.warn({ err: describeError(err), leading: this.leading }, 'leader lease update failed');
      this.failing = true;
    }
    if (this.leading && !this.isLeader()) {
      this.log.error('could not renew the leader lease within the renew deadline; stopping writes');
      this.setLeading(false);
    }
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => this.run(), this.retryMs);
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const now = this.clock.now();
    const spec = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      renewTime: microTime(now),
    };
    let lease: Lease;
    try {
      lease = await this.client.get<Lease>(this.ref());
    } catch (err) {
      if (!(err instanceof ApiError && err.isNotFound)) throw err;
      await this.client.create(this.ref(), {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.opts.name, namespace: this.opts.namespace },
        spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
      } satisfies Lease);
      this.renewed(now);
      return;
    }
    const holder = lease.spec.holderIdentity ?? '';
    const record = `${holder}|${lease.spec.renewTime ?? ''}|${lease.spec.leaseDurationSeconds ?? ''}`;
    if (this.observed?.record !== record) this.observed = { record, at: now };
    const durationMs = (lease.spec.leaseDurationSeconds ?? 15) * 1000;
    const expired = now >= this.observed.at + durationMs;
    if (holder && holder !== this.opts.identity && !expired) {
      if (this.leading) this.setLeading(false);
      return;
    }
    const transition = holder !== this.opts.identity;
    lease.spec = {
      ...lease.spec,
      ...spec,
      acquireTime: transition ? microTime(now) : lease.spec.acquireTime,
      leaseTransitions: (lease.spec.leaseTransitions ?? 0) + (transition ? 1 : 0),
    };
    try {
      await this.client.replace(this.ref(), lease);
    } catch (err) {
      // Someone else wrote the lease first: they lead this round.
      if (err instanceof ApiError && err.isConflict) return;
      throw err;
    }
    this.renewed(now);
  }

  private renewed(at: number): void {
    this.lastRenewAt = at;
    this.observed = undefined;
    if (!this.leading) this.setLeading(true);
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    this.log.info(
      { identity: this.opts.identity, lease: `${this.opts.namespace}/${this.opts.name}` },
      leading ? 'became leader' : 'lost leadership',
    );
    if (leading) this.callbacks.onStartedLeading?.();
    else this.callbacks.onStoppedLeading?.();
  }
}
