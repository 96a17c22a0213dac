import type { KubernetesObject } from '@kubernetes/client-node';
import type { Environment } from '../api/generated/index.js';
import { ApiError, type KubeClient, type ResourceRef } from '../runtime/client.js';
import { ConfigCache } from './config-source.js';

/** The metadata caches and a client that serves GETs from a map, counting them. */
function world() {
  const objects = new Map<string, KubernetesObject & { data?: Record<string, string> }>();
  const reads: string[] = [];
  const client = {
    async get(ref: ResourceRef) {
      reads.push(`${ref.resource}/${ref.name ?? ''}`);
      await Promise.resolve();
      const o = objects.get(`${ref.resource}/${ref.name ?? ''}`);
      if (!o) throw new ApiError(404, 'NotFound', 'not found');
      return structuredClone(o);
    },
  } as unknown as KubeClient;
  const meta = (resource: string) => ({
    get: (name: string) => {
      const o = objects.get(`${resource}/${name}`);
      return o && { metadata: { name, resourceVersion: o.metadata?.resourceVersion } };
    },
  });
  const cache = new ConfigCache(client, meta('configmaps'), meta('secrets'));
  const put = (resource: string, name: string, rv: string, data: Record<string, string>) =>
    objects.set(`${resource}/${name}`, { metadata: { name, resourceVersion: rv }, data });
  return { cache, reads, put, objects };
}

const env = (rules: NonNullable<Environment['spec']['config']>['rules'] = []): Environment => ({
  apiVersion: 'cutover.dev/v1alpha1',
  kind: 'Environment',
  metadata: { name: 'production', namespace: 'shop' },
  spec: {
    tier: 'production',
    config: { configMapRef: { name: 'shop-config' }, secretRef: { name: 'shop-secrets' }, rules },
  },
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('ConfigCache', () => {
  test('a thousand Releases asking at once cost one read of each object', async () => {
    const w = world();
    w.put('configmaps', 'shop-config', '1', { POOL: '0' });
    w.put('secrets', 'shop-secrets', '1', { DATABASE_URL: b64('mysql://u:pw@db') });
    const e = env([
      { key: 'POOL', type: 'integer', minimum: 1 },
      { key: 'DATABASE_URL', pattern: '^postgres://' },
    ]);
    const all = await Promise.all(Array.from({ length: 1000 }, () => w.cache.facts(e)));
    expect(w.reads).toEqual(['configmaps/shop-config', 'secrets/shop-secrets']);
    expect(all[999]?.violations.map((v) => v.key)).toEqual(['POOL', 'DATABASE_URL']);
    expect(JSON.stringify(all[0])).not.toContain('pw@db');
  });

  test('a new resourceVersion is read again; the same one is not', async () => {
    const w = world();
    w.put('configmaps', 'shop-config', '1', { POOL: '0' });
    w.put('secrets', 'shop-secrets', '1', {});
    const e = env([{ key: 'POOL', type: 'integer', minimum: 1 }]);
    const before = await w.cache.facts(e);
    await w.cache.facts(e);
    w.put('configmaps', 'shop-config', '2', { POOL: '5' });
    const after = await w.cache.facts(e);
    expect(w.reads).toEqual([
      'configmaps/shop-config',
      'secrets/shop-secrets',
      'configmaps/shop-config',
      'secrets/shop-secrets',
    ]);
    expect(before?.violations).toHaveLength(1);
    expect(after?.violations).toEqual([]);
    expect(after?.hash).not.toBe(before?.hash);
  });

  test('changed rules are evaluated again', async () => {
    const w = world();
    w.put('configmaps', 'shop-config', '1', { POOL: '0' });
    w.put('secrets', 'shop-secrets', '1', {});
    expect((await w.cache.facts(env()))?.violations).toEqual([]);
    expect(
      (await w.cache.facts(env([{ key: 'POOL', type: 'integer', minimum: 1 }])))?.violations,
    ).toHaveLength(1);
  });

  test('a ConfigMap the metadata cache does not hold is missing, without a read', async () => {
    const w = world();
    w.put('secrets', 'shop-secrets', '1', {});
    const facts = await w.cache.facts(env([{ key: 'A', required: true }]));
    expect(facts).toEqual({ missing: ['ConfigMap "shop-config"'], violations: [] });
    expect(w.reads).toEqual(['secrets/shop-secrets']);
  });

  test('gone between the watch and the read: missing', async () => {
    const w = world();
    w.put('configmaps', 'shop-config', '1', {});
    w.put('secrets', 'shop-secrets', '1', {});
    const e = env();
    const getter = w.objects.get('configmaps/shop-config');
    // The metadata cache still holds it, the apiserver no longer does.
    w.objects.delete('configmaps/shop-config');
    const cache = new ConfigCache(
      { get: async () => Promise.reject(new ApiError(404, 'NotFound', 'gone')) } as unknown as KubeClient,
      { get: () => getter },
      { get: () => ({ metadata: { name: 'shop-secrets', resourceVersion: '1' } }) },
    );
    expect((await cache.facts(e))?.missing).toEqual(['ConfigMap "shop-config"', 'Secret "shop-secrets"']);
  });

  test('a failed read is not remembered', async () => {
    let fail = true;
    const client = {
      get: async () => {
        if (fail) throw new ApiError(500, 'InternalError', 'boom');
        return { metadata: { name: 'x' }, data: {} };
      },
    } as unknown as KubeClient;
    const held = { get: () => ({ metadata: { name: 'x', resourceVersion: '1' } }) };
    const cache = new ConfigCache(client, held, held);
    await expect(cache.facts(env())).rejects.toThrow('boom');
    fail = false;
    await expect(cache.facts(env())).resolves.toMatchObject({ violations: [] });
  });

  test('nothing referenced and no rule: no facts', () => {
    const w = world();
    const bare: Environment = { ...env(), spec: { tier: 'development' } };
    expect(w.cache.facts(bare)).toBeUndefined();
    expect(w.cache.facts(undefined)).toBeUndefined();
  });
});
