// A self-healing informer around client-node's ListWatch. ListWatch relists on
// 410 and reconnects after its 30 s idle timeout by itself, but any other error
// (connection refused while the apiserver restarts, 403, 404 for a missing CRD)
// fires 'error' once and stops for good. Here every such stop is followed by a
// restart after a short capped backoff, logged once per outage, not per retry.
import { ListWatch, Watch, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { resourcePath, type KubeClient, type ResourceRef } from './client.js';
import type { Logger } from './log.js';

export type EventType = 'add' | 'update' | 'delete';
export type EventHandler<T> = (type: EventType, obj: T) => void;

export interface InformerOptions {
  /** Restart backoff after an error: doubles from minMs, capped at maxMs. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  labelSelector?: string;
  /** An API that may not be served (a CRD not installed): a 404 means "no objects", rechecked now and then. */
  optional?: boolean;
  onRestart?: (resource: string) => void;
}

export class Informer<T extends KubernetesObject> {
  private lw: ListWatch<T> | undefined;
  private readonly handlers: EventHandler<T>[] = [];
  private stopped = false;
  private failing = false;
  private backoffMs: number;
  private timer: NodeJS.Timeout | undefined;
  private errorsDuringStart = 0;
  private syncedOnce = false;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(
    private readonly client: KubeClient,
    readonly ref: Omit<ResourceRef, 'name' | 'subresource'> & { kind?: string },
    private readonly log: Logger,
    private readonly opts: InformerOptions = {},
  ) {
    this.minBackoffMs = opts.minBackoffMs ?? 100;
    this.maxBackoffMs = opts.maxBackoffMs ?? 2000;
    this.backoffMs = this.minBackoffMs;
  }

  get kind(): string | undefined {
    return this.ref.kind;
  }

  get resource(): string {
    return `${this.ref.resource}.${this.ref.apiVersion}`;
  }

  /** True once the first full list has landed in the cache. */
  get synced(): boolean {
    return this.syncedOnce;
  }

  /** True while the watch is broken and a restart is pending. */
  get healthy(): boolean {
    return this.syncedOnce && !this.failing;
  }

  on(handler: EventHandler<T>): void {
    this.handlers.push(handler);
  }

  /**
   * Objects our own writes returned, newer than what the watch has delivered
   * so far. Reading them instead of the cache keeps a reconcile that follows
   * our write from acting on the state before it (a duplicate write, or a
   * status write doomed to conflict).
   */
  private readonly written = new Map<string, T>();

  /** Records the object a write of ours returned. */
  remember(obj: T): void {
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    const cached = this.lw?.get(obj.metadata?.name ?? '', obj.metadata?.namespace);
    if (newer(obj, cached)) this.written.set(key, trimForCache(structuredClone(obj)) as T);
  }

  get(name: string, namespace?: string): T | undefined {
    const cached = this.lw?.get(name, namespace);
    const key = `${namespace ?? ''}/${name}`;
    const mine = this.written.get(key);
    if (!mine) return cached;
    if (newer(mine, cached)) return mine;
    this.written.delete(key);
    return cached;
  }

  list(namespace?: string): readonly T[] {
    const items = this.lw?.list(namespace) ?? [];
    if (this.written.size === 0) return items;
    return items.map((o) => this.get(o.metadata?.name ?? '', o.metadata?.namespace) ?? o);
  }

  async start(): Promise<void> {
    this.stopped = false;
    const path = resourcePath(this.ref);
    const listFn = async () => {
      const list = await this.client.request<KubernetesListObject<T>>('GET', path, {
        query: { labelSelector: this.opts.labelSelector },
      });
      list.items.forEach(trimForCache);
      return list;
    };
    this.lw = new ListWatch<T>(
      path,
      new TrimmingWatch(this.client.config),
      listFn,
      false,
      this.opts.labelSelector,
    );
    this.lw.on('add', (o) => this.emit('add', o));
    this.lw.on('update', (o) => this.emit('update', o));
    this.lw.on('delete', (o) => this.emit('delete', o));
    this.lw.on('error', (err) => this.onError(err));
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.lw?.stop();
  }

  private emit(type: EventType, obj: T): void {
    for (const h of this.handlers) h(type, obj);
  }

  private async connect(): Promise<void> {
    if (this.stopped || !this.lw) return;
    const errorsBefore = this.errorsDuringStart;
    await this.lw.start();
    // ListWatch.start() resolves once the list is in and the watch is open, or
    // right after reporting an error; only the former counts as a sync.
    if (this.errorsDuringStart === errorsBefore && !this.stopped) {
      if (this.failing) this.log.info({ resource: this.resource }, 'watch recovered');
      this.failing = false;
      this.syncedOnce = true;
      this.backoffMs = this.minBackoffMs;
    }
  }

  private onError(err: unknown): void {
    this.errorsDuringStart++;
    if (this.stopped) return;
    let delay: number;
    if (this.opts.optional && statusOf(err) === 404) {
      if (!this.syncedOnce)
        this.log.info({ resource: this.resource }, 'API not served; watching it once it is installed');
      this.syncedOnce = true;
      this.failing = false;
      delay = 30_000;
    } else {
      if (!this.failing) {
        this.log.warn(
          { resource: this.resource, err: describeError(err), hint: hintFor(err, this.resource) },
          'watch failed; restarting with backoff',
        );
      }
      this.failing = true;
      this.opts.onRestart?.(this.resource);
      delay = this.backoffMs;
      this.backoffMs = Math.min(this.maxBackoffMs, this.backoffMs * 2);
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect().catch((e: unknown) => this.onError(e));
    }, delay);
    this.timer.unref();
  }
}

