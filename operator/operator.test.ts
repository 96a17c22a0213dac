import { AUDIT_FLUSH_GRACE_MS, stopInOrder } from './operator.js';

test('shutdown: reconciles end, then the lease is handed back, then the audit trail flushes within its grace', async () => {
  const order: string[] = [];
  const step = (name: string) => ({
    stop: (graceMs?: number) => {
      order.push(graceMs === undefined ? name : `${name} ${graceMs}`);
      return Promise.resolve();
    },
  });
  await stopInOrder({ manager: step('manager'), leader: step('leader'), audit: step('audit') });
  expect(order).toEqual(['manager', 'leader', `audit ${AUDIT_FLUSH_GRACE_MS}`]);
  // Reconciles, the lease and the flush together stay well inside terminationGracePeriodSeconds (30 s).
  expect(AUDIT_FLUSH_GRACE_MS).toBeLessThanOrEqual(10_000);
});
