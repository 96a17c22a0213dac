import type { BackupPolicy, Release } from '../api/generated/index.js';
import { releaseBackupJob } from './backup.js';

const policy: BackupPolicy = {
  apiVersion: 'cutover.dev/v1alpha1',
  kind: 'BackupPolicy',
  metadata: { name: 'nightly', namespace: 'prod', uid: 'p1' },
  spec: {
    databaseSecretRef: { name: 'shop-db', key: 'url' },
    full: { schedule: '0 2 * * *' },
    storage: { s3: { bucket: 'backups', endpoint: 'http://s3:9000', secretRef: { name: 's3' } } },
  },
};

function rel(timeout?: string): Release {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: { name: 'shop', namespace: 'prod', uid: 'r1' },
    spec: {
      environmentRef: { name: 'production' },
      application: 'shop',
      version: '2.0.0',
      template: { spec: { containers: [{ name: 'app', image: 'shop:2' }] } },
      migrations: {
        databaseSecretRef: { name: 'shop-db', key: 'url' },
        contract: { configMapRef: { name: 'shop-contract' }, ...(timeout ? { timeout } : {}) },
      },
    },
  };
}

describe('the backup a Release takes before its contract', () => {
  test("the policy's full backup Job, owned by the Release alone, labelled for both", () => {
    const j = releaseBackupJob(rel('10m'), policy, 'shop-backup-abc', 'rev2', 'cutover:1');
    expect(j.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'Release', uid: 'r1' })]);
    expect(j.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'cutover',
      'cutover.dev/job': 'backup-full',
      'cutover.dev/backup-policy': 'nightly',
      'cutover.dev/revision': 'rev2',
      app: 'shop',
    });
    const c = j.spec?.template.spec?.containers[0];
    expect(c?.args).toEqual(['backup', 'full', '--to', 's3://backups']);
    // Secrets only by reference: nothing in the object holds a value of one.
    for (const e of c?.env ?? []) {
      if (['DATABASE_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'].includes(e.name)) {
        expect(e.value).toBeUndefined();
        expect(e.valueFrom?.secretKeyRef).toBeDefined();
      }
    }
    expect(j.spec?.backoffLimit).toBe(0);
  });

  test('the deadline: the contract timeout, never under 30 minutes', () => {
    expect(releaseBackupJob(rel('10m'), policy, 'b', 'r', 'i').spec?.activeDeadlineSeconds).toBe(1800);
    expect(releaseBackupJob(rel(), policy, 'b', 'r', 'i').spec?.activeDeadlineSeconds).toBe(1800);
    expect(releaseBackupJob(rel('2h'), policy, 'b', 'r', 'i').spec?.activeDeadlineSeconds).toBe(7200);
  });
});
