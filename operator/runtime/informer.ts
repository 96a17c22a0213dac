// A self-healing informer: list (in pages), then watch from the list's
// resourceVersion, keeping a cache of the objects. 410 Gone relists; the end
// of a watch (the server's timeout, or no byte for a while) resumes from the
// last resourceVersion; any other error (connection refused while the
// apiserver restarts, 403, 404 for a missing CRD) restarts it after a short
// capped backoff, logged once per outage, not per retry.
//
// Why not client-node's ListWatch: its module graph (cache.js → serializer →
// every generated model) costs ~15 MiB of RSS, its Watch builds a new
// connection pool per watch and aborts after 30 s without data (one reconnect
// per quiet resource every 30 s), and it reads each list in one piece. This
// one shares the client's pool, asks for bookmarks so a quiet watch stays
// open until the server's timeout, and lists 500 objects a page so the burst
// of a relist is one page of JSON, not the whole collection.
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { newer, trimForCache, type ManagedFieldsFilter } from './cache-objects.js';
import { ApiError, resourcePath, type KubeClient, type ResourceRef } from './client.js';
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
  /** Objects per list page. */
  pageSize?: number;
  /** managedFields entries to keep in the cache (all others are dropped); see trimForCache. */
  keepManagedFields?: ManagedFieldsFilter;
  /**
   * Cache metadata only (PartialObjectMetadata): enough to know an object
   * exists and when it changed, without holding its data. For kinds read by
   * name when needed (ConfigMaps, Secrets), of which the cluster has many.
   */
  metadataOnly?: boolean;
  /**
   * Only this one cluster-scoped object (a Namespace of a namespaced watch
   * scope): read by name, watched through the legacy /watch/ path. For a
   * Namespace these are the forms RBAC authorizes with a Role inside that
   * namespace; a list filtered by metadata.name is a cluster-scope request.
   */
  object?: string;
}

export type { ManagedFieldsFilter } from './cache-objects.js';

// The apiserver's metadata-only representation (what client-go's metadata informers ask for).
const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const METADATA_WATCH = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/** A watch with no byte for this long is presumed dead; bookmarks arrive about once a minute. */
const WATCH_IDLE_MS = 90_000;

interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T & { code?: number; reason?: string; message?: string };
}

export class Informer<T extends KubernetesObject> {
  /** namespace → name → object, as the last list and the watch since left them. */
  private readonly store = new Map<string, Map<string, T>>();
  /** Where the watch resumes; '' means relist first. */
  private resourceVersion = '';
  private readonly handlers: EventHandler<T>[] = [];
  private stopped = false;
  private failing = false;
  private backoffMs: number;
  private timer: NodeJS.Timeout | undefined;
  private syncedOnce = false;
  /** Bumped by every (re)start so a watch loop of an earlier start ends quietly. */
  private run = 0;
  private abort: AbortController | undefined;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly firstSync: Promise<void>;
  private markSynced: () => void = () => undefined;

  constructor(
    private readonly client: KubeClient,
    readonly ref: Omit<ResourceRef, 'name' | 'subresource'> & { kind?: string },
    private readonly log: Logger,
    private readonly opts: InformerOptions = {},
  ) {
    this.minBackoffMs = opts.minBackoffMs ?? 100;
    this.maxBackoffMs = opts.maxBackoffMs ?? 2000;
    this.backoffMs = this.minBackoffMs;
    this.firstSync = new Promise((resolve) => (this.markSynced = resolve));
  }

  /** Keeps the managedFields entries `filter` selects from now on; set before start, it applies to every object. */
  keepManagedFields(filter: ManagedFieldsFilter): void {
    this.opts.keepManagedFields = filter;
  }

  /**
   * A metadata-only cache keeps no annotations either: nothing reads them, and
   * a Secret's may hold kubectl's last-applied copy of its data.
   */
  private trim<O extends KubernetesObject>(obj: O): O {
    trimForCache(obj, this.opts.keepManagedFields);
    if (this.opts.metadataOnly && obj.metadata) delete obj.metadata.annotations;
    return obj;
  }

  get kind(): string | undefined {
    return this.ref.kind;
  }

  /** Holds PartialObjectMetadata, not whole objects. */
  get metadataOnly(): boolean {
    return this.opts.metadataOnly === true;
  }

  get resource(): string {
    return `${this.ref.resource}.${this.ref.apiVersion}`;
  }

  /** True once the first full list has landed in the cache. */
  get synced(): boolean {
    return this.syncedOnce;
  }

