// Wires informers, one work queue per kind, leader election and the write
// guard. Controllers declare what they watch; the manager turns events into
// keys, runs reconcilers only while this replica leads, and resyncs everything
// when it becomes leader so a standby picks up exactly where the leader was.
import type { KubernetesObject } from '@kubernetes/client-node';
import { KubeClient, type ResourceRef } from './client.js';
import { Informer, describeError, type EventType, type ManagedFieldsFilter } from './informer.js';
import type { DecisionSink } from './journal.js';
import type { ClusterAccess } from './kubeconfig.js';
import type { LeaderElector } from './leader.js';
import type { Logger } from './log.js';
import type { OperatorMetrics } from './metrics.js';
import { WorkQueue, type Outcome } from './queue.js';

export type InformerRef = Omit<ResourceRef, 'name' | 'subresource' | 'namespace'> & {
  kind: string;
  /** Cache only objects with these labels (what we own), not every object of the kind in the cluster. */
  labelSelector?: string;
  /**
   * managedFields entries the cache keeps (by default none). Informers are
   * shared: the filter of any ref naming the resource applies to all of them.
   */
  keepManagedFields?: ManagedFieldsFilter;
  /** Cache only metadata (PartialObjectMetadata), never the objects' data: see InformerOptions. */
  metadataOnly?: boolean;
};

export interface ObjectKey {
  namespace: string;
  name: string;
}

