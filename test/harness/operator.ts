// Runs the real operator binary (dist/operator/cli.js, built by `make build`)
// as a child process against the local cluster, and reads its /metrics.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';
import { kubeconfigPath } from './kube.js';
import { spawnServer, type ServerProcess } from './process.js';
import { waitFor } from './wait.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/operator/cli.js');

export interface OperatorOptions {
  /** Defaults to the local cluster's kubeconfig. */
  kubeconfig?: string;
  identity?: string;
  leaseNamespace?: string;
  leaseName?: string;
  args?: string[];
  /** Extra V8/Node flags, after the defaults (a later flag wins), for benchmarks that compare settings. */
  nodeArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

export interface OperatorProcess {
  port: number;
  proc: ServerProcess;
  /** One sample per series: `name{a="b"}` → value. */
  metrics(): Promise<Map<string, number>>;
  /** Sum of every series of `name` whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  ready(): Promise<boolean>;
  waitReady(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

export async function startOperator(opts: OperatorOptions = {}): Promise<OperatorProcess> {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`make build\` first`);
  const port = await freePort();
  const logDir = mkdtempSync(join(tmpdir(), 'cutover-operator-'));
  const proc = spawnServer(
    process.execPath,
    [
      // The same V8 setting as the Deployment and the bin entry: a small young
      // generation keeps RSS down for a long-running, mostly idle process.
      '--max-semi-space-size=2',
      ...(opts.nodeArgs ?? []),
      cli,
      ...operatorArgs(port, opts),
    ],
    {
      logPath: join(logDir, 'operator.log'),
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'info', ...opts.env },
    },
  );
  const base = `http://127.0.0.1:${port}`;
  const metrics = async (): Promise<Map<string, number>> => {
    const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(2000) });
    return parseMetrics(await res.text());
  };
  const op: OperatorProcess = {
    port,
    proc,
    metrics,
    async metric(name, labels = {}) {
      let sum = 0;
      for (const [series, value] of await metrics()) {
        const { metric, labels: l } = parseSeries(series);
        if (metric === name && Object.entries(labels).every(([k, v]) => l[k] === v)) sum += value;
      }
      return sum;
    },
    ready: () => operatorReady(port),
    waitReady: (timeoutMs) => waitOperatorReady(port, proc.exitSignal, timeoutMs),
    async stop() {
      await proc.terminate('SIGTERM', 10_000);
    },
    async kill9() {
      await proc.terminate('SIGKILL', 0);
    },
  };
  await waitFor(async () => (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) })).ok, {
    timeoutMs: 20_000,
    description: 'operator /healthz',
    signal: proc.exitSignal,
  }).catch(async (err: unknown) => {
    throw new Error(`${String(err)}\noperator log:\n${await proc.logTail()}`);
  });
  return op;
}

/** `cutover operator args` run to its exit, for flags it must refuse before it starts; throws when it exits 0. */
export async function operatorRefusal(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code?: number; stderr: string }> {
  try {
    await promisify(execFile)(process.execPath, [cli, 'operator', '--kubeconfig', '/nonexistent', ...args], {
      timeout: 20_000,
      env: { ...process.env, ...env },
    });
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code, stderr: e.stderr ?? '' };
  }
  throw new Error(`cutover operator ${args.join(' ')} exited 0`);
}

export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

export function parseSeries(series: string): { metric: string; labels: Record<string, string> } {
  const brace = series.indexOf('{');
  if (brace < 0) return { metric: series, labels: {} };
  const labels: Record<string, string> = {};
  for (const [, k = '', v = ''] of series.slice(brace + 1, -1).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
    labels[k] = v;
  return { metric: series.slice(0, brace), labels };
}

/** `cutover operator`'s arguments for an operator serving on 127.0.0.1:`port`. */
export function operatorArgs(
  port: number,
  opts: Pick<OperatorOptions, 'kubeconfig' | 'identity' | 'leaseNamespace' | 'leaseName' | 'args'> = {},
): string[] {
  return [
    'operator',
    '--kubeconfig',
    opts.kubeconfig ?? kubeconfigPath(),
    '--port',
    String(port),
    '--host',
    '127.0.0.1',
    '--identity',
    opts.identity ?? `test-${port}`,
    '--lease-namespace',
    opts.leaseNamespace ?? 'default',
    '--lease-name',
    opts.leaseName ?? 'cutover-leader',
    ...(opts.args ?? []),
  ];
}

async function operatorReady(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Waits until the operator on `port` reports ready; `exited` ends the wait early when its process exits. */
export async function waitOperatorReady(
  port: number,
  exited: AbortSignal,
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(() => operatorReady(port), {
    timeoutMs,
    description: `operator on port ${port} to report ready`,
    signal: exited,
  });
}
