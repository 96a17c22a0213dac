import {
  DNS1123_LABEL,
  PATH,
  ageColumn,
  bool,
  conditions,
  customResourceDefinition,
  duration,
  enumOf,
  int32,
  intOrString,
  quantity,
  list,
  named,
  obj,
  objectName,
  observedGeneration,
  ref,
  required,
  rule,
  secretKeyRef,
  str,
  timestamp,
  type JSONSchemaProps,
} from '../schema.js';
import {
  DEFAULT_CONTRACT_AFTER,
  DEFAULT_PROGRESS_DEADLINE,
  DEFAULT_SCALE_DOWN_DELAY,
  DEFAULT_TRAFFIC_MODE,
} from '../defaults.js';
import { slot, stepDuration, trafficSteps } from './common.js';

export const TRAFFIC_MODES = ['GatewayAPI', 'Replicas', 'Service'] as const;

export const RELEASE_PHASES = [
  'Pending',
  'AwaitingApproval',
  'WaitingForWindow',
  'BackingUp',
  'Migrating',
  'Deploying',
  'Verifying',
  'Shifting',
  'Baking',
  'Contracting',
  'Succeeded',
  'RollingBack',
  'RolledBack',
  'Failed',
] as const;

export const MIGRATION_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Skipped'] as const;
export const RELEASE_BACKUP_PHASES = ['Running', 'Succeeded', 'Failed'] as const;
export const ROLLOUT_OUTCOMES = ['Succeeded', 'RolledBack', 'Failed', 'Aborted'] as const;
export const MEASUREMENT_RESULTS = ['Pass', 'Fail', 'Inconclusive'] as const;
/** What started a rollback: a person (the abort annotation), the RollbackPolicy's analysis, or the verification Job. */
export const ROLLBACK_CAUSES = ['Aborted', 'AnalysisFailed', 'VerificationFailed'] as const;

// Deployments are named <application>-blue / <application>-green, and a
// Deployment's pods carry that name in a 63-character label.
const APPLICATION_MAX = 63 - '-green'.length;

function migrationStep(which: 'expand' | 'contract', description: string): JSONSchemaProps {
  const props = {
    configMapRef: ref(
      'ConfigMap holding native SQL files named NNN_name.up.sql and NNN_name.down.sql, applied in order by the built-in runner (advisory lock, one transaction per file, history table). Exclusive with image.',
      'ConfigMap',
    ),
    image: str(
      'Container image that runs the migration with any tool (Flyway, Prisma, ...); receives DATABASE_URL from databaseSecretRef. Exclusive with configMapRef.',
      { minLength: 1, maxLength: 1024 },
    ),
    command: list('Entrypoint for image; the image default when unset.', str('One argument.'), {
      maxItems: 64,
    }),
    args: list('Arguments for image; the image default when unset.', str('One argument.'), { maxItems: 64 }),
    timeout: duration(
      which === 'contract'
        ? 'Deadline for the migration Job; the Release fails when it is exceeded. The backup before a destructive contract gets this deadline too, but never less than 30m.'
        : 'Deadline for the migration Job; the Release fails when it is exceeded.',
      {
        default: '10m',
        atLeast: '1s',
      },
    ),
    ...(which === 'contract'
      ? {
          after: duration(
            'Bake time between reaching 100% and running the contract migration; rollback is still a traffic switch until then.',
            { default: DEFAULT_CONTRACT_AFTER },
          ),
        }
      : {}),
  };
  return named(
    which === 'expand' ? 'ExpandMigration' : 'ContractMigration',
    obj(description, props, {
      rules: [
        rule(
          'has(self.configMapRef) != has(self.image)',
          `${PATH} must set exactly one of configMapRef or image`,
        ),
        rule(
          '(!has(self.command) && !has(self.args)) || has(self.image)',
          `${PATH}.command and ${PATH}.args apply only together with ${PATH}.image`,
        ),
      ],
    }),
  );
}

