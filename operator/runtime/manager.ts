// Wires informers, one work queue per kind, leader election and the write
// guard. Controllers declare what they watch; the manager turns events into
// keys, runs reconcilers only while this replica leads, and resyncs everything
// when it becomes leader so a standby picks up exactly where the leader was.
// A watch scope (--namespaces, --namespace-selector) turns every namespaced
// informer into one list/watch per watched namespace, and the write guard
// refuses any write into a namespace outside it.
import type { KubernetesObject } from '@kubernetes/client-node';
import { KubeClient, type ResourceRef } from './client.js';
import { Informer, describeError, type EventType, type ManagedFieldsFilter } from './informer.js';
import type { DecisionSink } from './journal.js';
import { OutOfScopeError, type WatchScope } from './scope.js';
import { ScopedInformer, WatchedNamespaces, type Cache } from './scoped-informer.js';
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
  /** Namespaces (the only cluster-scoped kind watched): within --namespaces, just the watched ones. */
  clusterScoped?: boolean;
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
  /** The namespaces watched and written; every namespace by default. */
  scope?: WatchScope;
}

export class Manager {
  /** Client for reconcilers: refuses to write unless this replica leads, and outside the watch scope. */
  readonly client: KubeClient;
  private readonly informers = new Map<string, Cache<KubernetesObject>>();
  private readonly controllers: Array<{
    controller: Controller;
    queue: WorkQueue;
    informer: Cache<KubernetesObject>;
  }> = [];
  /** The namespaces in the watch scope now; undefined when it is every namespace. */
  private readonly watched: WatchedNamespaces | undefined;
  private readonly scoped: ScopedInformer<KubernetesObject>[] = [];
  /** --namespace-selector: the namespaces whose labels match, watched cluster-wide (metadata only). */
  private readonly selection: Informer<KubernetesObject> | undefined;
  private leader: LeaderElector | undefined;
  private running: Promise<void>[] = [];
  private started = false;
  private readonly sinks: DecisionSink[] = [];
  private readonly stopHooks: Array<() => Promise<void>> = [];
  private readonly stoppedLeadingHooks: Array<() => void> = [];

