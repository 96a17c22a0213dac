// Values of Secret keys, for webhook URLs (notify/) and database URLs
// (release/analysis.ts). Secrets are watched metadata-only; a value is read by
// name when its Secret's resourceVersion moved since the last read, so a
// rotated value is used from the next use on and an unchanged one costs no API
// call. Only the requested keys are kept in memory, and only while their Secret
// exists (and, for webhooks, while a target still names them).
import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import type { SecretKeySelector } from '../api/generated/index.js';
import { ApiError, type KubeClient } from './client.js';
import { getOptional } from './lookup.js';
import type { Cache } from './scoped-informer.js';

/** A Secret that cannot give a value: said in status and logs as is (names only, never a value). */
export class SecretProblem extends Error {}

/** The Secret or its key does not exist (rather than a read that failed). */
export class SecretMissing extends SecretProblem {}

type MetadataCache = { get(name: string, namespace?: string): KubernetesObject | undefined };

export class SecretValues {
  private readonly cache = new Map<string, { resourceVersion: string; value: string | undefined }>();

  constructor(
    private readonly client: KubeClient,
    private readonly secrets: MetadataCache,
  ) {}

  /** Values held in memory. */
  get size(): number {
    return this.cache.size;
  }

  async value(namespace: string, ref: SecretKeySelector): Promise<string> {
    const meta = this.secrets.get(ref.name, namespace);
    if (!meta) {
      this.forgetSecret(namespace, ref.name);
      throw new SecretMissing(`Secret "${ref.name}" not found`);
    }
    const id = `${namespace}/${ref.name}/${ref.key}`;
    let hit = this.cache.get(id);
    if (!hit || hit.resourceVersion !== (meta.metadata?.resourceVersion ?? '')) {
      const secret = await this.read(namespace, ref.name);
      if (!secret) throw new SecretMissing(`Secret "${ref.name}" not found`);
      const raw = secret.data?.[ref.key];
      hit = {
        resourceVersion: secret.metadata?.resourceVersion ?? '',
        value: raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8').trim(),
      };
      this.cache.set(id, hit);
    }
    if (!hit.value) throw new SecretMissing(`Secret "${ref.name}" has no key "${ref.key}"`);
    return hit.value;
  }

  /** The Secret is gone (deleted, or its namespace left the watch scope): its values go too. */
  forgetSecret(namespace: string, name: string): void {
    for (const id of this.cache.keys()) if (id.startsWith(`${namespace}/${name}/`)) this.cache.delete(id);
  }

  /** Keeps the values of `namespace` that some target still names; the others go. */
  retain(namespace: string, named: readonly SecretKeySelector[]): void {
    const keep = new Set(named.map((r) => `${namespace}/${r.name}/${r.key}`));
    for (const id of this.cache.keys())
      if (id.startsWith(`${namespace}/`) && !keep.has(id)) this.cache.delete(id);
  }

  private async read(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await getOptional<V1Secret>(this.client, 'v1', 'secrets', namespace, name);
    } catch (err) {
      // The status code says enough (403: RBAC); the API's message is not repeated.
      const status = err instanceof ApiError ? ` (HTTP ${err.status})` : '';
      throw new SecretProblem(`reading Secret "${name}" failed${status}`);
    }
  }
}

/** Values over the Secret metadata informer; a deleted Secret's values go with it. */
export function watchedSecretValues(client: KubeClient, metadata: Cache<KubernetesObject>): SecretValues {
  const values = new SecretValues(client, metadata);
  metadata.on((type, s) => {
    if (type === 'delete') values.forgetSecret(s.metadata?.namespace ?? '', s.metadata?.name ?? '');
  });
  return values;
}
