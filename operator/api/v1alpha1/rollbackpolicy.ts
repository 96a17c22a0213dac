import {
  DNS1123_LABEL,
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
  str,
  timestamp,
} from '../schema.js';

export const BUILTIN_SIGNALS = ['LatencyP95', 'ErrorRate', 'CPU', 'Memory', 'DatabasePool'] as const;
export const INCONCLUSIVE_ACTIONS = ['Pause', 'Rollback', 'Continue'] as const;
export const DATABASE_ROLLBACK_ACTIONS = ['None', 'RunDownMigrations'] as const;

const THRESHOLD = '^[0-9]+(\\.[0-9]+)?(ms|s|%)$';
// The number in front of the unit, for the positivity check. Only evaluated
// after the pattern matched, so double() cannot fail.
const THRESHOLD_NUMBER = "double(self.threshold.replace('%', '').replace('ms', '').replace('s', ''))";
const GUARD = `!has(self.builtin) || !has(self.threshold) || !self.threshold.matches(r'${THRESHOLD}')`;

const trigger = named(
  'Trigger',
  obj(
    'One signal that counts as a breach. Set exactly one of builtin (with threshold) or query (with above and/or below).',
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
    },
    {
      rules: [
        rule('has(self.builtin) != has(self.query)', `${PATH} must set exactly one of builtin or query`),
        rule('!has(self.builtin) || has(self.threshold)', `${PATH}.threshold is required with builtin`, {
          fieldPath: '.threshold',
          reason: 'FieldValueRequired',
        }),
        rule(
          '!has(self.threshold) || has(self.builtin)',
          `${PATH}.threshold applies only to builtin triggers; query triggers use above or below`,
          { fieldPath: '.threshold' },
        ),
        rule(
          '!has(self.query) || has(self.above) || has(self.below)',
          `${PATH}: a query trigger needs above, below or both`,
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
  prometheus: required(
    obj('Prometheus server the signals are to be read from (not queried yet).', {
      address: required(
        str('Base URL, e.g. http://prometheus.monitoring:9090.', {
          pattern: '^https?://[^\\s]+$',
          maxLength: 2048,
        }),
      ),
      timeout: duration('Timeout of one query.', { default: '5s', atLeast: '1ms' }),
    }),
  ),
  interval: duration('Time between evaluations.', { default: '30s', atLeast: '1s' }),
  failureLimit: int32(
    'Consecutive breaching evaluations that are to trigger a rollback (not enforced yet).',
    {
      minimum: 1,
      maximum: 100,
      default: 2,
    },
  ),
  minRequestRate: num('Requests per second below which an evaluation is Inconclusive rather than a pass.', {
    minimum: 0,
    default: 1,
  }),
  onInconclusive: enumOf(
    'What an Inconclusive evaluation does: Pause holds the step, Rollback treats it as a breach, Continue treats it as a pass.',
    INCONCLUSIVE_ACTIONS,
    { default: 'Pause' },
  ),
  triggers: required(
    list(
      'Signals to evaluate at each interval; any breach counts toward failureLimit. Not enforced yet: never evaluated.',
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
        'RunDownMigrations is to run the down migrations of the expand step, and only while contract has not run; None leaves the schema alone. Not enforced yet: no rollback runs down migrations.',
        DATABASE_ROLLBACK_ACTIONS,
        { default: 'None' },
      ),
    },
    { default: {} },
  ),
});

const status = obj('Observed state of the RollbackPolicy, written by the operator.', {
  observedGeneration: observedGeneration(),
  conditions: conditions(
    'Ready (the spec was admitted; Prometheus is not contacted yet), Enforced (False: the policy is never evaluated yet), Reconciling, Stalled',
  ),
  lastChecked: timestamp('When Prometheus and the queries were last checked. Not written yet.'),
});

export const rollbackPolicy = customResourceDefinition({
  kind: 'RollbackPolicy',
  plural: 'rollbackpolicies',
  shortName: 'rbp',
  description:
    'A RollbackPolicy says which live signals, read from Prometheus while traffic shifts, are to roll a Release back. Not implemented yet: nothing queries Prometheus and no Release rolls back automatically (condition Enforced).',
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
      description: 'Consecutive breaches that are to trigger a rollback (not enforced yet).',
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
