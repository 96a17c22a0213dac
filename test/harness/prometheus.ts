import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { spawnServer, type ServerProcess } from './process.js';
import { waitFor } from './wait.js';

/** Debian's `prometheus` package (2.42 on bookworm). */
export const DEFAULT_PROMETHEUS_BIN = '/usr/bin/prometheus';
const HOST = '127.0.0.1';
const PORT_ATTEMPTS = 3;
const REQUEST_TIMEOUT_MS = 10_000;

export type PromDuration = `${number}${'ms' | 's' | 'm'}`;

export interface StartPrometheusOptions {
  /** `host:port` (scraped at /metrics) or a full `http://host:port/path` URL. */
  scrapeTargets: string[];
  /** Default `1s`, so tests see data after a couple of seconds. */
  scrapeInterval?: PromDuration;
  /** Deadline for /-/ready. Default 60 s. */
  startTimeoutMs?: number;
  /** Listen here instead of a free port: a Prometheus restarted where its clients expect it. */
  port?: number;
}

export interface VectorSample {
  metric: Record<string, string>;
  /** Seconds since the epoch, as Prometheus reports it. */
  timestamp: number;
  /** Parsed from Prometheus' string form; NaN and ±Inf survive. */
  value: number;
}

export interface PrometheusInstance {
  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly baseDir: string;
  /** Instant query; throws unless the result is a vector. */
  query(promql: string): Promise<VectorSample[]>;
  /** Waits until every configured target is active and its last scrape succeeded. */
  waitForTargetsUp(timeoutMs: number): Promise<void>;
  /** Rewrites the scrape configuration and reloads it. */
  setScrapeTargets(targets: string[]): Promise<void>;
  /** Re-reads the configuration file via POST /-/reload. */
  reload(): Promise<void>;
  /** Terminates Prometheus, waits for it to exit, removes `baseDir`. Idempotent. */
  stop(): Promise<void>;
}

