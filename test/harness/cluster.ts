// Faults on the shared local cluster: stop the kube-apiserver and bring it
// back through kwokctl, which restarts only the components that are down.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../../image/spec.js';
import { kubectl } from './kube.js';
import { waitFor } from './wait.js';

const root = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

function clusterPaths() {
  const state = process.env.CUTOVER_CLUSTER_DIR ?? join(root, '.cluster');
  const name = process.env.CUTOVER_CLUSTER_NAME ?? 'cutover';
  const versions = readFileSync(join(root, 'test/cluster/versions.env'), 'utf8');
  const kwok = /KWOK_VERSION=(\S+)/.exec(versions)?.[1] ?? '';
  const kwokctl = join(cacheDir(), `kwok-${kwok}`, 'bin/kwokctl');
  return { state, name, kwokctl, workdir: join(state, 'kwok') };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills kube-apiserver with `signal`, waits until it is gone, and returns its pid. */
export async function stopApiserver(signal: NodeJS.Signals = 'SIGKILL'): Promise<number> {
  const { workdir, name } = clusterPaths();
  const pid = Number(readFileSync(join(workdir, 'clusters', name, 'pids/kube-apiserver.pid'), 'utf8').trim());
  process.kill(pid, signal);
  await waitFor(() => !alive(pid), { timeoutMs: 30_000, description: `kube-apiserver ${pid} to exit` });
  return pid;
}

/** Starts whatever components of the cluster are down and waits for /readyz. */
export async function startCluster(): Promise<void> {
  const { workdir, name, kwokctl } = clusterPaths();
  await run(kwokctl, ['--name', name, 'start', 'cluster', '--timeout', '60s'], {
    env: { ...process.env, KWOK_WORKDIR: workdir },
  });
  await waitFor(async () => (await kubectl('get', '--raw', '/readyz')).trim() === 'ok', {
    timeoutMs: 60_000,
    description: 'kube-apiserver /readyz after restart',
  });
}
