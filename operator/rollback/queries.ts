// PromQL for the builtin signals of a RollbackPolicy.
//
// Metric conventions an application (and the cluster) must follow:
//
// - http_request_duration_seconds_bucket{app,slot,version}: a Prometheus
//   histogram of request latency. A namespace label is not required: many
//   applications do not export one, so series are selected by app, slot and
//   version only.
// - http_requests_total{app,slot,version,code}: a counter of requests by
//   HTTP status code; 5xx codes are errors.
// - container_cpu_usage_seconds_total{namespace,pod,container} and
//   container_memory_working_set_bytes{namespace,pod,container}: cAdvisor, as
//   the kubelet exports them. The pods of a slot are those of the Deployment
//   <app>-<slot>, named <app>-<slot>-<replicaset hash>-<pod hash>. The
//   pod-level series (container="") and the pause container
//   (container="POD") are left out, or every pod would be counted twice.
//
// Every query returns one number, or an empty vector when there is no data.
import { parseDuration } from '../runtime/duration.js';

/** Whose series a query reads: the new slot, or the stable one for a baseline. */
export interface SlotSelector {
  namespace: string;
  app: string;
  slot: string;
  version: string;
}

export const DEFAULT_WINDOW = '1m';

/** A label value as a PromQL double-quoted string literal. */
export function promString(value: string): string {
  const escaped = value.replace(/[\\"\n\r\t]/g, (c) => ESCAPES[c] ?? c);
  return `"${escaped}"`;
}

const ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '"': '\\"',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/**
 * A range selector from a duration as the CRDs write it (`1m`, `90s`,
 * `1m30s`), normalised to one unit: Prometheus before 2.26 rejects mixed
 * units such as `1m30s`.
 */
export function rangeOf(window: string): string {
  const ms = parseDuration(window);
  if (ms < 1000) throw new RangeError(`analysis window ${window} is shorter than 1s`);
  if (ms % 60_000 === 0) return `[${ms / 60_000}m]`;
  if (ms % 1000 === 0) return `[${ms / 1000}s]`;
  return `[${ms}ms]`;
}

function httpLabels(s: SlotSelector): string {
  return `app=${promString(s.app)},slot=${promString(s.slot)},version=${promString(s.version)}`;
}

/** Requests per second to the slot and version. */
export function requestRateQuery(s: SlotSelector, window: string): string {
  return `sum(rate(http_requests_total{${httpLabels(s)}}${rangeOf(window)}))`;
}

/** 95th percentile latency in seconds; NaN when there were no requests. */
export function latencyP95Query(s: SlotSelector, window: string): string {
  return `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${httpLabels(s)}}${rangeOf(window)})))`;
}

/**
 * Share of requests answered 5xx. An application that has never failed
 * has no 5xx series at all, so the numerator falls back to 0 instead of
 * making the whole ratio "no data".
 */
export function errorRateQuery(s: SlotSelector, window: string): string {
  const range = rangeOf(window);
  const labels = httpLabels(s);
  return `(sum(rate(http_requests_total{${labels},code=~"5.."}${range})) or vector(0)) / sum(rate(http_requests_total{${labels}}${range}))`;
}

/** RE2 metacharacters, escaped so an app or slot name matches only itself. */
function regexLiteral(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

function podLabels(s: SlotSelector): string {
  // Prometheus anchors regex matchers; two hash segments keep the pods of a
  // Deployment named, say, <app>-<slot>-canary out.
  const pods = `${regexLiteral(`${s.app}-${s.slot}`)}-[a-z0-9]+-[a-z0-9]+`;
  return `namespace=${promString(s.namespace)},pod=~${promString(pods)},container!="",container!="POD"`;
}

/** The busiest pod's CPU use as a share of what one pod may use (1 = at the limit). */
export function cpuQuery(s: SlotSelector, window: string, cpuCores: number): string {
  return `max(sum by (pod) (rate(container_cpu_usage_seconds_total{${podLabels(s)}}${rangeOf(window)}))) / ${cpuCores}`;
}

/** The largest pod's working set as a share of what one pod may use. */
export function memoryQuery(s: SlotSelector, memoryBytes: number): string {
  return `max(sum by (pod) (container_memory_working_set_bytes{${podLabels(s)}})) / ${memoryBytes}`;
}

/**
 * A custom query with {{app}}, {{slot}}, {{version}} and {{namespace}}
 * replaced. The values are substituted as written, not quoted: the policy
 * author puts them inside a string literal, and Kubernetes names and
 * versions need no escaping there. Backslashes and quotes are escaped
 * anyway, so a hostile version cannot end the literal early.
 */
export function customQuery(template: string, s: SlotSelector): string {
  const values: Readonly<Record<string, string>> = {
    app: s.app,
    slot: s.slot,
    version: s.version,
    namespace: s.namespace,
  };
  return template.replace(/\{\{\s*(app|slot|version|namespace)\s*\}\}/g, (_, name: string) =>
    promString(values[name] ?? '').slice(1, -1),
  );
}