export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusInstance> {
  const bin = process.env.PROMETHEUS_BIN ?? DEFAULT_PROMETHEUS_BIN;
  try {
    await access(bin, constants.X_OK);
  } catch {
    throw new Error(`prometheus not found at ${bin}: run \`make deps\` (apt-get install prometheus)`);
  }
  const scrapeInterval = options.scrapeInterval ?? '1s';
  let targets = normaliseTargets(options.scrapeTargets);

  const baseDir = await mkdtemp(join(tmpdir(), 'cutover-prom-'));
  const configPath = join(baseDir, 'prometheus.yml');
  const storageDir = join(baseDir, 'data');
  let server: ServerProcess | undefined;
  try {
    await mkdir(storageDir);
    await writeConfig(configPath, targets, scrapeInterval);

    let url = '';
    for (let attempt = 1; ; attempt += 1) {
      const port = options.port ?? (await freePort(HOST));
      url = `http://${HOST}:${port}`;
      const logPath = join(baseDir, 'prometheus.log');
      await rm(logPath, { force: true });
      server = spawnServer(
        bin,
        [
          `--config.file=${configPath}`,
          `--storage.tsdb.path=${storageDir}`,
          `--web.listen-address=${HOST}:${port}`,
          // Needed for POST /-/reload.
          '--web.enable-lifecycle',
          '--storage.tsdb.retention.time=1h',
        ],
        { logPath, cwd: baseDir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC' } },
      );
      const readyUrl = `${url}/-/ready`;
      try {
        await waitFor(async () => (await fetch(readyUrl, { signal: AbortSignal.timeout(2_000) })).ok, {
          timeoutMs: options.startTimeoutMs ?? 60_000,
          intervalMs: 100,
          description: `Prometheus at ${readyUrl} to report ready`,
          signal: server.exitSignal,
        });
        break;
      } catch (err) {
        if (!server.exitSignal.aborted) throw err;
        const log = await server.logTail();
        // freePort() cannot reserve the port; losing the race is not a failure.
        if (options.port === undefined && attempt < PORT_ATTEMPTS && /address already in use/i.test(log))
          continue;
        throw new Error(`${errorMessage(server.exitSignal.reason)}; log:\n${log}`, { cause: err });
      }
    }

    const running = server;
    let stopping: Promise<void> | undefined;
    const instance: PrometheusInstance = {
      url,
      baseDir,
      query: (promql) => instantQuery(url, promql),
      waitForTargetsUp: (timeoutMs) => waitForTargetsUp(url, targets, timeoutMs),
      async setScrapeTargets(next) {
        targets = normaliseTargets(next);
        await writeConfig(configPath, targets, scrapeInterval);
        await instance.reload();
      },
      async reload() {
        const res = await fetch(`${url}/-/reload`, {
          method: 'POST',
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        if (!res.ok) throw new Error(`Prometheus reload failed (${res.status}): ${await res.text()}`);
      },
      stop() {
        stopping ??= (async () => {
          await running.terminate('SIGTERM', 15_000);
          await rm(baseDir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
    return instance;
  } catch (err) {
    await server?.terminate('SIGKILL', 5_000);
    await rm(baseDir, { recursive: true, force: true });
    throw err;
  }
}

interface ScrapeTarget {
  scheme: 'http' | 'https';
  address: string;
  path: string;
}

function normaliseTargets(raw: string[]): ScrapeTarget[] {
  if (raw.length === 0) throw new Error('startPrometheus: at least one scrape target is required');
  const seen = new Map<string, ScrapeTarget>();
  for (const entry of raw) {
    const parsed = new URL(entry.includes('://') ? entry : `http://${entry}/metrics`);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`startPrometheus: unsupported scrape target ${entry}`);
    }
    const target: ScrapeTarget = {
      scheme: parsed.protocol === 'https:' ? 'https' : 'http',
      address: parsed.host,
      path: parsed.pathname,
    };
    seen.set(`${target.scheme}://${target.address}${target.path}`, target);
  }
  return [...seen.values()];
}

// Prometheus puts scheme and path on the scrape job, not the target, so
// targets are grouped into one job per (scheme, path).
async function writeConfig(path: string, targets: ScrapeTarget[], interval: PromDuration): Promise<void> {
  const jobs = new Map<string, ScrapeTarget[]>();
  for (const t of targets) {
    const key = `${t.scheme} ${t.path}`;
    jobs.set(key, [...(jobs.get(key) ?? []), t]);
  }
  const config = {
    global: {
      scrape_interval: interval,
      // Prometheus rejects a scrape timeout longer than the interval (default 10s).
      scrape_timeout: interval,
      evaluation_interval: interval,
    },
    scrape_configs: [...jobs.values()].map((group, i) => ({
      job_name: i === 0 ? 'app' : `app-${i + 1}`,
      scheme: group[0]?.scheme,
      metrics_path: group[0]?.path,
      static_configs: [{ targets: group.map((t) => t.address) }],
    })),
  };
  // JSON is valid YAML, and needs no YAML library or escaping rules.
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`);
}

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const body: unknown = await res.json();
  if (!isRecord(body) || body.status !== 'success') {
    const reason = isRecord(body) && typeof body.error === 'string' ? body.error : `HTTP ${res.status}`;
    throw new Error(`Prometheus ${new URL(url).pathname} failed: ${reason}`);
  }
  return body.data;
}

async function instantQuery(base: string, promql: string): Promise<VectorSample[]> {
  const data = await getJson(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
  if (!isRecord(data) || data.resultType !== 'vector' || !Array.isArray(data.result)) {
    const type = isRecord(data) ? String(data.resultType) : typeof data;
    throw new Error(`expected a vector from ${promql}, got ${type}`);
  }
  return data.result.map((item: unknown): VectorSample => {
    if (!isRecord(item) || !isRecord(item.metric) || !Array.isArray(item.value) || item.value.length !== 2) {
      throw new Error(`malformed sample in the result of ${promql}`);
    }
    const [timestamp, value] = item.value as unknown[];
    const metric: Record<string, string> = {};
    for (const [k, v] of Object.entries(item.metric)) metric[k] = String(v);
    return { metric, timestamp: Number(timestamp), value: Number(value) };
  });
}

async function waitForTargetsUp(base: string, targets: ScrapeTarget[], timeoutMs: number): Promise<void> {
  const wanted = new Set(targets.map((t) => `${t.scheme}://${t.address}${t.path}`));
  await waitFor(
    async () => {
      const data = await getJson(`${base}/api/v1/targets?state=active`);
      const active = isRecord(data) && Array.isArray(data.activeTargets) ? data.activeTargets : [];
      const health = new Map<string, string>();
      for (const t of active) {
        if (isRecord(t) && typeof t.scrapeUrl === 'string') {
          const error = typeof t.lastError === 'string' && t.lastError !== '' ? ` (${t.lastError})` : '';
          health.set(t.scrapeUrl, `${String(t.health)}${error}`);
        }
      }
      const notUp = [...wanted].filter((u) => health.get(u) !== 'up');
      // Thrown rather than returned false so the timeout names the laggards.
      if (notUp.length > 0) {
        throw new Error(
          `not up: ${notUp.map((u) => `${u} is ${health.get(u) ?? 'not active yet'}`).join(', ')}`,
        );
      }
      return true;
    },
    { timeoutMs, intervalMs: 200, description: `Prometheus targets ${[...wanted].join(', ')} to be up` },
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
