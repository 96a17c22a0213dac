import {
  CONFIG_KEY,
  DNS1123_LABEL,
  PATH,
  ageColumn,
  bool,
  conditions,
  customResourceDefinition,
  duration,
  enumOf,
  int32,
  list,
  named,
  num,
  obj,
  objectName,
  observedGeneration,
  readyColumn,
  ref,
  required,
  rule,
  str,
  timestamp,
} from '../schema.js';
import { DEFAULT_STEPS, DEFAULT_STEP_DURATION } from '../defaults.js';
import { stepDuration, trafficSteps } from './common.js';
import { notificationHealth, notifyTargets } from './notify.js';
import { RELEASE_PHASES } from './release.js';

export const TIERS = ['development', 'staging', 'production'] as const;
export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
export const DRIFT_MODES = ['Correct', 'Report'] as const;
export const CONFIG_VALUE_TYPES = ['string', 'integer', 'number', 'boolean', 'url', 'duration'] as const;
export const PROMOTION_MATCHES = ['Revision', 'Version'] as const;

const CLOCK = '^([01][0-9]|2[0-3]):[0-5][0-9]$';

const window = named(
  'PromotionWindow',
  obj(
    'A recurring time window in which rollouts may start.',
    {
      days: required(
        list('Days of the week the window opens.', enumOf('Day of the week.', WEEKDAYS), {
          minItems: 1,
          maxItems: 7,
          listType: 'set',
        }),
      ),
      start: required(
        str('Opening time, HH:MM (00:00-23:59) in timeZone.', { pattern: CLOCK, maxLength: 5 }),
      ),
      end: required(
        str(
          'Closing time, HH:MM (00:00-23:59) in timeZone; earlier than start means the window crosses midnight.',
          {
            pattern: CLOCK,
            maxLength: 5,
          },
        ),
      ),
      timeZone: str('IANA time zone of start and end, e.g. Europe/Berlin.', {
        default: 'UTC',
        minLength: 1,
        maxLength: 64,
        pattern: '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$',
      }),
    },
    {
      rules: [rule('self.start != self.end', `${PATH}.end must differ from start`, { fieldPath: '.end' })],
    },
  ),
);

const configRule = named(
  'ConfigRule',
  obj(
    'A check on one configuration key, evaluated before a rollout starts. The key is looked up in the ConfigMap, then in the Secret. An absent key passes every check but required.',
    {
      key: required(
        str('Key in the ConfigMap or Secret.', { pattern: CONFIG_KEY, minLength: 1, maxLength: 253 }),
      ),
      required: bool('The key must be present.', false),
      type: enumOf(
        'Type the value must parse as: integer (digits, optional sign), number (decimal, optional exponent), boolean (true or false), url (scheme://...), duration (500ms, 30s, 10m, 2h, 1h30m, 3d).',
        CONFIG_VALUE_TYPES,
        { default: 'string' },
      ),
      pattern: str(
        'Regular expression the value must match anywhere (anchor it with ^ and $). Written as RE2, run as a JavaScript RegExp (u flag): RE2-only syntax such as (?P<name>...) is reported as a violation of the rule.',
        { minLength: 1, maxLength: 1024 },
      ),
      enum: list('Allowed values.', str('One allowed value.', { maxLength: 1024 }), {
        minItems: 1,
        maxItems: 100,
        listType: 'set',
      }),
      minimum: num('Smallest allowed value; only for type integer or number.'),
      maximum: num('Largest allowed value; only for type integer or number.'),
    },
    {
      rules: [
        rule(
          "(!has(self.minimum) && !has(self.maximum)) || (has(self.type) && self.type in ['integer', 'number'])",
          `${PATH}: minimum and maximum apply only to type integer or number`,
          { fieldPath: '.type' },
        ),
        rule(
          '!has(self.minimum) || !has(self.maximum) || self.minimum <= self.maximum',
          `${PATH}.minimum must not exceed maximum`,
          { fieldPath: '.minimum' },
        ),
        rule(
          "!has(self.type) || self.type != 'integer' || ((!has(self.minimum) || double(int(self.minimum)) == self.minimum) && (!has(self.maximum) || double(int(self.maximum)) == self.maximum))",
          `${PATH}: minimum and maximum of an integer key must be whole numbers`,
          { fieldPath: '.type' },
        ),
        // Bounds or a pattern next to an enum either repeat it or contradict
        // it; the enum alone says everything.
        rule(
          '!has(self.enum) || (!has(self.pattern) && !has(self.minimum) && !has(self.maximum))',
          `${PATH}.enum cannot be combined with pattern, minimum or maximum`,
          { fieldPath: '.enum' },
        ),
      ],
    },
  ),
);

