import {
  PATH,
  ageColumn,
  bool,
  conditions,
  cron,
  customResourceDefinition,
  enumOf,
  int32,
  list,
  named,
  obj,
  objectName,
  observedGeneration,
  quantity,
  readyColumn,
  ref,
  required,
  retention,
  rule,
  secretKeyRef,
  str,
  timestamp,
} from '../schema.js';

export const BACKUP_KINDS = ['Full', 'Incremental'] as const;
export const BACKUP_PHASES = ['Running', 'Succeeded', 'Failed'] as const;

const schedule = (description: string) =>
  named('BackupSchedule', obj(description, { schedule: required(cron('Cron schedule, five fields.')) }), {
    doc: 'When a kind of backup is to run (not enforced yet).',
  });

const spec = obj('Desired state of the BackupPolicy.', {
  databaseSecretRef: required(secretKeyRef('Secret key holding the PostgreSQL connection URL to back up.')),
  full: required(schedule('Full base backups (pg_basebackup). Not enforced yet: none runs.')),
  incremental: schedule(
    'Incremental backups: the WAL archived since the last full backup, so any point in time can be restored. Not enforced yet: none runs.',
  ),
  verify: schedule(
    'Restore drills into a scratch database that prove the latest backup restores. Not enforced yet: none runs.',
  ),
  timeZone: str("IANA time zone the schedules are read in; the kube-controller-manager's when unset.", {
    minLength: 1,
    maxLength: 64,
    pattern: '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$',
  }),
  retention: obj(
    'How long backups are to be kept (not enforced yet).',
    {
      full: retention('Age after which full backups are deleted, e.g. 30d.', '30d'),
      incremental: retention('Age after which archived WAL is deleted, e.g. 7d.', '7d'),
      keepAtLeast: int32('Full backups kept regardless of age.', { minimum: 1, default: 3 }),
    },
    { default: {} },
  ),
  storage: required(
    obj(
      'Where backups are written. Set exactly one of pvc or s3.',
      {
        pvc: obj('A PersistentVolumeClaim in the same namespace.', {
          claimName: required(objectName('Name of the PersistentVolumeClaim.')),
        }),
        s3: obj('An S3-compatible bucket.', {
          bucket: required(
            str('Bucket name.', {
              pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
              minLength: 3,
              maxLength: 63,
            }),
          ),
          endpoint: str('Endpoint URL; AWS when unset.', { pattern: '^https?://[^\\s]+$', maxLength: 2048 }),
          region: str('Region of the bucket.', { maxLength: 64 }),
          prefix: str('Key prefix under which backups are stored.', { maxLength: 1024 }),
          secretRef: required(
            ref('Secret with the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.', 'Secret'),
          ),
        }),
      },
      { rules: [rule('has(self.pvc) != has(self.s3)', `${PATH} must set exactly one of pvc or s3`)] },
    ),
  ),
  suspend: bool(
    'Is to stop scheduled backups and drills while on-demand backups before migrations still run. Not enforced yet: no backup runs either way.',
    false,
  ),
});

const status = obj('Observed state of the BackupPolicy, written by the operator.', {
  observedGeneration: observedGeneration(),
  conditions: conditions(
    'Ready (database Secret and storage found), Enforced (False: no backup runs yet), Reconciling, Stalled; LastBackupSucceeded and Verified are reserved and not set yet',
  ),
  lastFull: timestamp('When the last full backup finished.'),
  lastIncremental: timestamp('When the last incremental backup finished.'),
  lastVerified: timestamp('When the last restore drill succeeded.'),
  firstRecoverabilityPoint: timestamp('Earliest point in time that can be restored.'),
  backups: list(
    'Recent backups, newest first.',
    named(
      'BackupRecord',
      obj('One backup.', {
        id: required(str('Identifier of the backup in storage.', { maxLength: 253 })),
        kind: enumOf('Full or Incremental.', BACKUP_KINDS),
        phase: enumOf('Outcome so far.', BACKUP_PHASES),
        startedAt: timestamp('When it started.'),
        finishedAt: timestamp('When it finished.'),
        size: quantity('Size in storage, e.g. 1.2Gi.'),
        lsn: str('PostgreSQL WAL position the backup reaches, e.g. 0/3000060.', { maxLength: 32 }),
      }),
    ),
    { maxItems: 50 },
  ),
});

export const backupPolicy = customResourceDefinition({
  kind: 'BackupPolicy',
  plural: 'backuppolicies',
  shortName: 'bkp',
  description:
    'A BackupPolicy describes PostgreSQL backups (full, WAL, restore drills) and the backup before destructive migrations. Not implemented yet: the operator checks the database Secret and storage, and runs no backup (condition Enforced).',
  printerColumns: [
    {
      name: 'Schedule',
      type: 'string',
      jsonPath: '.spec.full.schedule',
      description: 'Full backup schedule.',
    },
    { name: 'Last-Full', type: 'date', jsonPath: '.status.lastFull', description: 'Last full backup.' },
    {
      name: 'Last-Verified',
      type: 'date',
      jsonPath: '.status.lastVerified',
      description: 'Last restore drill.',
    },
    readyColumn(),
    ageColumn(),
  ],
  spec,
  status,
});