export const keyOf = (o: KubernetesObject): string =>
  `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export function parseKey(key: string): ObjectKey {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export interface Watch {
  ref: InformerRef;
  /** Keys of primary objects to reconcile when this object changes. */
  map(obj: KubernetesObject): string[];
  /** A watch on an API that may be absent (a CRD not installed) is started only if it is served. */
  optional?: boolean;
  /** Only these events map (all by default): a watch on the primary kind itself may want deletions only. */
  events?: readonly EventType[];
  /**
   * Only a new generation (or a new or deleted object) maps to keys, not a
   * write to its status or metadata alone: for a watched kind whose status
   * changes often and concerns none of the keys.
   */
  generationChangesOnly?: boolean;
}

export interface Controller {
  kind: string;
  primary: InformerRef;
  /** Owned kinds: an event on an object whose controller ownerReference is our kind enqueues the owner. */
  owns?: InformerRef[];
  watches?: Watch[];
  /**
   * Only a new generation (or a new or deleted object) of the primary
   * enqueues it, not a write to its status or metadata alone: for a kind
   * whose own status writes would otherwise wake it straight back up, and
   * which paces itself with requeueAfterMs.
   */
  generationChangesOnly?: boolean;
  reconcile(key: ObjectKey): Promise<Outcome | undefined>;
}

export interface Clock {
  now?: () => Date;
}

export interface ManagerOptions {
  workers?: number;
}

export class Manager {
  /** Client for reconcilers: refuses to write unless this replica leads. */
  readonly client: KubeClient;
  private readonly informers = new Map<string, Informer<KubernetesObject>>();
  private readonly controllers: Array<{
    controller: Controller;
    queue: WorkQueue;
    informer: Informer<KubernetesObject>;
  }> = [];
  private leader: LeaderElector | undefined;
  private running: Promise<void>[] = [];
  private started = false;
  private readonly sinks: DecisionSink[] = [];
  private readonly stopHooks: Array<() => Promise<void>> = [];

  constructor(
    access: ClusterAccess,
    private readonly log: Logger,
    private readonly metrics: OperatorMetrics,
    private readonly opts: ManagerOptions = {},
  ) {
    this.client = new KubeClient(access, {
      onWrite: (verb, resource) => {
        if (this.leader && !this.leader.isLeader()) throw new NotLeaderError();
        this.metrics.apiWrites.inc({ verb, resource });
      },
      // Only the leader decides; a standby's reconciles never reach here with a write.
      onDecision: (d) => {
        if (!this.isLeader()) return;
        for (const sink of this.sinks) {
          try {
            sink(d);
          } catch (err) {
            this.log.error({ err: String(err), reason: d.reason }, 'a decision sink failed');
          }
        }
      },
      onWritten: (obj) => {
        for (const inf of this.informers.values())
          if (inf.kind === obj.kind && inf.ref.apiVersion === obj.apiVersion && !inf.metadataOnly)
            inf.remember(obj);
      },
    });
  }

  /** Subscribes to every decision recorded through the client (audit trail, notifications). */
  onDecision(sink: DecisionSink): void {
    this.sinks.push(sink);
  }

  /** Runs at stop, after the reconciles in flight finished (a delivery queue winding down). */
  onStop(hook: () => Promise<void>): void {
    this.stopHooks.push(hook);
  }

  /** Wakes a controller for a key no informer event would bring (a notification target's health). */
  enqueue(kind: string, key: string): void {
    for (const { controller, queue } of this.controllers) if (controller.kind === kind) queue.add(key);
  }

  setLeaderElector(leader: LeaderElector): void {
    this.leader = leader;
  }

  isLeader(): boolean {
    return !this.leader || this.leader.isLeader();
  }

  /** The shared informer for a resource, created on first use. */
  informer<T extends KubernetesObject>(ref: InformerRef, { optional = false } = {}): Informer<T> {
    // A metadata-only informer is another cache than the full one of the same resource.
    const id = `${ref.resource}.${ref.apiVersion}${ref.metadataOnly ? '#metadata' : ''}`;
    let inf = this.informers.get(id);
    if (!inf) {
      inf = new Informer<KubernetesObject>(this.client, ref, this.log, {
        optional,
        labelSelector: ref.labelSelector,
        metadataOnly: ref.metadataOnly,
        onRestart: (resource) => this.metrics.informerRestarts.inc({ resource }),
      });
      this.informers.set(id, inf);
    }
    if (ref.keepManagedFields) inf.keepManagedFields(ref.keepManagedFields);
    return inf as unknown as Informer<T>;
  }

  register(controller: Controller): void {
    const kind = controller.kind;
    const queue = new WorkQueue(undefined, undefined, {
      onDepth: (depth) => this.metrics.queueDepth.set({ kind }, depth),
      onRetry: (key, failures, delayMs, error) => {
        this.metrics.reconcileErrors.inc({ kind });
        // One line per failure streak milestone, not one per retry.
        if (failures === 1 || Number.isInteger(Math.log2(failures))) {
          this.log.warn(
            { kind, key, failures, retryInMs: delayMs, err: describeError(error) },
            'reconcile failed',
          );
        }
      },
    });
    const primary = this.informer(controller.primary);
    const seen = controller.generationChangesOnly ? new GenerationFilter() : undefined;
    primary.on((type, obj) => {
      if (seen?.unchanged(type, obj)) return;
      queue.add(keyOf(obj));
    });
    for (const owned of controller.owns ?? []) {
      this.informer(owned).on((_type, obj) => {
        for (const ref of obj.metadata?.ownerReferences ?? []) {
          if (ref.controller && ref.kind === kind && ref.apiVersion === controller.primary.apiVersion) {
            queue.add(`${obj.metadata?.namespace ?? ''}/${ref.name}`);
          }
        }
      });
    }
    for (const w of controller.watches ?? []) {
      const seen = w.generationChangesOnly ? new GenerationFilter() : undefined;
      this.informer(w.ref, { optional: w.optional }).on((type, obj) => {
        if (seen?.unchanged(type, obj)) return;
        if (!w.events || w.events.includes(type)) w.map(obj).forEach((k) => queue.add(k));
      });
    }
    this.controllers.push({ controller, queue, informer: primary });
  }

  /** Informers are synced: the cache holds a full list of every watched resource. */
  get synced(): boolean {
    return [...this.informers.values()].every((i) => i.synced);
  }

  /** Ready: synced and no watch is currently broken. */
  get ready(): boolean {
    return [...this.informers.values()].every((i) => i.healthy);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await Promise.all([...this.informers.values()].map((i) => i.start()));
    for (const entry of this.controllers) {
      const { controller, queue } = entry;
      this.running.push(queue.run((key) => this.handle(controller, key), this.opts.workers ?? 16));
    }
  }

  /** Enqueues every primary object of every controller (after gaining leadership, or on demand). */
  resync(): void {
    for (const { informer, queue } of this.controllers) for (const o of informer.list()) queue.add(keyOf(o));
  }

  /** Finishes the items in flight, then stops informers. */
  async stop(): Promise<void> {
    for (const { queue } of this.controllers) queue.shutdown();
    await Promise.all(this.running);
    await Promise.all(this.stopHooks.map((hook) => hook()));
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }

  private async handle(controller: Controller, key: string): Promise<Outcome | undefined> {
    // A standby drops keys; becoming leader resyncs them all.
    if (!this.isLeader()) return;
    const kind = controller.kind;
    const end = this.metrics.reconcileDuration.startTimer({ kind });
    try {
      const outcome = await controller.reconcile(parseKey(key));
      this.metrics.reconciles.inc({ kind, result: 'success' });
      return outcome;
    } catch (err) {
      this.metrics.reconciles.inc({ kind, result: err instanceof NotLeaderError ? 'skipped' : 'error' });
      if (err instanceof NotLeaderError) return;
      throw err;
    } finally {
      end();
    }
  }
}

/** Remembers each object's generation, to tell a spec change from a status or metadata write. */
class GenerationFilter {
  private readonly generations = new Map<string, number | undefined>();

  /** True for an update that left the generation as it was (and is not a deletion starting). */
  unchanged(type: EventType, obj: KubernetesObject): boolean {
    const key = keyOf(obj);
    const generation = obj.metadata?.generation;
    const unchanged =
      type === 'update' &&
      this.generations.has(key) &&
      this.generations.get(key) === generation &&
      !obj.metadata?.deletionTimestamp;
    if (type === 'delete') this.generations.delete(key);
    else this.generations.set(key, generation);
    return unchanged;
  }
}

export class NotLeaderError extends Error {
  constructor() {
    super('not the leader: write refused');
    this.name = 'NotLeaderError';
  }
}
