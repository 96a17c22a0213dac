import { Registry } from 'prom-client';
import type { BackupPolicy, Condition } from '../api/generated/index.js';
import { BackupMetrics } from './metrics.js';

const bkp: BackupPolicy = {
  apiVersion: 'cutover.dev/v1alpha1',
  kind: 'BackupPolicy',
  metadata: { name: 'nightly', namespace: 'shop' },
  spec: {
    databaseSecretRef: { name: 'shop-db', key: 'url' },
    full: { schedule: '0 2 * * *' },
    storage: { pvc: { claimName: 'shop-backups' } },
  },
};

const cond = (type: string, status: Condition['status'], reason: string): Condition => ({
  type,
  status,
  reason,
  message: '',
  lastTransitionTime: '2026-03-02T09:00:00Z',
});

async function conditions(registry: Registry): Promise<string[]> {
  const metric = registry.getSingleMetric('cutover_backup_condition');
  if (!metric) throw new Error('cutover_backup_condition is not registered');
  const { values } = await metric.get();
  return values
    .map((v) => `${String(v.labels.type)}=${String(v.labels.status)}/${String(v.labels.reason)}`)
    .sort();
}

describe('backup condition gauge', () => {
  test('one series per condition type, replaced when its status or reason moves, gone with the policy', async () => {
    const registry = new Registry();
    const m = new BackupMetrics(registry);
    m.observe(bkp, { conditions: [cond('LastBackupSucceeded', 'True', 'BackupSucceeded')] }, [], {});
    m.observe(
      bkp,
      {
        conditions: [
          cond('LastBackupSucceeded', 'False', 'BackupFailed'),
          cond('WalStreaming', 'False', 'ChainBroken'),
        ],
      },
      [],
      {},
    );
    expect(await conditions(registry)).toEqual([
      'LastBackupSucceeded=False/BackupFailed',
      'WalStreaming=False/ChainBroken',
    ]);
    // A condition removed from status (verify no longer configured) drops its series.
    m.observe(bkp, { conditions: [cond('LastBackupSucceeded', 'False', 'BackupFailed')] }, [], {});
    expect(await conditions(registry)).toEqual(['LastBackupSucceeded=False/BackupFailed']);
    m.forget('shop', 'nightly');
    expect(await conditions(registry)).toEqual([]);
  });
});