const spec = obj('Desired state of the Environment.', {
  tier: required(
    enumOf(
      'Kind of environment. production requires one approval unless promotion.approvals says otherwise.',
      TIERS,
    ),
  ),
  promotion: obj(
    'Gates a Release passes before its rollout starts here, in this order: configuration rules, promotion.from and soak, approvals, windows. A held Release waits in Pending, AwaitingApproval or WaitingForWindow with a condition saying what would let it go; a rollout that started may finish, and an abort is never held.',
    {
      from: obj(
        'Environment the version must have Succeeded in first, and still serve there. Another namespace only when both namespaces carry the same cutover.dev/tenant label.',
        {
          namespace: objectName(
            "Namespace of that Environment; this Environment's namespace when unset.",
            DNS1123_LABEL,
            63,
          ),
          name: required(objectName('Name of that Environment.')),
        },
      ),
      soak: duration(
        'How long the version must have run in the source environment after it Succeeded there.',
      ),
      match: enumOf(
        'What must have Succeeded in promotion.from: Revision (the same version and pod template, so the same image) or Version (the version label alone).',
        PROMOTION_MATCHES,
        { default: 'Revision' },
      ),
      forbidSelfApproval: bool(
        'Whether an approval by the person who changed the Release (cutover.dev/changed-by) is refused. A Release whose author is not recorded then waits for one.',
        false,
      ),
      approvals: int32(
        'Distinct approvers of the revision to roll out (cutover.dev/approved-by, written by kubectl cutover approve, identity checked at admission); 1 for production and 0 otherwise when unset.',
        { minimum: 0, maximum: 10 },
      ),
      windows: list(
        'Time windows in which rollouts may start (a rollout that started may finish after the close); any time when empty. Outside them a Release waits in WaitingForWindow, its message naming the next opening.',
        window,
        { maxItems: 20 },
      ),
    },
  ),
  config: obj(
    'Application configuration and the rules it must satisfy. The ConfigMap and Secret are watched: a change re-evaluates the rules at once, and a missing one or a failing rule holds new rollouts at the config gate (Pending, reason ConfigNotFound or ConfigInvalid).',
    {
      configMapRef: ref('ConfigMap with the application configuration.', 'ConfigMap'),
      rolloutOnChange: bool(
        'Whether a change of the ConfigMap or Secret data alone starts a new rollout of every Release here: the configuration hash becomes part of the revision and of the pod template (annotation cutover.dev/config-hash), so pods restart with the new configuration through the same steps, analysis and rollback as a new version, and restoring the previous data is a rollback like any other. When false, a configuration change rolls nothing; it only re-evaluates the rules.',
        false,
      ),
      secretRef: ref('Secret with the application secrets.', 'Secret'),
      rules: list(
        'Checks on configuration keys. Every failing rule is listed at once in status.configErrors and ConfigValid=False, and holds new rollouts at the config gate; a value from the Secret is never shown.',
        configRule,
        {
          maxItems: 100,
          listType: 'map',
          mapKeys: ['key'],
        },
      ),
    },
  ),
  drift: obj(
    "Drift: changes others make to a settled Release's owned objects (slot Deployments, Services, the weights of its backendRefs in the HTTPRoute), found from the live objects' managedFields. Each Release reports it in its Drifted condition, an Event and cutover_drift_total.",
    {
      mode: enumOf(
        'Report sets Drifted=True on the Release and leaves the objects as they are. Correct also restores them within seconds (re-apply with force, removal of fields only others added, the route weights put back) once the Release has Succeeded; while it waits at a gate, drift is reported only.',
        DRIFT_MODES,
        {
          default: 'Report',
        },
      ),
    },
    { default: {} },
  ),
  defaults: obj(
    'Values Releases in this Environment use when they leave a field unset.',
    {
      rollbackPolicyRef: ref('RollbackPolicy for Releases without spec.rollbackPolicyRef.', 'RollbackPolicy'),
      backupPolicyRef: ref('BackupPolicy for Releases without spec.backupPolicyRef.', 'BackupPolicy'),
      traffic: obj(
        'Traffic settings for Releases that leave them unset.',
        {
          steps: trafficSteps(
            'Percentages of traffic on the new version, strictly increasing, each 1-100, ending at 100.',
            [...DEFAULT_STEPS],
          ),
          stepDuration: stepDuration('Time held at each step before the next one.', DEFAULT_STEP_DURATION),
        },
        { default: {} },
      ),
    },
    { default: {} },
  ),
  notify: notifyTargets(),
});

