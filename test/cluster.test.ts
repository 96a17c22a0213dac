// The harness itself: `make cluster-up` / `cluster-down` on a second, private
// cluster (its own name and state dir), so the shared one stays up.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function script(name: string, env: NodeJS.ProcessEnv): Promise<Result> {
  try {
    const { stdout, stderr } = await run('bash', [join(root, 'test/cluster', name)], {
      env: { ...process.env, ...env },
      timeout: 180_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function pidsOf(dir: string): number[] {
  const pidDir = join(dir, 'kwok/clusters/cutover-lifecycle/pids');
  if (!existsSync(pidDir)) return [];
  return readdirSync(pidDir).map((f) => Number(readFileSync(join(pidDir, f), 'utf8').trim()));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every process whose command line mentions `dir`: what a leak would look like. */
function processesUnder(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

describe('local cluster lifecycle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-lifecycle-'));
  const env = { CUTOVER_CLUSTER_NAME: 'cutover-lifecycle', CUTOVER_CLUSTER_DIR: dir };

  afterAll(async () => {
    await script('down.sh', env);
    rmSync(dir, { recursive: true, force: true });
  });

  test('cluster-up twice is harmless, cluster-down leaves no process behind', async () => {
    const first = await script('up.sh', env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/ready: v1\.35\.\d+, 3 nodes/);
    const pids = pidsOf(dir);
    expect(pids).toHaveLength(5);
    expect(pids.every(alive)).toBe(true);

    const second = await script('up.sh', env);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('already up');
    expect(pidsOf(dir)).toEqual(pids);

    const down = await script('down.sh', env);
    expect(down.code).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    expect(processesUnder(dir)).toEqual([]);
    expect(existsSync(join(dir, 'kubeconfig'))).toBe(false);

    const again = await script('down.sh', env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('not up');
  });

  test('a port in use gives one clear line and a non-zero exit', async () => {
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const res = await script('up.sh', { ...env, CUTOVER_APISERVER_PORT: String(port) });
      expect(res.code).not.toBe(0);
      expect(res.stderr.trim()).toBe(
        `cluster-up: port ${port} (CUTOVER_APISERVER_PORT) is already in use by another process; free it or unset CUTOVER_APISERVER_PORT to pick a free port.`,
      );
      expect(processesUnder(dir)).toEqual([]);
    } finally {
      server.close();
    }
  });
});

describe('binary build errors', () => {
  test('missing Go is named, with what to do', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'cutover-cache-'));
    try {
      const res = await script('build.sh', { CUTOVER_CACHE: cache, PATH: '/usr/bin:/bin' });
      expect(res.code).toBe(1);
      expect(res.stderr.trim()).toMatch(
        /^cluster build: Go is not installed and is needed for .*; install Go >= 1\.25/,
      );
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  test('a module the proxy will not serve is named in one line', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'cutover-cache-'));
    try {
      const res = await script('build.sh', {
        CUTOVER_CACHE: cache,
        GOMODCACHE: join(cache, 'mod'),
        GOPROXY: 'off',
        GOFLAGS: '-modcacherw',
      });
      expect(res.code).toBe(1);
      const lines = res.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^cluster build: .* failed: sigs\.k8s\.io\/gateway-api@v[\d.]+: module lookup disabled by GOPROXY=off/,
      );
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  test('a stale cache (stamp without binaries) is detected and rebuilt, not trusted', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'cutover-cache-'));
    try {
      // Point the build at a stamped but empty gateway-api dir with the proxy off:
      // it must notice and try to rebuild (and fail loudly), not start with no CRDs.
      const versions = readFileSync(join(root, 'test/cluster/versions.env'), 'utf8');
      const gw = /GATEWAY_API_VERSION=(\S+)/.exec(versions)?.[1] ?? '';
      const dirName = join(cache, `gateway-api-${gw}`);
      await run('mkdir', ['-p', dirName]);
      await run('touch', [join(dirName, '.complete')]);
      const res = await script('build.sh', {
        CUTOVER_CACHE: cache,
        GOMODCACHE: join(cache, 'mod'),
        GOPROXY: 'off',
        GOFLAGS: '-modcacherw',
      });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain('is stale');
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