/**
 * Drops what no reconciler reads and what takes most of an object's memory:
 * managedFields (often half of it) and kubectl's last-applied copy of the spec.
 * Writes never send cached objects' metadata back except resourceVersion.
 */
export function trimForCache(obj: KubernetesObject): KubernetesObject {
  const meta = obj.metadata;
  if (meta) {
    delete meta.managedFields;
    if (meta.annotations && LAST_APPLIED in meta.annotations) {
      const { [LAST_APPLIED]: _dropped, ...rest } = meta.annotations;
      meta.annotations = rest;
    }
  }
  return obj;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** A Watch whose events are trimmed before ListWatch caches them. */
class TrimmingWatch extends Watch {
  override watch(...[path, query, callback, done]: Parameters<Watch['watch']>): ReturnType<Watch['watch']> {
    return super.watch(
      path,
      query,
      (phase, obj: KubernetesObject, raw) => callback(phase, trimForCache(obj), raw),
      done,
    );
  }
}

/**
 * resourceVersions are opaque strings to clients in general; the apiserver
 * backed by etcd hands out increasing integers, and only then do we compare.
 */
function newer(a: KubernetesObject, b: KubernetesObject | undefined): boolean {
  const ra = a.metadata?.resourceVersion;
  const rb = b?.metadata?.resourceVersion;
  if (!ra || !/^\d+$/.test(ra)) return false;
  if (!rb) return b === undefined;
  return /^\d+$/.test(rb) && BigInt(ra) > BigInt(rb);
}

function statusOf(err: unknown): number | undefined {
  if (err && typeof err === 'object') {
    const e = err as { statusCode?: number; status?: number; code?: number };
    return e.statusCode ?? e.status ?? (typeof e.code === 'number' ? e.code : undefined);
  }
  return undefined;
}

function hintFor(err: unknown, resource: string): string | undefined {
  switch (statusOf(err)) {
    case 404:
      return `${resource} is not served: are the CRDs installed? (kubectl apply -f crds/)`;
    case 401:
      return 'the API server rejected our credentials: check the kubeconfig or service account token';
    case 403:
      return `RBAC denies list/watch on ${resource}: apply config/rbac`;
    default:
      return undefined;
  }
}

/** One line for a log: the message and HTTP status, never a stack trace. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const status =
      (err as { statusCode?: number; status?: number }).statusCode ?? (err as { status?: number }).status;
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return [status && `HTTP ${status}`, err.message, cause].filter(Boolean).join(': ');
  }
  if (err && typeof err === 'object' && 'message' in err)
    return String((err as { message: unknown }).message);
  return String(err);
}
