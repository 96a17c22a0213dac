// Release reconciler: observe (cache) → plan (pure) → act (one status write).
import type { BackupPolicy, Environment, Release, RollbackPolicy } from '../api/generated/index.js';
import { BACKUP_POLICIES, ENVIRONMENTS, RELEASES, ROLLBACK_POLICIES } from '../api/kinds.js';
import { keyOf, type Controller, type Manager } from '../runtime/manager.js';
import { commitStatus } from '../runtime/reconcile.js';
import { planReleaseStatus, policyNames, type ReleaseObservation } from './plan.js';

export function releaseController(m: Manager): Controller {
  const releases = m.informer<Release>(RELEASES);
  const environments = m.informer<Environment>(ENVIRONMENTS);
  const rollbackPolicies = m.informer<RollbackPolicy>(ROLLBACK_POLICIES);
  const backupPolicies = m.informer<BackupPolicy>(BACKUP_POLICIES);
  const inNamespace = (o: { metadata?: { namespace?: string } }) =>
    releases.list(o.metadata?.namespace ?? '').map(keyOf);

  return {
    kind: 'Release',
    primary: RELEASES,
    watches: [
      {
        ref: ENVIRONMENTS,
        map: (env) =>
          releases
            .list(env.metadata?.namespace ?? '')
            .filter((r) => r.spec.environmentRef.name === env.metadata?.name)
            .map(keyOf),
      },
      { ref: ROLLBACK_POLICIES, map: inNamespace },
      { ref: BACKUP_POLICIES, map: inNamespace },
    ],
    async reconcile({ namespace, name }) {
      const rel = releases.get(name, namespace);
      if (!rel) return undefined;
      const environment = environments.get(rel.spec.environmentRef.name, namespace);
      const names = policyNames(rel, environment);
      const obs: ReleaseObservation = {
        environment,
        rollbackPolicy: names.rollback
          ? { name: names.rollback, found: rollbackPolicies.get(names.rollback, namespace) !== undefined }
          : undefined,
        backupPolicy: names.backup
          ? { name: names.backup, found: backupPolicies.get(names.backup, namespace) !== undefined }
          : undefined,
      };
      await commitStatus(m.client, RELEASES, rel, planReleaseStatus(rel, obs, new Date()));
      return undefined;
    },
  };
}
