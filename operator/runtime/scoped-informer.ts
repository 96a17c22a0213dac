// One cache view over several informers, one per watched namespace, the way
// controller-runtime's multi-namespace cache works: a list/watch per
// namespace and kind needs only a Role in that namespace, and readers see one
// informer. Namespaces join and leave (a label selector): a new one is listed
// and announced like any other add; the objects of one that left are
// announced deleted, so reconcilers drop what they kept about them.
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
}

export interface ScopedInformerOptions {
  /**
   * A cluster-scoped kind (Namespace): each part holds the object named like
   * its namespace, so objects are found by name, not by namespace.
   */
  clusterScoped?: boolean;
  metadataOnly?: boolean;
}

export class ScopedInformer<T extends KubernetesObject> implements Cache<T> {
  /** Watched namespace → its informer. */
  private readonly parts = new Map<string, Cache<T>>();
  private readonly handlers: EventHandler<T>[] = [];
  private filter: ManagedFieldsFilter | undefined;
  private running = false;

  constructor(
    readonly ref: Cache<T>['ref'],
    namespaces: Iterable<string>,
    private readonly make: (namespace: string) => Cache<T>,
    private readonly opts: ScopedInformerOptions = {},
  ) {
    for (const ns of namespaces) this.add(ns);
  }

  get kind(): string | undefined {
    return this.ref.kind;
  }

  get metadataOnly(): boolean {
    return this.opts.metadataOnly === true;
  }

  get resource(): string {
    return `${this.ref.resource}.${this.ref.apiVersion}`;
  }

  /** The namespaces watched now. */
  get namespaces(): string[] {
    return [...this.parts.keys()];
  }

  get synced(): boolean {
    return [...this.parts.values()].every((p) => p.synced);
  }

  get healthy(): boolean {
    return [...this.parts.values()].every((p) => p.healthy);
  }

  on(handler: EventHandler<T>): void {
    this.handlers.push(handler);
    for (const p of this.parts.values()) p.on(handler);
  }

  keepManagedFields(filter: ManagedFieldsFilter): void {
    this.filter = filter;
    for (const p of this.parts.values()) p.keepManagedFields(filter);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.partOf(name, namespace)?.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    if (namespace !== undefined && !this.opts.clusterScoped)
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
    await Promise.all([...this.parts.values()].map((p) => p.stop()));
  }

  /**
   * Watches exactly `namespaces` from now on. A namespace that left is
   * dropped first: its objects are gone from the view before any new
   * namespace's list arrives. Resolves once the new ones are listed (or
   * failed to list and retry on their own).
   */
  async setNamespaces(namespaces: Iterable<string>): Promise<void> {
    const wanted = new Set(namespaces);
    for (const [ns, part] of [...this.parts]) {
      if (wanted.has(ns)) continue;
      this.parts.delete(ns);
      await part.stop();
      for (const o of part.list()) this.emit('delete', o);
    }
    const added = [...wanted].filter((ns) => !this.parts.has(ns)).map((ns) => this.add(ns));
    if (this.running) await Promise.all(added.map((p) => p.start()));
  }

  private add(namespace: string): Cache<T> {
    const part = this.make(namespace);
    if (this.filter) part.keepManagedFields(this.filter);
    for (const h of this.handlers) part.on(h);
    this.parts.set(namespace, part);
    return part;
  }

  private partOf(name: string, namespace: string | undefined): Cache<T> | undefined {
    return this.parts.get(this.opts.clusterScoped ? name : (namespace ?? ''));
  }

  private emit(type: EventType, obj: T): void {
    for (const h of this.handlers) h(type, obj);
  }
}
