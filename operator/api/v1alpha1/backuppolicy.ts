import {
  HTTP_URL,
  PATH,
  ageColumn,
  bool,
  conditions,
  cron,
  customResourceDefinition,
  enumOf,
  int32,
  list,
  duration,
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

export const BACKUP_KINDS = ['Full', 'Incremental', 'Dump'] as const;
export const BACKUP_PHASES = ['Running', 'Succeeded', 'Failed'] as const;

const schedule = (description: string) =>
  named('BackupSchedule', obj(description, { schedule: required(cron('Cron schedule, five fields.')) }), {
    doc: 'When a kind of backup runs.',
  });

const bucket = (description: string) =>
  named(
    'S3Location',
    obj(description, {
      bucket: required(
        str('Bucket name.', {
          pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
          minLength: 3,
          maxLength: 63,
        }),
      ),
      endpoint: str('Endpoint URL; AWS when unset.', { pattern: HTTP_URL, maxLength: 2048 }),
      region: str('Region of the bucket.', { maxLength: 64 }),
      prefix: str('Key prefix under which backups are stored.', {
        maxLength: 1024,
        pattern: '^[A-Za-z0-9!_.*()-]+(/[A-Za-z0-9!_.*()-]+)*/?$',
      }),
      secretRef: required(ref('Secret with the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.', 'Secret')),
    }),
    { doc: 'An S3-compatible bucket.' },
  );

const spec = obj(
  'Desired state of the BackupPolicy.',
  {
    databaseSecretRef: required(
      secretKeyRef(
        'Secret key holding the PostgreSQL connection URL to back up; its user needs the REPLICATION attribute.',
      ),
    ),
    full: required(
      schedule(
        'Full base backups: pg_basebackup over the replication protocol, tar, gzip, with the WAL they need and a SHA-256 manifest. Run by the CronJob <name>-full.',
      ),
    ),
    incremental: obj(
      'Continuous WAL: the Deployment <name>-wal streams it with pg_receivewal through a replication slot, so any point in time after the oldest full can be restored.',
      {
        interval: duration(
          'How often the open WAL segment is shipped: the most commits a lost database can take with it.',
          { default: '5s', atLeast: '1s' },
        ),
        schedule: cron(
          'Not used: WAL streams continuously and ships every interval. Accepted so that manifests written for an hourly schedule stay valid.',
        ),
      },
    ),
    logical: schedule(
      'Logical dumps (pg_dump -Fc), for restoring into any database or PostgreSQL version. Run by the CronJob <name>-dump.',
    ),
    verify: schedule(
      'Restore drills: the CronJob <name>-verify restores the newest full plus WAL into a scratch directory, starts a throwaway PostgreSQL on it and compares its tables with the manifest.',
    ),
    timeZone: str("IANA time zone the schedules are read in; the kube-controller-manager's when unset.", {
      minLength: 1,
      maxLength: 64,
      pattern: '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$',
    }),
    retention: obj(
      'How long backups are kept; the CronJob <name>-prune applies it hourly. The keepAtLeast newest complete fulls and the WAL they need always stay.',
      {
        full: retention('Age after which full backups and dumps are deleted, e.g. 30d.', '30d'),
        incremental: retention(
          'How far back point-in-time restore reaches: WAL older than the newest full that started before this age is deleted.',
          '7d',
        ),
        keepAtLeast: int32('Complete full backups kept regardless of age.', { minimum: 1, default: 3 }),
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
          s3: bucket('An S3-compatible bucket.'),
          replicas: list(
            'More buckets (another endpoint is another region) every sealed object is copied to. Needs s3.',
            bucket('A bucket in another region.'),
            { maxItems: 3 },
          ),
        },
        {
          rules: [
            rule('has(self.pvc) != has(self.s3)', `${PATH} must set exactly one of pvc or s3`),
            rule('!has(self.replicas) || has(self.s3)', `${PATH}.replicas needs s3 storage`),
          ],
        },
      ),
    ),
    suspend: bool(
      'Suspends the CronJobs and scales the WAL Deployment to zero; the backup a destructive migration needs still runs.',
      false,
    ),
  },
  {
    rules: [
      rule(
        '!has(self.storage.replicas) || has(self.incremental)',
        'spec.storage.replicas needs spec.incremental: the WAL Deployment copies every sealed object',
      ),
    ],
  },
);