  constructor(
    access: ClusterAccess,
    private readonly log: Logger,
    private readonly metrics: OperatorMetrics,
    private readonly opts: ManagerOptions = {},
  ) {
    this.client = new KubeClient(access, {
      onWrite: (verb, resource, namespace) => {
        const refused = this.refusal(namespace);
        if (refused) throw refused;
        this.metrics.apiWrites.inc({ verb, resource });
      },
      // Only the leader decides; a standby's reconciles never reach here with a write.
      // A reconcile still in flight in a namespace that left decides nothing: its writes are refused.
      onDecision: (d) => {
        if (this.refusal(d.object.namespace)) return;
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
    const scope = opts.scope ?? { kind: 'cluster' };
    if (scope.kind === 'namespaces') this.watched = new WatchedNamespaces(scope.namespaces, this.scoped);
    if (scope.kind === 'selector') {
      // Per-namespace informers started and stopped as namespaces match, rather
      // than cluster-wide informers filtered by namespace label: the cache holds
      // only the tenant group's objects, and the namespaced RBAC the
      // --namespaces variant needs (a RoleBinding per namespace) is enough for
      // all but this one list/watch of namespaces. The price is a watch per
      // namespace and kind (12 connections, ~3 MiB per namespace: docs/runtime.md).
      this.watched = new WatchedNamespaces([], this.scoped, (namespace) =>
        this.log.info({ namespace }, 'namespace joined the watch scope: every kind listed'),
      );
      this.selection = new Informer(
        this.client,
        { apiVersion: 'v1', resource: 'namespaces', kind: 'Namespace' },
        this.log,
        {
          labelSelector: scope.selector,
          metadataOnly: true,
          onRestart: (resource) => this.metrics.informerRestarts.inc({ resource }),
        },
      );
    }
  }

  /** Whether `namespace` is in the watch scope (its objects are cached and may be written). */
  watches(namespace: string): boolean {
    return this.watched?.has(namespace) ?? true;
  }

  /** Why this replica may not act in `namespace` (undefined: cluster-scoped), or undefined if it may. */
  private refusal(namespace: string | undefined): NotLeaderError | OutOfScopeError | undefined {
    if (!this.isLeader()) return new NotLeaderError();
    return namespace === undefined || this.watches(namespace) ? undefined : new OutOfScopeError(namespace);
  }

  /** Subscribes to every decision recorded through the client (audit trail, notifications). */
  onDecision(sink: DecisionSink): void {
    this.sinks.push(sink);
  }

  /** Runs at stop, after the reconciles in flight finished (a delivery queue winding down). */
  onStop(hook: () => Promise<void>): void {
    this.stopHooks.push(hook);
  }

  /** Runs when this replica stops leading: for state only a leader keeps (a delivery queue). */
  onStoppedLeading(hook: () => void): void {
    this.stoppedLeadingHooks.push(hook);
  }

  /** The leader elector's word that this replica no longer leads. */
  stoppedLeading(): void {
    for (const hook of this.stoppedLeadingHooks) {
      try {
        hook();
      } catch (err) {
        this.log.error({ err: describeError(err) }, 'a stopped-leading hook failed');
      }
    }
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
  informer<T extends KubernetesObject>(ref: InformerRef, { optional = false } = {}): Cache<T> {
    // A metadata-only informer is another cache than the full one of the same resource.
    const id = `${ref.resource}.${ref.apiVersion}${ref.metadataOnly ? '#metadata' : ''}`;
    let inf = this.informers.get(id);
    if (!inf) {
      const make = (namespace?: string, object?: string) =>
        new Informer<KubernetesObject>(this.client, { ...ref, namespace }, this.log, {
          optional,
          // One Namespace object is read by name: a selector would hide it from the watch, not from the read.
          labelSelector: object === undefined ? ref.labelSelector : undefined,
          metadataOnly: ref.metadataOnly,
          object,
          onRestart: (resource) => this.metrics.informerRestarts.inc({ resource }),
        });
      // A selector scope may list namespaces cluster-wide anyway; a fixed list may not.
      const perNamespace = this.watched !== undefined && !(ref.clusterScoped && this.selection);
      if (!perNamespace) inf = make();
      else {
        if (ref.clusterScoped && ref.resource !== 'namespaces')
          throw new Error(`${ref.resource} is cluster-scoped: it cannot be watched within --namespaces`);
        const scoped = new ScopedInformer<KubernetesObject>(ref, this.watched?.names ?? [], (ns) =>
          ref.clusterScoped ? make(undefined, ns) : make(ns),
        );
        this.scoped.push(scoped);
        inf = scoped;
      }
      this.informers.set(id, inf);
    }
    if (ref.keepManagedFields) inf.keepManagedFields(ref.keepManagedFields);
    return inf as unknown as Cache<T>;
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

  private get caches(): Cache<KubernetesObject>[] {
    return [...(this.selection ? [this.selection] : []), ...this.informers.values()];
  }

  /** Informers are synced: the cache holds a full list of every watched resource. */
  get synced(): boolean {
    return this.caches.every((i) => i.synced);
  }

  /** Ready: synced and no watch is currently broken. */
  get ready(): boolean {
    return this.caches.every((i) => i.healthy);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (this.selection) {
      // Subscribed after the first rescope, which reads the cache: not one rescope per listed namespace.
      await this.selection.start();
      const first = this.rescope();
      this.selection.on(() => void this.rescope());
      await first;
    }
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
    await Promise.all(this.caches.map((i) => i.stop()));
  }

  /**
   * Brings the watch scope in line with the namespaces the selector matches
   * now. Writes into a namespace that left stop before its objects leave the
   * caches (a reconcile in flight there fails its write and is dropped); a
   * namespace that joined is reconciled once every kind has listed it, like at
   * start. Resolves when the joins are done.
   */
  private rescope(): Promise<void> {
    if (!this.watched || !this.selection) return Promise.resolve();
    const wanted = new Set(this.selection.list().map((n) => n.metadata?.name ?? ''));
    const { added, removed, joined } = this.watched.moveTo(wanted);
    if (added.length > 0 || removed.length > 0)
      this.log.info({ added, removed, namespaces: wanted.size }, 'watch scope changed');
    return joined;
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
      const skipped = err instanceof NotLeaderError || err instanceof OutOfScopeError;
      this.metrics.reconciles.inc({ kind, result: skipped ? 'skipped' : 'error' });
      if (skipped) return;
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