const spec = obj('Desired state of the Release.', {
  environmentRef: required(
    ref(
      'Environment this Release deploys into, in its own namespace; supplies defaults (traffic, policies) and the gates a rollout passes before it starts.',
      'Environment',
    ),
  ),
  application: required(
    str(
      'Application name. The Release owns the Deployments <application>-blue and <application>-green and the Service <application>. Immutable.',
      {
        pattern: DNS1123_LABEL,
        minLength: 1,
        maxLength: APPLICATION_MAX,
        rules: [rule('self == oldSelf', `${PATH} is immutable; create a new Release instead`)],
      },
    ),
  ),
  version: required(
    str(
      'Version being released, e.g. 2.4.0. Changing it (or spec.template) starts a new rollout. Used as the value of the version label, so it follows label-value syntax.',
      {
        minLength: 1,
        maxLength: 63,
        pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$',
      },
    ),
  ),
  replicas: int32('Pods per slot at full traffic.', { minimum: 0, default: 1 }),
  template: required(
    named(
      'V1PodTemplateSpec',
      {
        description:
          'Pod template (a core/v1 PodTemplateSpec) for both slots. Changing it starts a new rollout; the operator adds the app, slot and version labels.',
        type: 'object',
        'x-kubernetes-preserve-unknown-fields': true,
      },
      { from: '@kubernetes/client-node' },
    ),
  ),
  service: obj(
    'The Service <application> the Release owns, which routes to the active slot.',
    {
      port: int32('Port the Service exposes.', { minimum: 1, maximum: 65535, default: 80 }),
      targetPort: intOrString('Container port number or name the Service forwards to; defaults to port.', [
        rule(
          "type(self) == int ? (int(self) >= 1 && int(self) <= 65535) : string(self).matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && string(self).size() <= 15",
          `${PATH} must be a port number 1-65535 or a container port name`,
        ),
      ]),
    },
    { default: {} },
  ),
  traffic: named(
    'TrafficPolicy',
    obj(
      'How traffic moves from the stable slot to the new one.',
      {
        mode: enumOf(
          'GatewayAPI shifts HTTPRoute backend weights; Replicas weighs by replica ratio behind one Service; Service switches the selector all at once (steps ignored). Replicas is the default because it needs no other object.',
          TRAFFIC_MODES,
          { default: DEFAULT_TRAFFIC_MODE },
        ),
        httpRouteRef: ref(
          'HTTPRoute whose backend weights the operator manages. Required when mode is GatewayAPI.',
          'HTTPRoute',
        ),
        steps: trafficSteps(
          "Percentages of traffic on the new version, strictly increasing, each 1-100, ending at 100. Defaults to the Environment's spec.defaults.traffic.steps.",
        ),
        stepDuration: stepDuration(
          "Time held at each step before the next one, while the RollbackPolicy is evaluated. Defaults to the Environment's spec.defaults.traffic.stepDuration.",
        ),
      },
      {
        default: {},
        rules: [
          rule(
            "!has(self.mode) || self.mode != 'GatewayAPI' || has(self.httpRouteRef)",
            `${PATH}.httpRouteRef is required when ${PATH}.mode is GatewayAPI`,
            { fieldPath: '.httpRouteRef', reason: 'FieldValueRequired' },
          ),
        ],
      },
    ),
  ),
  migrations: named(
    'Migrations',
    obj(
      'Database migrations coordinated with the traffic switch.',
      {
        databaseSecretRef: required(
          secretKeyRef('Secret key holding the PostgreSQL connection URL the migrations run against.'),
        ),
        expand: migrationStep(
          'expand',
          'Migration run before any traffic moves; it must keep working with the old code.',
        ),
        contract: migrationStep(
          'contract',
          'Migration run after 100% and the bake time; may be destructive. Once it ran, rollback means roll forward. When it is destructive (a configMapRef file the linter flags, or any image, which cannot be read) and a BackupPolicy applies, a full backup is taken first (phase BackingUp) and the contract waits for it; without a BackupPolicy it runs anyway, with a Warning Event ContractWithoutBackup.',
        ),
      },
      {
        rules: [rule('has(self.expand) || has(self.contract)', `${PATH} must set expand, contract or both`)],
      },
    ),
  ),
  verify: named(
    'Verification',
    obj(
      "A Job run once per rollout attempt after the new slot is available and before any traffic moves, against the Service <application>-preview (its URL in CUTOVER_PREVIEW_URL; CUTOVER_APP, CUTOVER_VERSION and CUTOVER_SLOT are set too). If it fails, the rollout rolls back (RolledBack, cause VerificationFailed) with the container's termination message in status.verification.",
      {
        image: required(str('Container image of the verification suite.', { minLength: 1, maxLength: 1024 })),
        command: list('Entrypoint; the image default when unset.', str('One argument.'), { maxItems: 64 }),
        args: list('Arguments; the image default when unset.', str('One argument.'), { maxItems: 64 }),
        timeout: duration('Deadline for the Job; exceeding it fails the rollout.', {
          default: '5m',
          atLeast: '1s',
        }),
      },
    ),
  ),
  rollbackPolicyRef: ref(
    "RollbackPolicy evaluated at each traffic step, during the bake and while the contract runs: failureLimit breaches in a row roll the Release back (after the contract started they fail it instead, leaving traffic where it is). Defaults to the Environment's; without one, steps advance on time alone.",
    'RollbackPolicy',
  ),
  backupPolicyRef: ref(
    "BackupPolicy whose storage and database Secret take a full backup before a destructive contract migration (a Job <application>-backup-<run>, owned by the Release); the contract runs only after it succeeded. Defaults to the Environment's. It must exist before the rollout starts.",
    'BackupPolicy',
  ),
  progressDeadline: duration('Longest time a slot may take to become available before the rollout fails.', {
    default: DEFAULT_PROGRESS_DEADLINE,
    atLeast: '1s',
  }),
  scaleDownDelay: duration('How long the old slot stays scaled up after promotion, for instant rollback.', {
    default: DEFAULT_SCALE_DOWN_DELAY,
  }),
  paused: bool('Holds the rollout at its current traffic step until set back to false.', false),
});

