// RollbackPolicy status. The schema already rejects malformed triggers; Ready
// says whether the policy's Prometheus answered the last probe, because a
// policy whose server is unreachable holds every Release that uses it (their
// evaluations are Inconclusive) rather than letting one promote unseen.
import type { RollbackPolicy, RollbackPolicyStatus } from '../api/generated/index.js';
import { removeCondition, setHealth } from '../runtime/conditions.js';
import { ENFORCED } from '../api/conditions.js';
import { ADDRESS_MISSING_MESSAGE, PROMETHEUS_ADDRESS_MISSING } from './address.js';

/** How the last probe went; `addressMissing`: there was nothing to probe (no address in the policy or the operator). */
export type Probe = { ok: true } | { ok: false; error: string } | { ok: false; addressMissing: true };

export function planRollbackPolicyStatus(rbp: RollbackPolicy, probe: Probe, now: Date): RollbackPolicyStatus {
  const prev = rbp.status ?? {};
  const generation = rbp.metadata?.generation;
  const n = rbp.spec.triggers.length;
  const triggers = `${n} trigger${n === 1 ? '' : 's'}`;
  const health = probe.ok
    ? { state: 'Ready' as const, reason: 'PrometheusReachable', message: `Prometheus answered; ${triggers}` }
    : 'addressMissing' in probe
      ? {
          state: 'Stalled' as const,
          reason: PROMETHEUS_ADDRESS_MISSING,
          message: `${ADDRESS_MISSING_MESSAGE}; Releases using this policy hold until one is set`,
        }
      : {
          state: 'Stalled' as const,
          reason: 'PrometheusUnreachable',
          message: `Prometheus did not answer a probe query: ${probe.error}; the evaluations of Releases using this policy are Inconclusive, and onInconclusive decides (${rbp.spec.onInconclusive ?? 'Pause'})`,
        };
  return {
    ...prev,
    observedGeneration: generation,
    // Nothing was probed without an address: the last probe's time stays what it was.
    lastChecked: 'addressMissing' in probe ? prev.lastChecked : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    // Enforced=False said the policy was never evaluated; it is now.
    conditions: removeCondition(setHealth(prev.conditions, health, generation, now), ENFORCED),
  };
}
