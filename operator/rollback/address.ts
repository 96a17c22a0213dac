// The installation-wide Prometheus: a RollbackPolicy that leaves
// spec.prometheus.address unset reads the operator's --prometheus-address,
// so a platform team sets it once (the Helm value prometheus.address) rather
// than in every policy of every tenant.
import type { RollbackPolicySpec, RollbackPolicySpecPrometheus } from '../api/generated/index.js';
import { HTTP_URL } from '../api/schema/patterns.js';
import { UsageError } from '../usage.js';

/** A policy spec whose Prometheus is known. */
export type AddressedPolicySpec = RollbackPolicySpec & {
  prometheus: RollbackPolicySpecPrometheus & { address: string };
};

/** The reason both the RollbackPolicy and the Releases using it show when no address applies. */
export const PROMETHEUS_ADDRESS_MISSING = 'PrometheusAddressMissing';

export const ADDRESS_MISSING_MESSAGE =
  'no Prometheus address: set spec.prometheus.address, or start the operator with --prometheus-address (Helm value prometheus.address)';

// The CRD's pattern for spec.prometheus.address: the flag accepts what a policy may say.
const ADDRESS = new RegExp(HTTP_URL);

/**
 * The --prometheus-address value, checked before anything starts: a typo would
 * otherwise surface only as Releases held at their first analysis. Empty is
 * unset, so an empty environment variable does not count as an address.
 */
export function parsePrometheusAddress(raw: string | undefined): string | undefined {
  const value = raw?.trim();
  if (!value) return undefined;
  if (!ADDRESS.test(value) || !parses(value)) {
    throw new UsageError(
      `--prometheus-address: "${redacted(value)}" is not an http:// or https:// URL (e.g. http://prometheus.monitoring:9090)`,
    );
  }
  return value;
}

/**
 * The spec with the address that applies filled in (its own, else the
 * operator's), or undefined when neither is set.
 */
export function withPrometheusAddress(
  spec: RollbackPolicySpec,
  fallback: string | undefined,
): AddressedPolicySpec | undefined {
  const address = spec.prometheus?.address ?? fallback;
  if (address === undefined) return undefined;
  return { ...spec, prometheus: { ...spec.prometheus, address } };
}

function parses(value: string): boolean {
  try {
    return new URL(value).host !== '';
  } catch {
    return false;
  }
}

// A refused value may still carry user-info; the message must not repeat a password.
function redacted(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/@\s]*@/i, '$1***@');
}
