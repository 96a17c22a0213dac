import type { RollbackPolicy } from '../api/generated/index.js';
import { ROLLBACK_POLICIES } from '../api/kinds.js';
import type { Clock, Controller, Manager } from '../runtime/manager.js';
import { commitStatus } from '../runtime/reconcile.js';
import { planRollbackPolicyStatus } from './plan.js';

export function rollbackPolicyController(m: Manager, { now = () => new Date() }: Clock = {}): Controller {
  const policies = m.informer<RollbackPolicy>(ROLLBACK_POLICIES);
  return {
    kind: 'RollbackPolicy',
    primary: ROLLBACK_POLICIES,
    async reconcile({ namespace, name }) {
      const rbp = policies.get(name, namespace);
      if (rbp) await commitStatus(m.client, ROLLBACK_POLICIES, rbp, planRollbackPolicyStatus(rbp, now()));
      return undefined;
    },
  };
}
