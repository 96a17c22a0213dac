// BackupPolicy reconciler. The Secret is read by name and only its key names
// leave this function: the URL itself is never held in status, logs or events.
import type { V1PersistentVolumeClaim, V1Secret } from '@kubernetes/client-node';
import type { BackupPolicy } from '../api/generated/index.js';
import { BACKUP_POLICIES } from '../api/kinds.js';
import { getOptional } from '../runtime/lookup.js';
import type { Clock, Controller, Manager } from '../runtime/manager.js';
import { commitStatus } from '../runtime/reconcile.js';
import { planBackupPolicyStatus, type BackupPolicyObservation } from './plan.js';

const RECHECK_MS = 30_000;

export function backupPolicyController(m: Manager, { now = () => new Date() }: Clock = {}): Controller {
  const policies = m.informer<BackupPolicy>(BACKUP_POLICIES);
  return {
    kind: 'BackupPolicy',
    primary: BACKUP_POLICIES,
    async reconcile({ namespace, name }) {
      const bkp = policies.get(name, namespace);
      if (!bkp) return undefined;
      const secret = await getOptional<V1Secret>(
        m.client,
        'v1',
        'secrets',
        namespace,
        bkp.spec.databaseSecretRef.name,
      );
      const claim = bkp.spec.storage?.pvc?.claimName;
      const obs: BackupPolicyObservation = {
        secretKeys: secret ? Object.keys({ ...secret.data, ...secret.stringData }) : undefined,
        claimFound: claim
          ? (await getOptional<V1PersistentVolumeClaim>(
              m.client,
              'v1',
              'persistentvolumeclaims',
              namespace,
              claim,
            )) !== undefined
          : undefined,
      };
      const status = planBackupPolicyStatus(bkp, obs, now());
      await commitStatus(m.client, BACKUP_POLICIES, bkp, status);
      return status.conditions?.some((c) => c.type === 'Stalled')
        ? { requeueAfterMs: RECHECK_MS }
        : undefined;
    },
  };
}
