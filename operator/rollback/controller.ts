import type { RollbackPolicy } from '../api/generated/index.js';
import { ROLLBACK_POLICIES } from '../api/kinds.js';
import type { Clock, Controller, Manager } from '../runtime/manager.js';
import { commitStatus } from '../runtime/reconcile.js';
import { parseDuration } from '../runtime/duration.js';
import { PROMETHEUS_ADDRESS_MISSING, withPrometheusAddress } from './address.js';
import { planRollbackPolicyStatus, type Probe } from './plan.js';

/** How often a policy's Prometheus is probed: often enough that Ready means "recently". */
export const PROBE_INTERVAL_MS = 60_000;

export interface RollbackPolicyControllerOptions extends Clock {
  probe: (address: string, timeoutMs: number) => Promise<Probe>;
  /** --prometheus-address: for policies that leave spec.prometheus.address unset. */
  prometheusAddress?: string;
}

export function rollbackPolicyController(
  m: Manager,
  { now = () => new Date(), probe, prometheusAddress }: RollbackPolicyControllerOptions,
): Controller {
  const policies = m.informer<RollbackPolicy>(ROLLBACK_POLICIES);
  return {
    kind: 'RollbackPolicy',
    primary: ROLLBACK_POLICIES,
    async reconcile({ namespace, name }) {
      const rbp = policies.get(name, namespace);
      if (!rbp) return undefined;
      const spec = withPrometheusAddress(rbp.spec, prometheusAddress);
      if (!spec) {
        // Nothing to probe until the spec changes, and a spec change brings the policy back.
        const at = now();
        await commitStatus(
          m.client,
          ROLLBACK_POLICIES,
          rbp,
          planRollbackPolicyStatus(rbp, { ok: false, addressMissing: true }, at),
          at,
        );
        return undefined;
      }
      // Our own status write brings the policy back at once: probe again only when due, when the
      // spec changed, or when an address applies now (an operator restarted with --prometheus-address).
      const checked = rbp.status?.lastChecked ? Date.parse(rbp.status.lastChecked) : -Infinity;
      const wait = checked + PROBE_INTERVAL_MS - now().getTime();
      const wasMissing =
        rbp.status?.conditions?.find((c) => c.type === 'Ready')?.reason === PROMETHEUS_ADDRESS_MISSING;
      if (wait > 0 && rbp.status?.observedGeneration === rbp.metadata?.generation && !wasMissing) {
        return { requeueAfterMs: wait };
      }
      const { address, timeout = '5s' } = spec.prometheus;
      const result = await probe(address, parseDuration(timeout));
      const at = now();
      await commitStatus(m.client, ROLLBACK_POLICIES, rbp, planRollbackPolicyStatus(rbp, result, at), at);
      return { requeueAfterMs: PROBE_INTERVAL_MS };
    },
  };
}