  /** Resolves once the first full list is in the cache, after however many restarts. */
  whenSynced(): Promise<void> {
    return this.firstSync;
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
    const cached = this.cached(obj.metadata?.name ?? '', obj.metadata?.namespace);
    if (newer(obj, cached)) this.written.set(key, this.trim(structuredClone(obj)));
  }

  get(name: string, namespace?: string): T | undefined {
    const cached = this.cached(name, namespace);
    const key = `${namespace ?? ''}/${name}`;
    const mine = this.written.get(key);
    if (!mine) return cached;
    if (newer(mine, cached)) return mine;
    this.written.delete(key);
    return cached;
  }

  list(namespace?: string): readonly T[] {
    const items =
      namespace === undefined
        ? [...this.store.values()].flatMap((m) => [...m.values()])
        : [...(this.store.get(namespace)?.values() ?? [])];
    if (this.written.size === 0) return items;
    return items.map((o) => this.get(o.metadata?.name ?? '', o.metadata?.namespace) ?? o);
  }

  private cached(name: string, namespace: string | undefined): T | undefined {
    return this.store.get(namespace ?? '')?.get(name);
  }

  /** Resolves once the first list is in the cache, or after reporting why it is not (a restart is then scheduled). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.run++;
    if (this.timer) clearTimeout(this.timer);
    this.abort?.abort();
  }

  private emit(type: EventType, obj: T): void {
    for (const h of this.handlers) h(type, obj);
  }

  /** A fresh list, then the watch loop in the background. */
  private async connect(): Promise<void> {
    if (this.stopped) return;
    const run = ++this.run;
    try {
      await this.relist(run);
    } catch (err) {
      if (run === this.run) this.onError(err);
      return;
    }
    if (run !== this.run) return;
    if (this.failing) this.log.info({ resource: this.resource }, 'watch recovered');
    this.failing = false;
    this.syncedOnce = true;
    this.markSynced();
    this.backoffMs = this.minBackoffMs;
    void this.watchLoop(run);
  }

  private async watchLoop(run: number): Promise<void> {
    try {
      while (run === this.run) {
        if (!this.resourceVersion) await this.relist(run);
        if (run !== this.run) return;
        await this.watchOnce(run);
      }
    } catch (err) {
      if (run === this.run) this.onError(err);
    }
  }

