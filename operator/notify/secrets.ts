// Webhook URLs from Secrets. Secrets are watched metadata-only; a value is
// read by name when its Secret's resourceVersion moved since the last read,
// so a rotated URL is used from the next attempt on and an unchanged one costs
// no API call. Only the requested keys are kept in memory, and only while a
// target still names them and their Secret exists.
import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import type { SecretKeySelector } from '../api/generated/index.js';
import { ApiError, type KubeClient } from '../runtime/client.js';
import { getOptional } from '../runtime/lookup.js';

/** A Secret that cannot give a URL: said in status and logs as is (names only, never a value). */
export class SecretProblem extends Error {}

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
      throw new SecretProblem(`Secret "${ref.name}" not found`);
    }
    const id = `${namespace}/${ref.name}/${ref.key}`;
    let hit = this.cache.get(id);
    if (!hit || hit.resourceVersion !== (meta.metadata?.resourceVersion ?? '')) {
      const secret = await this.read(namespace, ref.name);
      if (!secret) throw new SecretProblem(`Secret "${ref.name}" not found`);
      const raw = secret.data?.[ref.key];
      hit = {
        resourceVersion: secret.metadata?.resourceVersion ?? '',
        value: raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8').trim(),
      };
      this.cache.set(id, hit);
    }
    if (!hit.value) throw new SecretProblem(`Secret "${ref.name}" has no key "${ref.key}"`);
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
