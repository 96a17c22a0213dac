import {
  DNS1123_LABEL,
  HTTP_URL,
  PATH,
  ageColumn,
  conditions,
  customResourceDefinition,
  duration,
  enumOf,
  int32,
  list,
  named,
  num,
  obj,
  observedGeneration,
  readyColumn,
  required,
  rule,
  secretKeyRef,
  str,
  timestamp,
} from '../schema.js';

export const BUILTIN_SIGNALS = ['LatencyP95', 'ErrorRate', 'CPU', 'Memory', 'DatabasePool'] as const;
export const INCONCLUSIVE_ACTIONS = ['Pause', 'Rollback', 'Continue'] as const;
export const DATABASE_ROLLBACK_ACTIONS = ['None', 'RunDownMigrations'] as const;
export const BASELINES = ['Stable'] as const;

const THRESHOLD = '^[0-9]+(\\.[0-9]+)?(ms|s|%)$';
// The number in front of the unit, for the positivity check. Only evaluated
// after the pattern matched, so double() cannot fail.
const THRESHOLD_NUMBER = "double(self.threshold.replace('%', '').replace('ms', '').replace('s', ''))";
const GUARD = `!has(self.builtin) || !has(self.threshold) || !self.threshold.matches(r'${THRESHOLD}')`;

const trigger = named(
  'Trigger',
  obj(
    'One signal that counts as a breach. Set exactly one of builtin (with threshold and/or relativeTo) or query (with above, below and/or relativeTo).',
    {
      name: required(
        str('Unique name of the trigger.', {
          pattern: DNS1123_LABEL,
          minLength: 1,
          maxLength: 63,
        }),
      ),
      builtin: enumOf(
        'Built-in signal read from conventional metric names: LatencyP95 (http_request_duration_seconds_bucket), ErrorRate (5xx share of http_requests_total), CPU and Memory (cAdvisor, share of the container limit, or of the request when there is no limit), DatabasePool (pg_stat_activity against max_connections).',
        BUILTIN_SIGNALS,
      ),
      threshold: str(
        'Breach threshold of a builtin signal: a duration such as 500ms or 1.5s for LatencyP95, a percentage such as 1% or 90% for the others. Must be greater than zero.',
        { pattern: THRESHOLD, maxLength: 32 },
      ),
      query: str(
        'PromQL returning one number. {{app}}, {{slot}}, {{version}} and {{namespace}} are replaced before it runs.',
        { minLength: 1, maxLength: 4096 },
      ),
      above: num('A query result greater than this is a breach.', { minimum: 0 }),
      below: num('A query result less than this is a breach.', { minimum: 0, exclusiveMinimum: true }),
      relativeTo: enumOf(
        'Also compare the new slot with the stable slot over the same window: Stable reads the same signal for the stable slot and its version, and a value more than maxIncrease above it is a breach.',
        BASELINES,
      ),
      maxIncrease: str(
        'Largest allowed increase of the new slot over the stable slot, as a percentage of the stable value, e.g. 10%. Required with relativeTo.',
        { pattern: '^[0-9]+(\\.[0-9]+)?%$', maxLength: 16 },
      ),
      databaseSecretRef: secretKeyRef(
        "DatabasePool only: the Secret key holding the PostgreSQL URL to read pg_stat_activity from. Defaults to the Release's spec.migrations.databaseSecretRef.",
      ),
    },
    {
      rules: [
        rule('has(self.builtin) != has(self.query)', `${PATH} must set exactly one of builtin or query`),
        rule(
          '!has(self.builtin) || has(self.threshold) || has(self.relativeTo)',
          `${PATH}.threshold (or relativeTo with maxIncrease) is required with builtin`,
          { fieldPath: '.threshold', reason: 'FieldValueRequired' },
        ),
        rule(
          'has(self.relativeTo) == has(self.maxIncrease)',
          `${PATH}.relativeTo and maxIncrease go together`,
          {
            fieldPath: '.maxIncrease',
          },
        ),
        rule(
          "!has(self.relativeTo) || !has(self.builtin) || self.builtin != 'DatabasePool'",
          `${PATH}.relativeTo does not apply to DatabasePool: both slots share one database`,
          { fieldPath: '.relativeTo' },
        ),
        rule(
          "!has(self.databaseSecretRef) || (has(self.builtin) && self.builtin == 'DatabasePool')",
          `${PATH}.databaseSecretRef applies only to DatabasePool triggers`,
          { fieldPath: '.databaseSecretRef' },
        ),
        rule(
          '!has(self.threshold) || has(self.builtin)',
          `${PATH}.threshold applies only to builtin triggers; query triggers use above or below`,
          { fieldPath: '.threshold' },
        ),
        rule(
          '!has(self.query) || has(self.above) || has(self.below) || has(self.relativeTo)',
          `${PATH}: a query trigger needs above, below or relativeTo`,
          { fieldPath: '.query', reason: 'FieldValueRequired' },
        ),
        rule(
          '(!has(self.above) && !has(self.below)) || has(self.query)',
          `${PATH}.above and ${PATH}.below apply only to query triggers; builtin triggers use threshold`,
        ),
        rule(
          '!has(self.above) || !has(self.below) || self.below < self.above',
          `${PATH}.below must be less than above, or every value would breach`,
          { fieldPath: '.below' },
        ),
        {
          rule: `${GUARD} || (self.builtin == 'LatencyP95') == !self.threshold.endsWith('%')`,
          messageExpression: `self.builtin == 'LatencyP95' ? '${PATH}.threshold of a LatencyP95 trigger must be a duration such as 500ms' : '${PATH}.threshold of a ' + self.builtin + ' trigger must be a percentage such as 90%'`,
          fieldPath: '.threshold',
        },
        rule(`${GUARD} || ${THRESHOLD_NUMBER} > 0.0`, `${PATH}.threshold must be greater than zero`, {
          fieldPath: '.threshold',
        }),
        rule(
          `${GUARD} || !(self.builtin in ['ErrorRate', 'DatabasePool']) || ${THRESHOLD_NUMBER} <= 100.0`,
          `${PATH}.threshold of a rate cannot exceed 100%`,
          { fieldPath: '.threshold' },
        ),
      ],
    },
  ),
);

