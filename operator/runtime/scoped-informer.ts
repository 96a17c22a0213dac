// One cache view over several informers, one per watched namespace, the way
// controller-runtime's multi-namespace cache works: a list/watch per
// namespace and kind needs only a Role in that namespace, and readers see one
// informer. Namespaces join and leave (a label selector), moved across every
// kind together by WatchedNamespaces: a reconcile that saw a joining
// namespace's Releases before its Deployments were listed would take them for
// deleted (drift, an unavailable slot, alerts, a re-apply).
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ManagedFieldsFilter } from './cache-objects.js';
import type { ResourceRef } from './client.js';
import type { EventHandler, EventType } from './informer.js';

/** What reconcilers and the manager use of an informer; an Informer and a ScopedInformer are both one. */
export interface Cache<T extends KubernetesObject> {
  readonly ref: Omit<ResourceRef, 'name' | 'subresource'> & { kind?: string };
  readonly kind: string | undefined;
  readonly metadataOnly: boolean;
  readonly resource: string;
  readonly synced: boolean;
  readonly healthy: boolean;
  on(handler: EventHandler<T>): void;
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
  remember(obj: T): void;
  keepManagedFields(filter: ManagedFieldsFilter): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves once synced, however many restarts the first list takes. */
  whenSynced(): Promise<void>;
}

export type ScopedRef = Cache<KubernetesObject>['ref'] & {
  /**
   * A cluster-scoped kind (Namespace): each part holds the object named like
   * its namespace, so objects are found by name, not by namespace.
   */
  clusterScoped?: boolean;
  metadataOnly?: boolean;
};

interface Staged<T extends KubernetesObject> {
  part: Cache<T>;
  /** True once listed; false if dropped first. */
  listed: Promise<boolean>;
  cancel: () => void;
}

export class ScopedInformer<T extends KubernetesObject> implements Cache<T> {
  /** Watched namespace → its informer, seen by readers and announcing its events. */
  private readonly parts = new Map<string, Cache<T>>();
  /** Joining namespaces: listed and watched already, but neither seen nor announced until commit(). */
  private readonly staged = new Map<string, Staged<T>>();
  private readonly handlers: EventHandler<T>[] = [];
  private filter: ManagedFieldsFilter | undefined;
  private running = false;

  constructor(
    readonly ref: ScopedRef,
    namespaces: Iterable<string>,
    private readonly make: (namespace: string) => Cache<T>,
  ) {
    for (const ns of namespaces) this.add(ns);
  }

  get kind(): string | undefined {
    return this.ref.kind;
  }

  get metadataOnly(): boolean {
    return this.ref.metadataOnly === true;
  }

  get resource(): string {
    return `${this.ref.resource}.${this.ref.apiVersion}`;
  }

  /** The namespaces watched and seen now. */
  get namespaces(): string[] {
    return [...this.parts.keys()];
  }

  // A joining namespace that cannot be listed (no Role there yet) is a broken watch like any other.
  private get all(): Cache<T>[] {
    return [...this.parts.values(), ...[...this.staged.values()].map((s) => s.part)];
  }

  get synced(): boolean {
    return this.all.every((p) => p.synced);
  }

  get healthy(): boolean {
    return this.all.every((p) => p.healthy);
  }

  async whenSynced(): Promise<void> {
    await Promise.all([...this.parts.values()].map((p) => p.whenSynced()));
  }

  on(handler: EventHandler<T>): void {
    this.handlers.push(handler);
    for (const p of this.parts.values()) p.on(handler);
  }

  keepManagedFields(filter: ManagedFieldsFilter): void {
    this.filter = filter;
    for (const p of this.all) p.keepManagedFields(filter);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.partOf(name, namespace)?.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    if (namespace !== undefined && !this.ref.clusterScoped)
      return this.parts.get(namespace)?.list(namespace) ?? [];
    return [...this.parts.values()].flatMap((p) => p.list(namespace));
  }

  remember(obj: T): void {
    this.partOf(obj.metadata?.name ?? '', obj.metadata?.namespace)?.remember(obj);
  }

  async start(): Promise<void> {
    this.running = true;
    await Promise.all([...this.parts.values()].map((p) => p.start()));
  }

  async stop(): Promise<void> {
    this.running = false;
    const staged = [...this.staged.values()];
    this.staged.clear();
    for (const s of staged) s.cancel();
    await Promise.all([...this.parts.values(), ...staged.map((s) => s.part)].map((p) => p.stop()));
  }