  /** Lists page by page and brings the cache in line: adds, updates and deletes for what changed. */
  private async relist(run: number): Promise<void> {
    const path = resourcePath(this.ref);
    const fresh = new Map<string, Map<string, T>>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.page(path, cont);
      if (run !== this.run) return;
      // An empty PartialObjectMetadataList comes without items.
      for (const o of page.items ?? []) {
        this.trim(o);
        const ns = o.metadata?.namespace ?? '';
        let m = fresh.get(ns);
        if (!m) fresh.set(ns, (m = new Map()));
        m.set(o.metadata?.name ?? '', o);
      }
      // Raw JSON, not client-node's model: the field is `continue` on the wire
      // (the model's `_continue` is its own renaming, and never set here).
      cont = (page.metadata as { continue?: string } | undefined)?.continue || undefined;
      // The list's resourceVersion is the snapshot every page belongs to (the first page's).
      rv ||= page.metadata?.resourceVersion ?? '';
    } while (cont);
    const old = new Map(this.store);
    this.store.clear();
    for (const [ns, m] of fresh) this.store.set(ns, m);
    this.resourceVersion = rv;
    for (const [ns, before] of old) {
      for (const [name, o] of before) {
        if (!fresh.get(ns)?.has(name)) {
          this.written.delete(`${ns}/${name}`);
          this.emit('delete', o);
        }
      }
    }
    for (const [ns, m] of fresh) for (const [name, o] of m) this.announce(o, old.get(ns)?.get(name));
  }

  private async page(path: string, cont: string | undefined): Promise<KubernetesListObject<T>> {
    const { object } = this.opts;
    if (object === undefined) {
      return this.client.request<KubernetesListObject<T>>('GET', path, {
        query: {
          labelSelector: this.opts.labelSelector,
          limit: String(this.opts.pageSize ?? 500),
          continue: cont,
        },
        accept: this.opts.metadataOnly ? METADATA_LIST : undefined,
      });
    }
    const list = (items: T[], resourceVersion: string) => ({
      apiVersion: 'v1',
      kind: 'List',
      metadata: { resourceVersion },
      items,
    });
    try {
      const o = await this.client.request<T>('GET', resourcePath({ ...this.ref, name: object }));
      return list([o], o.metadata?.resourceVersion ?? '0');
    } catch (err) {
      // Not there (yet): the watch from "any version" announces its creation.
      if (statusOf(err) === 404) return list([], '0');
      throw err;
    }
  }

  private watchPath(): string {
    const path = resourcePath(this.ref);
    if (this.opts.object === undefined) return path;
    const i = path.lastIndexOf('/');
    return `${path.slice(0, i)}/watch${path.slice(i)}/${encodeURIComponent(this.opts.object)}`;
  }

  /** Watches from the current resourceVersion until the server ends the watch or it goes quiet. */
  private async watchOnce(run: number): Promise<void> {
    const abort = new AbortController();
    this.abort = abort;
    let idle = setTimeout(() => abort.abort(), WATCH_IDLE_MS);
    try {
      // Like client-go: the server ends each watch after 5–10 min so connections spread over apiservers.
      const res = await this.client.stream(
        this.watchPath(),
        {
          watch: 'true',
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(300 + Math.floor(Math.random() * 300)),
          labelSelector: this.opts.labelSelector,
        },
        abort.signal,
        this.opts.metadataOnly ? METADATA_WATCH : undefined,
      );
      if (!res.body) return;
      const decoder = new TextDecoder();
      let buffered = '';
      for await (const chunk of res.body) {
        clearTimeout(idle);
        idle = setTimeout(() => abort.abort(), WATCH_IDLE_MS);
        buffered += decoder.decode(chunk, { stream: true });
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (run !== this.run) return;
          if (line.trim()) this.apply(JSON.parse(line) as WatchEvent<T>);
          if (!this.resourceVersion) return;
        }
      }
    } catch (err) {
      // Our own abort: stopped, or quiet too long (resume from the last resourceVersion).
      if (abort.signal.aborted) return;
      throw err;
    } finally {
      clearTimeout(idle);
      abort.abort();
    }
  }

  private apply(e: WatchEvent<T>): void {
    const obj = e.object;
    if (e.type === 'ERROR') {
      // 410 Gone: our resourceVersion fell out of the apiserver's window; relist.
      if (obj.code === 410) {
        this.resourceVersion = '';
        return;
      }
      throw new ApiError(obj.code ?? 500, obj.reason ?? 'WatchError', obj.message ?? 'watch error');
    }
    this.resourceVersion = obj.metadata?.resourceVersion ?? this.resourceVersion;
    if (e.type === 'BOOKMARK') return;
    this.trim(obj);
    const ns = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    let m = this.store.get(ns);
    if (e.type === 'DELETED') {
      if (!m?.delete(name)) return;
      if (m.size === 0) this.store.delete(ns);
      this.written.delete(`${ns}/${name}`);
      this.emit('delete', obj);
      return;
    }
    if (!m) this.store.set(ns, (m = new Map()));
    const before = m.get(name);
    m.set(name, obj);
    this.announce(obj, before);
  }

  /** add for a new object, update for a changed one, nothing for the same version. */
  private announce(obj: T, before: T | undefined): void {
    if (!before) this.emit('add', obj);
    else if (before.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit('update', obj);
  }

  private onError(err: unknown): void {
    if (this.stopped) return;
    let delay: number;
    if (this.opts.optional && statusOf(err) === 404) {
      if (!this.syncedOnce)
        this.log.info({ resource: this.resource }, 'API not served; watching it once it is installed');
      this.syncedOnce = true;
      this.markSynced();
      this.failing = false;
      delay = 30_000;
    } else {
      if (!this.failing) {
        this.log.warn(
          {
            resource: this.resource,
            namespace: this.ref.namespace ?? this.opts.object,
            err: describeError(err),
            hint: hintFor(err, this.resource, this.ref.namespace ?? this.opts.object),
          },
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
      void this.connect();
    }, delay);
    this.timer.unref();
  }
}

function statusOf(err: unknown): number | undefined {
  if (err && typeof err === 'object') {
    const e = err as { statusCode?: number; status?: number; code?: number };
    return e.statusCode ?? e.status ?? (typeof e.code === 'number' ? e.code : undefined);
  }
  return undefined;
}

function hintFor(err: unknown, resource: string, namespace: string | undefined): string | undefined {
  switch (statusOf(err)) {
    case 404:
      return `${resource} is not served: are the CRDs installed? (kubectl apply -f crds/)`;
    case 401:
      return 'the API server rejected our credentials: check the kubeconfig or service account token';
    case 403:
      return namespace === undefined
        ? `RBAC denies list/watch on ${resource}: apply config/rbac`
        : `RBAC denies list/watch on ${resource} in namespace ${namespace}: bind the operator's Role there (docs/runtime.md, Watch scope)`;
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