const spec = obj('Desired state of the RollbackPolicy.', {
  // Defaulted to {} so the timeout default applies when the address comes from the operator.
  prometheus: obj(
    "Prometheus server the signals are read from, over its HTTP API. When address is unset, the operator's --prometheus-address (CUTOVER_PROMETHEUS_ADDRESS; the Helm value prometheus.address) applies.",
    {
      address: str(
        "Base URL, e.g. http://prometheus.monitoring:9090. Unset: the operator's --prometheus-address; with neither, the policy is not Ready (PrometheusAddressMissing) and the Releases using it hold.",
        {
          pattern: HTTP_URL,
          maxLength: 2048,
        },
      ),
      timeout: duration('Timeout of one query; a query that times out is retried once, then Inconclusive.', {
        default: '5s',
        atLeast: '1ms',
      }),
    },
    { default: {} },
  ),
  interval: duration(
    'Time between evaluations while traffic shifts, during the bake and while the contract runs; each step also ends on an evaluation of its own.',
    {
      default: '30s',
      atLeast: '1s',
    },
  ),
  window: duration(
    'Range over which rates and the latency quantile are computed ([window] in the queries); at least two scrape intervals of the application, or the rates are empty and every evaluation Inconclusive.',
    { default: '1m', atLeast: '1s' },
  ),
  failureLimit: int32('Consecutive breaching evaluations that roll the Release back.', {
    minimum: 1,
    maximum: 100,
    default: 2,
  }),
  minRequestRate: num(
    'Requests per second to the new slot below which LatencyP95 and ErrorRate are Inconclusive rather than a pass.',
    {
      minimum: 0,
      default: 1,
    },
  ),
  onInconclusive: enumOf(
    'What an Inconclusive evaluation does. Pause: a step that is over holds, evaluating, until one passes. Continue: a step that is over moves on to the next, but full traffic and the contract still wait for a passing evaluation. Rollback: any Inconclusive evaluation counts as a breach toward failureLimit.',
    INCONCLUSIVE_ACTIONS,
    { default: 'Pause' },
  ),
  triggers: required(
    list(
      'Signals evaluated at each interval; an evaluation with any breach counts toward failureLimit.',
      trigger,
      {
        minItems: 1,
        maxItems: 32,
        listType: 'map',
        mapKeys: ['name'],
      },
    ),
  ),
  database: obj(
    'What happens to the database on rollback.',
    {
      onRollback: enumOf(
        "RunDownMigrations runs the down files of exactly the versions the rolled-back revision's expand applied, after traffic is back on the stable slot, and only while the contract has not started; every expand file then needs its .down.sql, checked before the expand runs. None leaves the schema alone.",
        DATABASE_ROLLBACK_ACTIONS,
        { default: 'None' },
      ),
    },
    { default: {} },
  ),
});

const status = obj('Observed state of the RollbackPolicy, written by the operator.', {
  observedGeneration: observedGeneration(),
  conditions: conditions('Ready (Prometheus answered a probe query recently), Reconciling, Stalled'),
  lastChecked: timestamp('When Prometheus was last probed (every 60 s).'),
});

export const rollbackPolicy = customResourceDefinition({
  kind: 'RollbackPolicy',
  plural: 'rollbackpolicies',
  shortName: 'rbp',
  description:
    'A RollbackPolicy says which live signals, read from Prometheus while traffic shifts and during the bake, roll a Release back, and whether its down migrations run.',
  printerColumns: [
    {
      name: 'Interval',
      type: 'string',
      jsonPath: '.spec.interval',
      description: 'Time between evaluations.',
    },
    {
      name: 'Failure-Limit',
      type: 'integer',
      jsonPath: '.spec.failureLimit',
      description: 'Consecutive breaches that roll a Release back.',
    },
    {
      name: 'On-Inconclusive',
      type: 'string',
      jsonPath: '.spec.onInconclusive',
      description: 'Action when there is too little traffic to judge.',
    },
    readyColumn(),
    ageColumn(),
  ],
  spec,
  status,
});
