import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';

/**
 * Fine enough around the thresholds rollback policies use (tens to hundreds
 * of milliseconds) that histogram_quantile lands in a narrow, predictable
 * bucket, and wide enough to cover 5 ms..5 s.
 */
export const LATENCY_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 2.5, 5,
];

/** Upper bound on simulated load, so a typo cannot turn a test into a CPU burner. */
export const MAX_RPS = 10_000;

export interface Traffic {
  app: string;
  slot: string;
  version: string;
  /** Simulated requests per second; 0 stops this stream. */
  rps: number;
  /** Fraction of requests answered with code 500, 0..1. */
  errorRatio: number;
  /** Every simulated request takes exactly this long. */
  latencySeconds: number;
}

export interface AppMetricsServer {
  /** e.g. `http://127.0.0.1:41234`; metrics are at `${url}/metrics`. */
  readonly url: string;
  /** `127.0.0.1:<port>`, the form Prometheus static_configs take. */
  readonly target: string;
  readonly port: number;
  readonly registry: Registry;
  /** Replaces the traffic for one (app, slot, version); takes effect at the next tick. */
  setTraffic(traffic: Traffic): void;
  close(): Promise<void>;
}

export interface StartAppMetricsOptions {
  /** How often simulated requests are recorded. Default 100 ms. */
  tickMs?: number;
}

interface Stream {
  traffic: Traffic;
  /** Fractional requests carried to the next tick, so low rates still add up exactly. */
  carry: number;
  /** Counted since the last setTraffic, so a new ratio applies from now on. */
  requests: number;
  errors: number;
}

/**
 * Serves Prometheus metrics for simulated HTTP traffic whose rate, error
 * ratio and latency a test controls. Each request is recorded with the exact
 * configured latency and errors are spread evenly (request n is an error when
 * floor(n * ratio) grows), so the numbers Prometheus computes are predictable.
 */
export async function startAppMetrics(options: StartAppMetricsOptions = {}): Promise<AppMetricsServer> {
  const tickMs = options.tickMs ?? 100;
  if (!(tickMs >= 10)) throw new RangeError(`startAppMetrics: tickMs must be >= 10, got ${tickMs}`);
  // An own registry: the global one is shared with whatever else the test
  // process imports, including the operator's own metrics.
  const registry = new Registry();
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'Simulated HTTP requests by response code.',
    labelNames: ['app', 'slot', 'version', 'code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Simulated HTTP request latency.',
    labelNames: ['app', 'slot', 'version'] as const,
    buckets: [...LATENCY_BUCKETS],
    registers: [registry],
  });

  const streams = new Map<string, Stream>();
  const tick = (): void => {
    for (const stream of streams.values()) {
      const { app, slot, version, rps, errorRatio, latencySeconds } = stream.traffic;
      stream.carry += (rps * tickMs) / 1000;
      const count = Math.floor(stream.carry);
      stream.carry -= count;
      const ok = requests.labels({ app, slot, version, code: '200' });
      const failed = requests.labels({ app, slot, version, code: '500' });
      const latency = duration.labels({ app, slot, version });
      for (let i = 0; i < count; i += 1) {
        stream.requests += 1;
        if (Math.floor(stream.requests * errorRatio) > stream.errors) {
          stream.errors += 1;
          failed.inc();
        } else {
          ok.inc();
        }
        latency.observe(latencySeconds);
      }
    }
  };
  const timer = setInterval(tick, tickMs);

  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Port 0 here: the kernel's choice is already ours, no race to lose.
      server.listen({ host: '127.0.0.1', port: 0 }, resolve);
    });
  } catch (err) {
    clearInterval(timer);
    throw err;
  }
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    target: `127.0.0.1:${port}`,
    port,
    registry,
    setTraffic(traffic) {
      validate(traffic);
      const { app, slot, version } = traffic;
      // Zero-valued series from the start give rate() a baseline to count from.
      requests.labels({ app, slot, version, code: '200' }).inc(0);
      requests.labels({ app, slot, version, code: '500' }).inc(0);
      duration.zero({ app, slot, version });
      const key = JSON.stringify([app, slot, version]);
      const previous = streams.get(key);
      streams.set(key, { traffic: { ...traffic }, carry: previous?.carry ?? 0, requests: 0, errors: 0 });
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        clearInterval(timer);
        server.close((err) => (err ? reject(err) : resolve()));
        // Prometheus keeps scrape connections alive; close() alone would wait on them.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function validate(t: Traffic): void {
  for (const label of ['app', 'slot', 'version'] as const) {
    if (t[label] === '') throw new RangeError(`setTraffic: ${label} must not be empty`);
  }
  if (!(Number.isFinite(t.rps) && t.rps >= 0 && t.rps <= MAX_RPS)) {
    throw new RangeError(`setTraffic: rps must be within 0..${MAX_RPS}, got ${t.rps}`);
  }
  if (!(t.errorRatio >= 0 && t.errorRatio <= 1)) {
    throw new RangeError(`setTraffic: errorRatio must be within 0..1, got ${t.errorRatio}`);
  }
  if (!(Number.isFinite(t.latencySeconds) && t.latencySeconds >= 0)) {
    throw new RangeError(`setTraffic: latencySeconds must be a finite number >= 0, got ${t.latencySeconds}`);
  }
}
