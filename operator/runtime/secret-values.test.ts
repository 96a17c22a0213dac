import type { KubernetesObject } from '@kubernetes/client-node';
import { ApiError, type KubeClient } from './client.js';
import { SecretProblem, SecretValues } from './secret-values.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function setup() {
  const meta = new Map<string, KubernetesObject>();
  const secrets = new Map<string, { rv: string; data: Record<string, string> }>();
  let reads = 0;
  let fail: Error | undefined;
  const client = {
    get: (ref: { namespace?: string; name?: string }) => {
      reads += 1;
      if (fail) return Promise.reject(fail);
      const s = secrets.get(`${ref.namespace ?? ''}/${ref.name ?? ''}`);
      if (!s) return Promise.reject(new ApiError(404, 'NotFound', 'not found'));
      return Promise.resolve({ metadata: { resourceVersion: s.rv }, data: s.data });
    },
  } as unknown as KubeClient;
  const put = (name: string, rv: string, data: Record<string, string>) => {
    secrets.set(`shop/${name}`, { rv, data });
    meta.set(`shop/${name}`, { metadata: { name, namespace: 'shop', resourceVersion: rv } });
  };
  const remove = (name: string) => {
    secrets.delete(`shop/${name}`);
    meta.delete(`shop/${name}`);
  };
  const values = new SecretValues(client, { get: (name, ns) => meta.get(`${ns ?? ''}/${name}`) });
  return {
    values,
    put,
    remove,
    reads: () => reads,
    failWith: (e: Error | undefined) => (fail = e),
  };
}

const ref = { name: 'hooks', key: 'ops' };

describe('SecretValues', () => {
  test('reads a value once per resourceVersion, trimmed', async () => {
    const s = setup();
    s.put('hooks', '1', { ops: b64('https://hooks.example/a\n') });
    expect(await s.values.value('shop', ref)).toBe('https://hooks.example/a');
    expect(await s.values.value('shop', ref)).toBe('https://hooks.example/a');
    expect(s.reads()).toBe(1);
    s.put('hooks', '2', { ops: b64('https://hooks.example/b') });
    expect(await s.values.value('shop', ref)).toBe('https://hooks.example/b');
    expect(s.reads()).toBe(2);
  });

  test('a missing Secret or key is a SecretProblem naming them, never a value', async () => {
    const s = setup();
    await expect(s.values.value('shop', ref)).rejects.toThrow(new SecretProblem('Secret "hooks" not found'));
    expect(s.reads()).toBe(0);
    s.put('hooks', '1', { other: b64('https://hooks.example/secret') });
    await expect(s.values.value('shop', ref)).rejects.toThrow('Secret "hooks" has no key "ops"');
  });

  test('a failed read says its status, not the API message', async () => {
    const s = setup();
    s.put('hooks', '1', { ops: b64('x') });
    s.failWith(new ApiError(403, 'Forbidden', 'secrets "hooks" is forbidden: User "x" cannot get'));
    await expect(s.values.value('shop', ref)).rejects.toThrow(
      new SecretProblem('reading Secret "hooks" failed (HTTP 403)'),
    );
  });

  test('a deleted Secret: its values leave memory, at its deletion or at the next read', async () => {
    const s = setup();
    s.put('hooks', '1', { ops: b64('https://hooks.example/a'), chat: b64('https://hooks.example/c') });
    await s.values.value('shop', ref);
    await s.values.value('shop', { name: 'hooks', key: 'chat' });
    expect(s.values.size).toBe(2);
    s.values.forgetSecret('shop', 'hooks');
    expect(s.values.size).toBe(0);

    await s.values.value('shop', ref);
    s.remove('hooks');
    await expect(s.values.value('shop', ref)).rejects.toThrow('Secret "hooks" not found');
    expect(s.values.size).toBe(0);
  });

  test('values no target names any more leave memory; those still named stay', async () => {
    const s = setup();
    s.put('hooks', '1', { ops: b64('https://hooks.example/a'), chat: b64('https://hooks.example/c') });
    await s.values.value('shop', ref);
    await s.values.value('shop', { name: 'hooks', key: 'chat' });
    s.values.retain('other', []);
    expect(s.values.size).toBe(2);
    s.values.retain('shop', [ref]);
    expect(s.values.size).toBe(1);
    await s.values.value('shop', ref);
    expect(s.reads()).toBe(2);
    s.values.retain('shop', []);
    expect(s.values.size).toBe(0);
  });
});
