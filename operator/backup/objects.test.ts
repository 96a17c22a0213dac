import type { BackupPolicy } from '../api/generated/index.js';
import {
  MAX_POLICY_NAME,
  backupCronJobs,
  backupJob,
  manualJobName,
  replicationSlot,
  restoreJob,
  walDeployment,
} from './objects.js';

function policy(spec: Partial<BackupPolicy['spec']> = {}): BackupPolicy {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'BackupPolicy',
    metadata: { name: 'nightly', namespace: 'shop', uid: 'u1', generation: 1 },
    spec: {
      databaseSecretRef: { name: 'shop-db', key: 'url' },
      full: { schedule: '0 2 * * *' },
      storage: {
        s3: { bucket: 'backups', prefix: 'shop', endpoint: 'http://s3:9000', secretRef: { name: 's3' } },
      },
      ...spec,
    },
  };
}

describe('backup objects', () => {
  test('a CronJob per configured kind, Forbid, a starting deadline, labels back to the policy', () => {
    const jobs = backupCronJobs(policy({ verify: { schedule: '0 4 * * 0' } }), 'img:1');
    expect(Object.keys(jobs).sort()).toEqual(['full', 'prune', 'verify']);
    const full = jobs.full;
    expect(full?.spec).toMatchObject({
      schedule: '0 2 * * *',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 600,
      suspend: false,
    });
    expect(full?.metadata?.labels).toMatchObject({
      'cutover.dev/backup-policy': 'nightly',
      'cutover.dev/job': 'backup-full',
    });
    expect(full?.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'BackupPolicy',
      uid: 'u1',
      controller: true,
    });
    const c = full?.spec?.jobTemplate.spec?.template.spec?.containers[0];
    expect(c?.args).toEqual(['backup', 'full', '--to', 's3://backups/shop']);
    expect(jobs.prune?.spec?.jobTemplate.spec?.template.spec?.containers[0]?.args).toEqual([
      'backup',
      'prune',
      '--from',
      's3://backups/shop',
      '--full',
      '30d',
      '--wal',
      '7d',
      '--keep-at-least',
      '3',
      '--apply',
    ]);
  });

  test('secrets reach the pod only through secretKeyRef; the pod is restricted', () => {
    const job = backupJob(policy(), 'full', 'x', 'img:1');
    const pod = job.spec?.template.spec;
    const env = pod?.containers[0]?.env ?? [];
    expect(env.find((e) => e.name === 'DATABASE_URL')).toEqual({
      name: 'DATABASE_URL',
      valueFrom: { secretKeyRef: { name: 'shop-db', key: 'url' } },
    });
    expect(env.find((e) => e.name === 'AWS_SECRET_ACCESS_KEY')?.valueFrom?.secretKeyRef).toEqual({
      name: 's3',
      key: 'AWS_SECRET_ACCESS_KEY',
    });
    expect(
      env
        .filter((e) => e.value !== undefined)
        .map((e) => e.name)
        .sort(),
    ).toEqual(['AWS_ENDPOINT_URL', 'AWS_REGION', 'CUTOVER_REPORT', 'TMPDIR']);
    expect(pod?.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod?.containers[0]?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(job.spec?.backoffLimit).toBe(0);
  });

  test('a claim is mounted and becomes a file:// URI', () => {
    const job = backupJob(policy({ storage: { pvc: { claimName: 'shop-backups' } } }), 'full', 'x', 'img:1');
    expect(job.spec?.template.spec?.volumes).toContainEqual({
      name: 'backups',
      persistentVolumeClaim: { claimName: 'shop-backups' },
    });
    expect(job.spec?.template.spec?.containers[0]?.args).toEqual([
      'backup',
      'full',
      '--to',
      'file:///backups',
    ]);
  });

  test('the WAL Deployment: one receiver, Recreate, zero when suspended, absent without incremental', () => {
    expect(walDeployment(policy(), 'img:1')).toBeUndefined();
    const d = walDeployment(policy({ incremental: { interval: '2s' } }), 'img:1');
    expect(d?.spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
    expect(d?.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['wal']);
    expect(d?.spec?.template.spec?.containers[0]?.args).toEqual([
      'backup',
      'wal',
      '--to',
      's3://backups/shop',
      '--slot',
      replicationSlot(policy()),
      '--interval',
      '2s',
      '--dir',
      '/scratch/wal',
    ]);
    expect(walDeployment(policy({ incremental: {}, suspend: true }), 'img:1')?.spec?.replicas).toBe(0);
    expect(backupCronJobs(policy({ suspend: true }), 'img:1').full?.spec?.suspend).toBe(true);
  });

  test('replicas add a copying container with their own variables', () => {
    const d = walDeployment(
      policy({
        incremental: {},
        storage: {
          s3: { bucket: 'a', secretRef: { name: 's3' } },
          replicas: [{ bucket: 'b', endpoint: 'http://eu:9000', secretRef: { name: 's3-eu' } }],
        },
      }),
      'img:1',
    );
    const rep = d?.spec?.template.spec?.containers[1];
    expect(rep?.args).toEqual([
      'backup',
      'replicate',
      '--from',
      's3://a',
      '--to',
      's3://b',
      '--follow',
      '--interval',
      '5s',
    ]);
    expect(rep?.env?.find((e) => e.name === 'CUTOVER_REPLICA_1_AWS_ENDPOINT_URL')?.value).toBe(
      'http://eu:9000',
    );
  });

  test('replication slot names are valid and distinct per namespace', () => {
    const a = replicationSlot(policy());
    const other = { ...policy(), metadata: { name: 'nightly', namespace: 'other' } };
    expect(a).toMatch(/^[a-z0-9_]{1,63}$/);
    expect(replicationSlot(other)).not.toBe(a);
  });
});

describe('restore Jobs', () => {
  const cron = () => {
    const full = backupCronJobs(policy(), 'img:1').full;
    if (!full) throw new Error('no full CronJob');
    return full;
  };

  test('point in time into a claim: the full pod with restore args and the claim mounted', () => {
    const job = restoreJob(cron(), 'nightly-restore-m1', {
      target: { pgdata: { claim: 'restored', path: 'pgdata' } },
      point: { toTime: '2026-12-02T10:30:00Z' },
      inPlace: false,
    });
    const pod = job.spec?.template.spec;
    expect(pod?.containers[0]?.args).toEqual([
      'restore',
      '--from',
      's3://backups/shop',
      '--to-time',
      '2026-12-02T10:30:00Z',
      '--pgdata',
      '/restore/pgdata',
    ]);
    expect(pod?.volumes).toContainEqual({
      name: 'restore',
      persistentVolumeClaim: { claimName: 'restored' },
    });
    expect(job.metadata?.labels?.['cutover.dev/job']).toBe('backup-restore');
    expect(job.metadata?.labels?.['cutover.dev/backup-policy']).toBe('nightly');
  });

  test('owned by nothing, so deleting the policy leaves a running restore; 24 h to finish', () => {
    const job = restoreJob(cron(), 'nightly-restore-m1', {
      target: { pgdata: { claim: 'restored', path: 'pgdata' } },
      point: { latest: true },
      inPlace: false,
    });
    expect(cron().metadata?.ownerReferences?.[0]?.kind).toBe('BackupPolicy');
    expect(job.metadata?.ownerReferences).toBeUndefined();
    expect(job.spec?.activeDeadlineSeconds).toBe(24 * 3600);
    expect(cron().spec?.jobTemplate.spec?.activeDeadlineSeconds).toBe(6 * 3600);
    expect(job.spec?.ttlSecondsAfterFinished).toBe(7 * 24 * 3600);
  });

  test('a dump into a database: its URL only through the environment', () => {
    const job = restoreJob(cron(), 'x', {
      target: { secret: { name: 'scratch', key: 'url' } },
      point: { latest: true },
      inPlace: false,
    });
    const c = job.spec?.template.spec?.containers[0];
    expect(c?.args).toEqual(['restore', '--from', 's3://backups/shop', '--target-url-env', 'TARGET_URL']);
    expect(JSON.stringify(c?.args)).not.toContain('$(');
    expect(c?.env).toContainEqual({
      name: 'TARGET_URL',
      valueFrom: { secretKeyRef: { name: 'scratch', key: 'url' } },
    });
  });
});

describe('manual Job names', () => {
  test('differ for two starts in the same second, and fit 63 characters', () => {
    const at = new Date('2026-12-02T15:26:30.100Z');
    const a = manualJobName('nightly', 'full', at);
    const b = manualJobName('nightly', 'full', new Date(at.getTime() + 1));
    expect(a).not.toBe(b);
    expect(a).toMatch(/^nightly-full-m[0-9a-z]{8}$/);
    expect(manualJobName('p'.repeat(MAX_POLICY_NAME), 'restore', at).length).toBeLessThanOrEqual(63);
  });
});