const status = obj('Observed state of the BackupPolicy, written by the operator.', {
  observedGeneration: observedGeneration(),
  conditions: conditions(
    'Ready (Secret, storage and the owned CronJobs and Deployment in place), LastBackupSucceeded, WalStreaming, Verified, Replicated, Reconciling, Stalled',
  ),
  lastFull: timestamp('When the last successful full backup finished.'),
  lastIncremental: timestamp('When WAL was last shipped to storage.'),
  lastDump: timestamp('When the last successful logical dump finished.'),
  lastVerified: timestamp('When the last restore drill succeeded.'),
  firstRecoverabilityPoint: timestamp('Earliest point in time that can be restored.'),
  lastRecoverabilityPoint: timestamp('Latest point in time that can be restored.'),
  replicas: list(
    'Copy state per replica bucket.',
    named(
      'BackupReplicaStatus',
      obj('One replica.', {
        location: required(str('endpoint/bucket/prefix of the replica.', { maxLength: 2048 })),
        behindSince: timestamp(
          'When the oldest object the replica still lacks was sealed, while it is further behind than the limit of condition Replicated; the live lag is the metric cutover_backup_replication_lag_seconds.',
        ),
      }),
    ),
    { maxItems: 3 },
  ),
  lastRestore: named(
    'RestoreRecord',
    obj(
      'The newest restore Job started from this policy (kubectl cutover restore), as the operator last saw it; its start and outcome are recorded as Events and audit records.',
      {
        job: required(str('The restore Job.', { maxLength: 253 })),
        phase: enumOf('Outcome so far.', BACKUP_PHASES),
        startedAt: timestamp('When it started.'),
        finishedAt: timestamp('When it finished.'),
        message: str('Why it failed.', { maxLength: 1024 }),
      },
    ),
  ),
  backups: list(
    'Recent backups, newest first.',
    named(
      'BackupRecord',
      obj('One backup.', {
        id: required(str('Identifier of the backup in storage.', { maxLength: 253 })),
        kind: enumOf('Full, Incremental or Dump.', BACKUP_KINDS),
        phase: enumOf('Outcome so far.', BACKUP_PHASES),
        job: str('The Job that took it.', { maxLength: 253 }),
        startedAt: timestamp('When it started.'),
        finishedAt: timestamp('When it finished.'),
        size: quantity('Size in storage, e.g. 1.2Gi.'),
        lsn: str('PostgreSQL WAL position the backup reaches, e.g. 0/3000060.', { maxLength: 32 }),
        message: str('Why it failed.', { maxLength: 1024 }),
      }),
    ),
    { maxItems: 20 },
  ),
});

export const backupPolicy = customResourceDefinition({
  kind: 'BackupPolicy',
  plural: 'backuppolicies',
  shortName: 'bkp',
  description:
    'A BackupPolicy runs PostgreSQL backups for one database: scheduled fulls, continuous WAL, dumps, restore drills, retention and copies to other regions; Releases use it for the backup before a destructive contract migration.',
  printerColumns: [
    {
      name: 'Schedule',
      type: 'string',
      jsonPath: '.spec.full.schedule',
      description: 'Full backup schedule.',
    },
    { name: 'Last-Full', type: 'date', jsonPath: '.status.lastFull', description: 'Last full backup.' },
    {
      name: 'Last-WAL',
      type: 'date',
      jsonPath: '.status.lastIncremental',
      description: 'When WAL was last shipped.',
    },
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