const migrationStatus = named(
  'MigrationStatus',
  obj('Progress of one Job: a migration or the verification.', {
    phase: enumOf('Where the Job is.', MIGRATION_PHASES),
    job: objectName('Name of the Job, deterministic per release revision.'),
    startedAt: timestamp('When the Job started.'),
    finishedAt: timestamp('When the Job finished.'),
    message: str('Details of the last failure, if any.', { maxLength: 4096 }),
  }),
);

const status = obj('Observed state of the Release, written by the operator.', {
  observedGeneration: observedGeneration(),
  conditions: conditions('Ready, Reconciling, Stalled, Progressing, Drifted'),
  phase: named(
    'ReleasePhase',
    enumOf(
      'Where the rollout is. Pending, AwaitingApproval and WaitingForWindow: held by a gate of the Environment (the Ready condition says which and what would open it). BackingUp: the full backup before a destructive contract migration is running, or failed (Stalled=True, reason BackupFailed; cutover.dev/retry takes a new one).',
      RELEASE_PHASES,
    ),
  ),
  revision: str('Hash of spec.version and spec.template identifying the rollout in progress.', {
    maxLength: 64,
  }),
  configHash: str(
    "Hash of the Environment's ConfigMap and Secret data the rollout in progress passed its gates with (never the data itself).",
    { maxLength: 64 },
  ),
  approvedBy: list(
    'Distinct approvers counted for the revision in progress (cutover.dev/approved-by entries for it).',
    str('One approver, as the cluster authenticated them.', { maxLength: 253 }),
    { maxItems: 20 },
  ),
  activeSlot: slot('Slot that serves the stable version.'),
  stableVersion: str('Version that last completed a rollout.', { maxLength: 63 }),
  stableRevision: str('Revision (hash of version and template) the active slot runs.', { maxLength: 64 }),
  targetSlot: slot('Slot the rollout in progress deploys into.'),
  attempt: int32('Retries of the current revision (cutover.dev/retry); part of the migration Job names.', {
    minimum: 0,
  }),
  startedAt: timestamp('When the rollout in progress started.'),
  phaseStartedAt: timestamp('When the current phase began (progress deadline, bake time).'),
  scaleDownAt: timestamp('When the previous slot is scaled to zero (promotion time + scaleDownDelay).'),
  canaryWeight: int32('Percentage of traffic currently on the new version.', { minimum: 0, maximum: 100 }),
  currentStep: int32('Index into the traffic steps of the step being held.', { minimum: 0 }),
  stepStartedAt: timestamp('When the current step began; the step is held until stepDuration has passed.'),
  migrations: obj('Progress of the migrations of the rollout in progress.', {
    expand: migrationStatus,
    contract: migrationStatus,
    down: migrationStatus,
  }),
  verification: migrationStatus,
  backup: obj(
    'The full backup taken before the destructive contract migration of the rollout in progress, if one was needed.',
    {
      job: objectName('Name of the backup Job: <application>-backup-<run>, -rN after a retry.'),
      policy: objectName('BackupPolicy whose storage and database Secret it used.'),
      phase: enumOf('Where the backup is.', RELEASE_BACKUP_PHASES),
      attempt: int32('Backups retried in this rollout (cutover.dev/retry while BackingUp).', { minimum: 0 }),
      id: str('Identifier of the backup in storage (full/<id>/).', { maxLength: 253 }),
      startedAt: timestamp('When the Job was created.'),
      finishedAt: timestamp('When the Job finished.'),
      size: quantity('Size in storage, e.g. 1.2Gi.'),
      message: str("Why it failed: the backup command's own error line.", { maxLength: 4096 }),
    },
  ),
  analysis: obj(
    'RollbackPolicy analysis of the rollout in progress. Written when the verdict or the count of breaches in a row changes, and at each step, not at every interval.',
    {
      policy: objectName('RollbackPolicy evaluated.'),
      verdict: enumOf('Verdict of the last evaluation that changed something.', MEASUREMENT_RESULTS),
      message: str('The verdict in words: what breached, or why it was Inconclusive.', { maxLength: 1024 }),
      consecutiveFailures: int32('Breaching evaluations in a row.', { minimum: 0 }),
      lastEvaluation: timestamp('When the recorded evaluation ran.'),
      lastMeasurements: list(
        'Readings of the last evaluation, one per trigger.',
        named(
          'Measurement',
          obj('One trigger reading.', {
            trigger: required(str('Trigger name.', { maxLength: 63 })),
            value: str('Measured value, formatted like the threshold.', { maxLength: 64 }),
            threshold: str('Threshold it was compared with.', { maxLength: 64 }),
            baseline: str("The stable slot's value, for a trigger relative to it.", { maxLength: 64 }),
            result: enumOf('Verdict of this reading.', MEASUREMENT_RESULTS),
            reason: str('Why the reading is Inconclusive.', { maxLength: 256 }),
          }),
        ),
        { maxItems: 32 },
      ),
    },
  ),
  rollback: obj(
    'Why the last rollback happened: the abort annotation, a breach of the RollbackPolicy, or a failed verification.',
    {
      cause: named(
        'RollbackCause',
        enumOf(
          'What started it: Aborted is the cutover.dev/abort annotation, AnalysisFailed a breach of the RollbackPolicy, VerificationFailed the verification Job.',
          ROLLBACK_CAUSES,
        ),
      ),
      reason: str('Short explanation.', { maxLength: 1024 }),
      metric: str('Name of the trigger that breached.', { maxLength: 63 }),
      value: str('Measured value.', { maxLength: 64 }),
      threshold: str('Threshold it breached.', { maxLength: 64 }),
      at: timestamp('When the rollback started.'),
    },
  ),
  history: list(
    'The last 10 rollouts, newest first.',
    named(
      'RolloutRecord',
      obj('One finished rollout.', {
        version: required(str('Version rolled out.', { maxLength: 63 })),
        outcome: enumOf('How it ended.', ROLLOUT_OUTCOMES),
        cause: named(
          'RollbackCause',
          enumOf('What started the rollback, when it ended in one.', ROLLBACK_CAUSES),
        ),
        revision: str('Revision (hash of version and template) rolled out.', { maxLength: 64 }),
        configHash: str('Hash of the configuration it rolled out with.', { maxLength: 64 }),
        startedAt: timestamp('When it started.'),
        finishedAt: timestamp('When it finished.'),
        backupId: str('The full backup taken before its contract migration, if one was.', {
          maxLength: 253,
        }),
      }),
    ),
    { maxItems: 10 },
  ),
});

export const release = customResourceDefinition({
  kind: 'Release',
  plural: 'releases',
  shortName: 'rel',
  description:
    'A Release rolls one application out blue/green in one namespace: expand and contract migrations around gradual traffic shifting, an optional verification Job before any traffic moves, RollbackPolicy analysis with automatic rollback, and promote and abort by annotation.',
  printerColumns: [
    { name: 'App', type: 'string', jsonPath: '.spec.application', description: 'Application name.' },
    { name: 'Env', type: 'string', jsonPath: '.spec.environmentRef.name', description: 'Environment.' },
    { name: 'Version', type: 'string', jsonPath: '.spec.version', description: 'Version being released.' },
    { name: 'Stable', type: 'string', jsonPath: '.status.stableVersion', description: 'Last good version.' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Rollout phase.' },
    {
      name: 'Weight',
      type: 'integer',
      jsonPath: '.status.canaryWeight',
      description: 'Percentage of traffic on the new version.',
    },
    ageColumn(),
  ],
  spec,
  status,
});