  /**
   * Starts listing and watching `namespace` without showing or announcing
   * any of its objects: resolves true once it is listed (commit() then shows
   * it), false if it is dropped first. Before start() nothing needs holding
   * back, since no queue runs yet: the namespace is watched at once, and
   * start() lists it with the others.
   */
  stage(namespace: string): Promise<boolean> {
    if (this.parts.has(namespace)) return Promise.resolve(true);
    if (!this.running) {
      this.add(namespace);
      return Promise.resolve(true);
    }
    const existing = this.staged.get(namespace);
    if (existing) return existing.listed;
    const part = this.build(namespace);
    let cancel = (): void => undefined;
    const dropped = new Promise<boolean>((resolve) => (cancel = () => resolve(false)));
    const listed = Promise.race([part.whenSynced().then(() => true), dropped]);
    this.staged.set(namespace, { part, listed, cancel });
    void part.start();
    return listed;
  }

  /**
   * Shows a staged namespace. Returns what announces its objects as added (as
   * its list would have), for the caller to run once every kind shows it.
   */
  commit(namespace: string): () => void {
    const s = this.staged.get(namespace);
    if (!s) return () => undefined;
    this.staged.delete(namespace);
    this.parts.set(namespace, s.part);
    for (const h of this.handlers) s.part.on(h);
    const listed = s.part.list();
    return () => {
      for (const o of listed) this.emit('add', o);
    };
  }

  /**
   * Stops watching `namespace` and hides its objects at once. Returns what
   * announces them deleted, for the caller to run once every kind has dropped
   * the namespace: a reconcile woken by one deletion then finds none of it.
   */
  drop(namespace: string): () => void {
    const s = this.staged.get(namespace);
    if (s) {
      this.staged.delete(namespace);
      s.cancel();
      void s.part.stop();
    }
    const part = this.parts.get(namespace);
    if (!part) return () => undefined;
    this.parts.delete(namespace);
    void part.stop();
    const gone = part.list();
    return () => {
      for (const o of gone) this.emit('delete', o);
    };
  }

  private add(namespace: string): void {
    const part = this.build(namespace);
    for (const h of this.handlers) part.on(h);
    this.parts.set(namespace, part);
  }

  /** A part for `namespace`, keeping the managedFields the others keep; neither started nor shown. */
  private build(namespace: string): Cache<T> {
    const part = this.make(namespace);
    if (this.filter) part.keepManagedFields(this.filter);
    return part;
  }

  private partOf(name: string, namespace: string | undefined): Cache<T> | undefined {
    return this.parts.get(this.ref.clusterScoped ? name : (namespace ?? ''));
  }

  private emit(type: EventType, obj: T): void {
    for (const h of this.handlers) h(type, obj);
  }
}

/**
 * The namespaces of a scope that changes (a label selector), moved across
 * every ScopedInformer together, so no reconcile sees a namespace half there.
 * One that joins is staged in all of them and shown in all at once when every
 * kind has listed it; one that leaves is hidden from all at once (and no
 * longer writable) before any of its objects is announced deleted.
 */
export class WatchedNamespaces {
  private readonly visible: Set<string>;
  /** Namespace → its join in progress; compared by identity, as it may leave and join again meanwhile. */
  private readonly joining = new Map<string, object>();

  constructor(
    initial: Iterable<string>,
    private readonly informers: readonly ScopedInformer<KubernetesObject>[],
    private readonly onJoined: (namespace: string) => void = () => undefined,
  ) {
    this.visible = new Set(initial);
  }

  /** Whether `namespace` is seen by readers and may be written. */
  has(namespace: string): boolean {
    return this.visible.has(namespace);
  }

  get names(): string[] {
    return [...this.visible];
  }

  /**
   * Moves to `wanted`. Leaving is done on return; the promise resolves once
   * every namespace that joined is shown. A namespace whose lists keep failing
   * (no Role there yet) stays staged, retrying on its own, without holding up
   * later changes.
   */
  moveTo(wanted: ReadonlySet<string>): { added: string[]; removed: string[]; joined: Promise<void> } {
    const removed = [...this.visible, ...this.joining.keys()].filter((ns) => !wanted.has(ns));
    for (const ns of removed) {
      this.visible.delete(ns);
      this.joining.delete(ns);
    }
    const announce = removed.flatMap((ns) => this.informers.map((inf) => inf.drop(ns)));
    for (const deleted of announce) deleted();
    const added = [...wanted].filter((ns) => !this.visible.has(ns) && !this.joining.has(ns));
    return { added, removed, joined: Promise.all(added.map((ns) => this.join(ns))).then(() => undefined) };
  }

  private async join(namespace: string): Promise<void> {
    const attempt = {};
    this.joining.set(namespace, attempt);
    const listed = await Promise.all(this.informers.map((inf) => inf.stage(namespace)));
    if (this.joining.get(namespace) !== attempt || !listed.every(Boolean)) return;
    this.joining.delete(namespace);
    this.visible.add(namespace);
    const announce = this.informers.map((inf) => inf.commit(namespace));
    for (const added of announce) added();
    this.onJoined(namespace);
  }
}
