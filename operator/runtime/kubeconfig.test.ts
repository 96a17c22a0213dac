import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadKubeconfig } from './kubeconfig.js';

const dir = mkdtempSync(join(tmpdir(), 'cutover-kubeconfig-'));

function kubeconfig(
  name: string,
  user: Record<string, unknown>,
  cluster: Record<string, unknown> = {},
): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'c',
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      clusters: [{ name: 'k', cluster: { server: 'https://127.0.0.1:6443', ...cluster } }],
      users: [{ name: 'u', user }],
    }),
  );
  return file;
}

describe('loadKubeconfig', () => {
  test('a bearer token, and the server of the current context', async () => {
    const { access, source } = await loadKubeconfig(kubeconfig('token', { token: 'abc' }));
    expect(source).toContain('token');
    expect(access.server).toBe('https://127.0.0.1:6443');
    const conn = await access.connect();
    expect(conn.headers).toEqual({ authorization: 'Bearer abc' });
  });

  test('basic auth and impersonation', async () => {
    const { access } = await loadKubeconfig(
      kubeconfig('basic', { username: 'me', password: 'pw', as: 'someone' }),
    );
    expect((await access.connect()).headers).toEqual({
      authorization: `Basic ${Buffer.from('me:pw').toString('base64')}`,
      'impersonate-user': 'someone',
    });
  });

  test('certificate paths relative to the kubeconfig, and one pool across calls', async () => {
    writeFileSync(join(dir, 'ca.crt'), 'not a real CA');
    const { access } = await loadKubeconfig(
      kubeconfig('relative', { token: 't' }, { 'certificate-authority': 'ca.crt' }),
    );
    const a = await access.connect();
    const b = await access.connect();
    expect(a.dispatcher).toBeDefined();
    expect(b.dispatcher).toBe(a.dispatcher);
  });

  test('an exec credential plugin (client-node runs it and caches its token)', async () => {
    const plugin = join(dir, 'plugin.sh');
    writeFileSync(
      plugin,
      `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}'\n`,
    );
    chmodSync(plugin, 0o755);
    const { access } = await loadKubeconfig(
      kubeconfig('exec', {
        exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' },
      }),
    );
    expect((await access.connect()).headers).toEqual({ authorization: 'Bearer from-exec' });
  });

  test('a token file (the in-cluster shape) is read by client-node FileAuth', async () => {
    const tokenFile = join(dir, 'sa-token');
    writeFileSync(tokenFile, 'projected');
    const { access } = await loadKubeconfig(
      kubeconfig('tokenfile', { 'auth-provider': { name: 'tokenFile', config: { tokenFile } } }),
    );
    expect((await access.connect()).headers).toEqual({ authorization: 'Bearer projected' });
  });

  test('problems are one sentence each', async () => {
    await expect(loadKubeconfig(join(dir, 'missing'))).rejects.toThrow(/does not exist/);
    writeFileSync(join(dir, 'broken'), 'clusters: [{ name: x }]\n');
    await expect(loadKubeconfig(join(dir, 'broken'))).rejects.toThrow(/is not readable: clusters\[0\]/);
    writeFileSync(join(dir, 'empty'), '');
    await expect(loadKubeconfig(join(dir, 'empty'))).rejects.toThrow(/no current context with a cluster/);
  });
});
