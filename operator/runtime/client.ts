// A thin REST client over the kubeconfig's transport. The typed client-node
// APIs hide subresources and patch content types behind middleware; every write
// the operator makes goes through here instead, so there is one place that
// sets the field manager, counts writes and maps errors.
import type { KubernetesObject } from '@kubernetes/client-node';
import { fetch, type Response } from 'undici';
import type { Decision } from './journal.js';
import type { ClusterAccess, Connection } from './kubeconfig.js';

export const FIELD_MANAGER = 'cutover';

export type PatchType = 'apply' | 'merge' | 'json';

const contentTypes: Record<PatchType, string> = {
  apply: 'application/apply-patch+yaml',
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get isConflict(): boolean {
    return this.status === 409;
  }
  get isNotFound(): boolean {
    return this.status === 404;
  }
  get isForbidden(): boolean {
    return this.status === 403;
  }
}

export interface ResourceRef {
  apiVersion: string;
  /** Lower-case plural resource name, e.g. "releases". */
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: 'status' | 'scale';
}

export function resourcePath({ apiVersion, resource, namespace, name, subresource }: ResourceRef): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  let path = base;
  if (namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${resource}`;
  if (name) path += `/${encodeURIComponent(name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}

/**
 * What a write to `path` touches. `resource` is a bounded metric label:
 * "releases/status" for /apis/cutover.dev/v1alpha1/namespaces/x/releases/y/status.
 * `namespace` is the one written into (x there, and x for the Namespace x
 * itself); undefined for a cluster-scoped object or collection.
 */
export function pathParts(path: string): { resource: string; namespace?: string } {
  const parts = path.split('?')[0]?.split('/').filter(Boolean) ?? [];
  let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  const namespace = rest[0] === 'namespaces' && rest[1] ? decodeURIComponent(rest[1]) : undefined;
  if (rest[0] === 'namespaces' && rest.length > 2) rest = rest.slice(2);
  const [resource = '', , sub] = rest;
  return { resource: sub ? `${resource}/${sub}` : resource, namespace };
}

export interface WriteObserver {
  /** Called before every write; throwing here stops the write (not the leader, outside the watch scope). */
  onWrite?(verb: string, resource: string, namespace: string | undefined): void;
  /** Called with the object a successful write returned. */
  onWritten?(obj: KubernetesObject): void;
  /** Called with every decision recorded through this client, before its Event is written. */
  onDecision?(d: Decision): void;
}

const AUTH_TTL_MS = 30_000;
/** Names us in the apiserver's audit log and metrics. */
const USER_AGENT = 'cutover-operator/v1alpha1';

export class KubeClient {
  private conn: { at: number; value: Promise<Connection> } | undefined;

  constructor(
    readonly access: ClusterAccess,
    private readonly observer: WriteObserver = {},
    private readonly timeoutMs = 30_000,
  ) {}

  /** Hands a decision to the audit trail and notifications (see runtime/journal.ts). */
  decided(d: Decision): void {
    this.observer.onDecision?.(d);
  }

  get server(): string {
    return this.access.server;
  }

  /**
   * Headers and connection pool, re-read every 30 s so rotated tokens and
   * certificates are picked up without running an exec plugin or reading a
   * token file per request. The pool itself lives as long as its TLS material.
   */
  private connection(): Promise<Connection> {
    const now = Date.now();
    if (!this.conn || now - this.conn.at > AUTH_TTL_MS) {
      const value = this.access.connect();
      this.conn = { at: now, value };
      // A failed read (an exec plugin that failed) is retried by the next request, not cached.
      value.catch(() => {
        if (this.conn?.value === value) this.conn = undefined;
      });
    }
    return this.conn.value;
  }

  /**
   * A GET whose body the caller reads as a stream (watches). `signal` ends it;
   * there is no overall timeout, only the caller's own.
   */
  async stream(
    path: string,
    query: Record<string, string | undefined>,
    signal: AbortSignal,
    accept = 'application/json',
  ): Promise<Response> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    const { headers, dispatcher } = await this.connection();
    const res = await fetch(url, {
      headers: { ...headers, accept, 'user-agent': USER_AGENT },
      dispatcher,
      signal,
    });
    if (!res.ok) throw await apiError('GET', url, res);
    return res;
  }

  async request<T>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    opts: {
      body?: unknown;
      contentType?: string;
      query?: Record<string, string | undefined>;
      /** Another representation than the object itself (PartialObjectMetadata). */
      accept?: string;
    } = {},
  ): Promise<T> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const conn = await this.connection();
    const headers: Record<string, string> = {
      ...conn.headers,
      accept: opts.accept ?? 'application/json',
      'user-agent': USER_AGENT,
    };
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      body = JSON.stringify(opts.body);
    }
    if (method !== 'GET') {
      const { resource, namespace } = pathParts(path);
      this.observer.onWrite?.(method, resource, namespace);
    }
    const res = await fetch(url, {
      method,
      headers,
      body,
      dispatcher: conn.dispatcher,
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!res.ok) throw await apiError(method, url, res);
    const text = await res.text();
    const result = (text ? JSON.parse(text) : undefined) as T;
    if (method !== 'GET' && method !== 'DELETE' && result && typeof result === 'object' && 'kind' in result) {
      this.observer.onWritten?.(result as KubernetesObject);
    }
    return result;
  }

  get<T extends KubernetesObject>(ref: ResourceRef): Promise<T> {
    return this.request<T>('GET', resourcePath(ref));
  }

  /** Server-side apply of the fields in `obj`, owned by field manager cutover. */
  apply<T extends KubernetesObject>(ref: ResourceRef, obj: T, { force = true } = {}): Promise<T> {
    return this.request<T>('PATCH', resourcePath(ref), {
      body: obj,
      contentType: contentTypes.apply,
      query: { fieldManager: FIELD_MANAGER, force: String(force) },
    });
  }

  patch<T extends KubernetesObject>(
    ref: ResourceRef,
    patch: unknown,
    type: Exclude<PatchType, 'apply'>,
  ): Promise<T> {
    return this.request<T>('PATCH', resourcePath(ref), {
      body: patch,
      contentType: contentTypes[type],
      query: { fieldManager: FIELD_MANAGER },
    });
  }

  create<T extends KubernetesObject>(ref: ResourceRef, obj: T): Promise<T> {
    // Creation goes to the collection; the name travels in the body.
    return this.request<T>('POST', resourcePath({ ...ref, name: undefined }), {
      body: obj,
      query: { fieldManager: FIELD_MANAGER },
    });
  }

  replace<T extends KubernetesObject>(ref: ResourceRef, obj: T): Promise<T> {
    return this.request<T>('PUT', resourcePath(ref), { body: obj, query: { fieldManager: FIELD_MANAGER } });
  }

  delete(ref: ResourceRef, propagationPolicy: 'Background' | 'Foreground' = 'Background'): Promise<unknown> {
    return this.request('DELETE', resourcePath(ref), { body: { propagationPolicy } });
  }
}

/** An ApiError from a failed response, with the apiserver's Status reason and message when it sent one. */
async function apiError(method: string, url: URL, res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let reason = res.statusText;
  let message = text;
  try {
    const status = JSON.parse(text) as { reason?: string; message?: string };
    reason = status.reason ?? reason;
    message = status.message ?? message;
  } catch {
    // not a Status object; keep the raw text
  }
  return new ApiError(res.status, reason, `${method} ${url.pathname}: ${res.status} ${message}`);
}
