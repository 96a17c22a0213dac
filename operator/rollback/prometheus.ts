// A client for Prometheus' instant query API, shared by the whole operator.
// Problems with Prometheus are answers here, not exceptions: an unreachable
// server makes a reading Inconclusive, it must not fail a reconcile.
import { httpTarget, networkError, timedOut } from '../runtime/http-target.js';
import { createLimiter, type Limiter } from './limiter.js';

export interface Series {
  labels: Readonly<Record<string, string>>;
  value: number;
}

/** A scalar result comes back as one series without labels. */
export type QueryResult = { ok: true; series: Series[] } | { ok: false; error: string };

/** How one HTTP attempt ended; the first three are retried once. */
export type QueryOutcome =
  'timeout' | 'unreachable' | 'server-error' | 'rejected' | 'invalid-response' | 'success';

const RETRIED: ReadonlySet<QueryOutcome> = new Set(['timeout', 'unreachable', 'server-error']);

export const DEFAULT_MAX_CONCURRENT_QUERIES = 16;

/**
 * After a query to a server failed for want of an answer (twice: with its
 * retry), further queries to it fail at once for this long. A Prometheus
 * that is down would otherwise hold every worker of the Release queue for
 * two timeouts per query, and aborts and rollbacks would wait behind them.
 */
export const BREAK_MS = 5_000;

export interface PrometheusClientOptions {
  /** Queries in flight at once, across every policy and server. Default 16. */
  maxConcurrent?: number;
  /** Called after every attempt, retries included, with its duration (queueing excluded). */
  onQuery?: (durationMs: number, outcome: QueryOutcome) => void;
  fetch?: typeof fetch;
  now?: () => number;
}

export interface PrometheusClient {
  /** Runs `promql` at `address`, giving each attempt `timeoutMs`. Never rejects. */
  query(address: string, promql: string, timeoutMs: number): Promise<QueryResult>;
}

interface Endpoint {
  url: string;
  /** The address as messages show it: no user-info. */
  shown: string;
  headers: Record<string, string>;
}

interface Attempt {
  outcome: QueryOutcome;
  result: QueryResult;
}

export function createPrometheusClient(options: PrometheusClientOptions = {}): PrometheusClient {
  const limiter: Limiter = createLimiter(options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_QUERIES);
  const fetchFn = options.fetch ?? fetch;
  const now = options.now ?? (() => performance.now());
  const broken = new Map<string, { until: number; error: string }>();

  const once = (endpoint: Endpoint, promql: string, timeoutMs: number): Promise<Attempt> =>
    limiter.run(async () => {
      const started = performance.now();
      const attempt = await send(fetchFn, endpoint, promql, timeoutMs);
      options.onQuery?.(performance.now() - started, attempt.outcome);
      return attempt;
    });

  return {
    async query(address, promql, timeoutMs) {
      const endpoint = endpointOf(address);
      if (!endpoint) return { ok: false, error: 'the Prometheus address is not a valid http(s) URL' };
      const down = broken.get(endpoint.shown);
      if (down && now() < down.until)
        return { ok: false, error: `${down.error} (not asked again for ${BREAK_MS / 1000} s)` };
      const first = await once(endpoint, promql, timeoutMs);
      if (!RETRIED.has(first.outcome)) return first.result;
      const second = await once(endpoint, promql, timeoutMs);
      if (second.result.ok) {
        broken.delete(endpoint.shown);
        return second.result;
      }
      const error = `${second.result.error} (retried once)`;
      if (second.outcome === 'timeout' || second.outcome === 'unreachable') {
        broken.set(endpoint.shown, { until: now() + BREAK_MS, error: second.result.error });
      }
      return { ok: false, error };
    },
  };
}

/** Credentials in the address go in a header (httpTarget), and stay out of every message. */
function endpointOf(address: string): Endpoint | undefined {
  const target = httpTarget(address);
  if (typeof target === 'string') return undefined;
  const { url } = target;
  url.search = '';
  url.hash = '';
  const base = url.toString().replace(/\/+$/, '');
  // Answers are a few hundred bytes, and Prometheus gzips every answer a client
  // accepts gzip for (fetch asks by default): a zlib stream per query cost more
  // operator CPU than anything else in an evaluation.
  const headers = { Accept: 'application/json', 'Accept-Encoding': 'identity', ...target.headers };
  return { url: `${base}/api/v1/query`, shown: base, headers };
}

async function send(
  fetchFn: typeof fetch,
  endpoint: Endpoint,
  promql: string,
  timeoutMs: number,
): Promise<Attempt> {
  const fail = (outcome: QueryOutcome, why: string): Attempt => ({
    outcome,
    result: { ok: false, error: `Prometheus at ${endpoint.shown}: ${why}` },
  });
  // Prometheus is told the same deadline, so it stops evaluating when we stop waiting.
  const url = `${endpoint.url}?query=${encodeURIComponent(promql)}&timeout=${Math.max(1, Math.round(timeoutMs))}ms`;
  let status: number;
  let text: string;
  try {
    const res = await fetchFn(url, { headers: endpoint.headers, signal: AbortSignal.timeout(timeoutMs) });
    status = res.status;
    text = await res.text();
  } catch (err) {
    if (timedOut(err)) return fail('timeout', `no answer within ${timeoutMs}ms`);
    return fail('unreachable', networkError(err, { withCode: true }));
  }
  const outcomeOfStatus: QueryOutcome = status >= 500 ? 'server-error' : 'rejected';
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    if (status >= 300 || status < 200) return fail(outcomeOfStatus, `HTTP ${status}`);
    return fail('invalid-response', 'the answer is not JSON');
  }
  if (!isRecord(body) || body.status !== 'success' || status >= 300) {
    const error = isRecord(body) && typeof body.error === 'string' ? body.error : `HTTP ${status}`;
    const type = isRecord(body) && typeof body.errorType === 'string' ? `${body.errorType}: ` : '';
    return fail(status >= 200 && status < 300 ? 'rejected' : outcomeOfStatus, `${type}${error}`);
  }
  const series = seriesOf(body.data);
  if (!series) return fail('invalid-response', 'the answer is neither a vector nor a scalar');
  return { outcome: 'success', result: { ok: true, series } };
}

function seriesOf(data: unknown): Series[] | undefined {
  if (!isRecord(data)) return undefined;
  if (data.resultType === 'scalar') {
    const value = sampleValue(data.result);
    return value === undefined ? undefined : [{ labels: {}, value }];
  }
  if (data.resultType !== 'vector' || !Array.isArray(data.result)) return undefined;
  const series: Series[] = [];
  for (const item of data.result as unknown[]) {
    const value = isRecord(item) ? sampleValue(item.value) : undefined;
    if (!isRecord(item) || !isRecord(item.metric) || value === undefined) return undefined;
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(item.metric)) labels[k] = String(v);
    series.push({ labels, value });
  }
  return series;
}

/** `[timestamp, "1.5"]`; Prometheus writes infinities as `+Inf`/`-Inf`, which Number() does not read. */
function sampleValue(pair: unknown): number | undefined {
  if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[1] !== 'string') return undefined;
  const text: string = pair[1];
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  return Number.isNaN(value) && text !== 'NaN' ? undefined : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
