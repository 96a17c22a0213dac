// Environment reconciler. Policies come from the cache; the ConfigMap and
// Secret are read by name (the operator does not cache every Secret in the
// cluster), so a missing one is rechecked on a timer.
import type { Environment, RollbackPolicy, BackupPolicy } from '../api/generated/index.js';
import { BACKUP_POLICIES, ENVIRONMENTS, ROLLBACK_POLICIES } from '../api/kinds.js';
import { getOptional } from '../runtime/lookup.js';
import { keyOf, type Clock, type Controller, type Manager } from '../runtime/manager.js';
import { commitStatus } from '../runtime/reconcile.js';
import { planEnvironmentStatus, type EnvironmentObservation } from './plan.js';

const RECHECK_MS = 30_000;

export function environmentController(m: Manager, { now = () => new Date() }: Clock = {}): Controller {
  const environments = m.informer<Environment>(ENVIRONMENTS);
  const rollbackPolicies = m.informer<RollbackPolicy>(ROLLBACK_POLICIES);
  const backupPolicies = m.informer<BackupPolicy>(BACKUP_POLICIES);
  const inNamespace = (o: { metadata?: { namespace?: string } }) =>
    environments.list(o.metadata?.namespace ?? '').map(keyOf);

  return {
    kind: 'Environment',
    primary: ENVIRONMENTS,
    watches: [
      { ref: ROLLBACK_POLICIES, map: inNamespace },
      { ref: BACKUP_POLICIES, map: inNamespace },
    ],
    async reconcile({ namespace, name }) {
      const env = environments.get(name, namespace);
      if (!env) return undefined;
      const { defaults, config } = env.spec;
      const exists = async (resource: string, ref: { name: string } | undefined) =>
        ref ? (await getOptional(m.client, 'v1', resource, namespace, ref.name)) !== undefined : undefined;
      const obs: EnvironmentObservation = {
        rollbackPolicyFound: defaults?.rollbackPolicyRef
          ? rollbackPolicies.get(defaults.rollbackPolicyRef.name, namespace) !== undefined
          : undefined,
        backupPolicyFound: defaults?.backupPolicyRef
          ? backupPolicies.get(defaults.backupPolicyRef.name, namespace) !== undefined
          : undefined,
        configMapFound: await exists('configmaps', config?.configMapRef),
        secretFound: await exists('secrets', config?.secretRef),
      };
      await commitStatus(m.client, ENVIRONMENTS, env, planEnvironmentStatus(env, obs, now()));
      const uncachedMissing = obs.configMapFound === false || obs.secretFound === false;
      return uncachedMissing ? { requeueAfterMs: RECHECK_MS } : undefined;
    },
  };
}