const status = obj('Observed state of the Environment, written by the operator.', {
  observedGeneration: observedGeneration(),
  conditions: conditions(
    'Ready, Reconciling, Stalled, ConfigValid (when config.rules are set), Drifted (True while one of its Releases has Drifted=True)',
  ),
  releases: list(
    'Releases deployed into this Environment, by name (at most 100), from their own status.',
    named(
      'EnvironmentRelease',
      obj('One Release in this Environment.', {
        name: required(objectName('Name of the Release.')),
        application: str('Application of the Release.', { maxLength: 63 }),
        version: str('Version it is releasing.', { maxLength: 63 }),
        phase: enumOf('Its phase.', RELEASE_PHASES),
        succeededAt: timestamp(
          'When this version Succeeded here (the end of its newest Succeeded rollout); the soak of downstream environments counts from it.',
        ),
      }),
    ),
    { maxItems: 100 },
  ),
  configHash: str(
    'Hash of the ConfigMap and Secret data as last read (never the data itself); when it moves, a ConfigChanged Event (and audit record) says so.',
    { maxLength: 64 },
  ),
  configErrors: list(
    'Every configuration rule that fails now, in rule order; never a value from the Secret.',
    named(
      'ConfigError',
      obj('One failing configuration rule.', {
        key: required(str('Key the rule checks.', { maxLength: 253 })),
        message: str('What is wrong.', { maxLength: 1024 }),
      }),
    ),
    { maxItems: 100 },
  ),
  waiting: list(
    'Releases held by a gate of this Environment (phase Pending, AwaitingApproval or WaitingForWindow), by name (at most 100), with the reason and message of their Ready condition.',
    named(
      'EnvironmentWait',
      obj('One Release held by a gate.', {
        name: required(objectName('Name of the Release.')),
        phase: enumOf('Where it waits.', RELEASE_PHASES),
        reason: str('The gate that holds it.', { maxLength: 128 }),
        message: str('What would let it go.', { maxLength: 1024 }),
      }),
    ),
    { maxItems: 100 },
  ),
  notifications: notificationHealth(),
});

export const environment = customResourceDefinition({
  kind: 'Environment',
  plural: 'environments',
  shortName: 'env',
  description:
    'An Environment is a stage (development, staging, production): defaults for the Releases deployed into it, and the gates their rollouts pass first (configuration rules, promotion from another Environment with a soak, approvals, deployment windows), and what happens to drift.',
  printerColumns: [
    { name: 'Tier', type: 'string', jsonPath: '.spec.tier', description: 'Kind of environment.' },
    {
      name: 'From',
      type: 'string',
      jsonPath: '.spec.promotion.from.name',
      description: 'Environment versions are promoted from.',
    },
    readyColumn(),
    {
      name: 'Config',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="ConfigValid")].status',
      description: 'Status of the ConfigValid condition (set when config.rules are).',
    },
    {
      name: 'Drifted',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Drifted")].status',
      description: 'Status of the Drifted condition (True while one of its Releases drifted).',
    },
    ageColumn(),
  ],
  spec,
  status,
});
