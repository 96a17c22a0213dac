// Typed builders for apiextensions.k8s.io/v1 structural schemas.
//
// The CRDs are written in TypeScript so that one source yields both the YAML
// the apiserver validates against and the types the operator compiles
// against. The builders take the description as their first argument so a
// field without one cannot be written by accident.

export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  fieldPath?: string;
}

export interface JSONSchemaProps {
  description?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  enum?: JSONValue[];
  default?: JSONValue;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  minItems?: number;
  maxItems?: number;
  items?: JSONSchemaProps;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  additionalProperties?: JSONSchemaProps;
  anyOf?: JSONSchemaProps[];
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: ValidationRule[];
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: 'Namespaced';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: JSONSchemaProps };
    }[];
  };
}

// ---------------------------------------------------------------------------
// Type-name hints for the TypeScript emitter. They live beside the schema
// rather than in it (the apiserver would keep a `title` forever) and are keyed
// by object identity, so builders must not copy a schema they hand out.

export interface TypeHint {
  name: string;
  // Set when the type already exists in a package; the emitter imports it
  // instead of declaring it.
  from?: string;
  // Doc comment of the shared type; each use keeps its own description.
  doc?: string;
}

const hints = new WeakMap<JSONSchemaProps, TypeHint>();

export function named<S extends JSONSchemaProps>(
  name: string,
  schema: S,
  opts: Omit<TypeHint, 'name'> = {},
): S {
  hints.set(schema, { name, ...opts });
  return schema;
}

export function typeHint(schema: JSONSchemaProps): TypeHint | undefined {
  return hints.get(schema);
}

// ---------------------------------------------------------------------------
// Field paths in messages. Rules are written once and reused at several
// places (a duration, a cron schedule), yet the message must name the field
// where it failed. `{path}` in a message or messageExpression is replaced by
// the dotted path of the schema node the rule is attached to when the CRD is
// assembled; list items appear as `[*]`.

export const PATH = '{path}';

export function rule(
  cel: string,
  message: string,
  extra: Omit<ValidationRule, 'rule' | 'message'> = {},
): ValidationRule {
  return { rule: cel, message, ...extra };
}

// ---------------------------------------------------------------------------
// Patterns shared by several kinds.

// Go's time.ParseDuration accepts a superset of this, so a value that matches
// can always be handed to CEL's duration() and to the operator's parser.
export const DURATION_PATTERN = '^([0-9]+(ms|s|m|h))+$';
// Retention reaches into weeks; Go durations have no day unit, so retention
// is its own format.
export const RETENTION_PATTERN = '^([0-9]+(d|h|m|s))+$';
export const DNS1123_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const CONFIG_KEY = '^[-._a-zA-Z0-9]+$';
const CRON_FIELD = '[0-9A-Za-z*?,/-]+';
export const CRON_PATTERN = `^${CRON_FIELD}( +${CRON_FIELD}){4}$`;
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

// ---------------------------------------------------------------------------
// Scalar builders.

interface Common<T extends JSONValue> {
  default?: T;
  rules?: ValidationRule[];
}

function finish<T extends JSONValue>(schema: JSONSchemaProps, opts: Common<T>): JSONSchemaProps {
  if (opts.default !== undefined) schema.default = opts.default;
  if (opts.rules !== undefined && opts.rules.length > 0) schema['x-kubernetes-validations'] = opts.rules;
  return schema;
}

export interface StringOpts extends Common<string> {
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  format?: string;
}

export function str(description: string, opts: StringOpts = {}): JSONSchemaProps {
  const s: JSONSchemaProps = { description, type: 'string' };
  if (opts.format !== undefined) s.format = opts.format;
  if (opts.pattern !== undefined) s.pattern = opts.pattern;
  if (opts.minLength !== undefined) s.minLength = opts.minLength;
  if (opts.maxLength !== undefined) s.maxLength = opts.maxLength;
  return finish(s, opts);
}

export interface NumberOpts extends Common<number> {
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
}

function numeric(
  description: string,
  type: 'integer' | 'number',
  format: string | undefined,
  opts: NumberOpts,
): JSONSchemaProps {
  const s: JSONSchemaProps = { description, type };
  if (format !== undefined) s.format = format;
  if (opts.minimum !== undefined) s.minimum = opts.minimum;
  if (opts.exclusiveMinimum !== undefined) s.exclusiveMinimum = opts.exclusiveMinimum;
  if (opts.maximum !== undefined) s.maximum = opts.maximum;
  return finish(s, opts);
}

export const int32 = (description: string, opts: NumberOpts = {}) =>
  numeric(description, 'integer', 'int32', opts);
export const int64 = (description: string, opts: NumberOpts = {}) =>
  numeric(description, 'integer', 'int64', opts);
export const num = (description: string, opts: NumberOpts = {}) =>
  numeric(description, 'number', undefined, opts);

export function bool(description: string, defaultValue?: boolean): JSONSchemaProps {
  return finish({ description, type: 'boolean' }, { default: defaultValue });
}

export function enumOf<T extends string>(
  description: string,
  values: readonly T[],
  opts: Common<T> = {},
): JSONSchemaProps {
  return finish({ description, type: 'string', enum: [...values] }, opts);
}

export function timestamp(description: string): JSONSchemaProps {
  return { description, type: 'string', format: 'date-time' };
}

export function duration(
  description: string,
  opts: { default?: string; atLeast?: string } = {},
): JSONSchemaProps {
  const rules =
    opts.atLeast === undefined
      ? []
      : [
          rule(
            `!self.matches('${DURATION_PATTERN}') || duration(self) >= duration('${opts.atLeast}')`,
            `${PATH} must be at least ${opts.atLeast}`,
          ),
        ];
  return str(description, { pattern: DURATION_PATTERN, maxLength: 32, default: opts.default, rules });
}

export function retention(description: string, defaultValue?: string): JSONSchemaProps {
  return str(description, {
    pattern: RETENTION_PATTERN,
    maxLength: 32,
    default: defaultValue,
    // A single non-zero digit anywhere means some component is positive.
    rules: [rule(`self.matches('[1-9]')`, `${PATH} must be longer than zero, e.g. 30d`)],
  });
}

export function cron(description: string): JSONSchemaProps {
  return str(description, {
    maxLength: 128,
    rules: [
      rule(
        `self.matches('${CRON_PATTERN}')`,
        `${PATH} must be a cron schedule of exactly five fields (minute hour day-of-month month day-of-week), e.g. "0 2 * * *"`,
      ),
    ],
  });
}

export function intOrString(description: string, rules: ValidationRule[] = []): JSONSchemaProps {
  return finish(
    {
      description,
      anyOf: [{ type: 'integer' }, { type: 'string' }],
      'x-kubernetes-int-or-string': true,
    },
    { rules },
  );
}

export function quantity(description: string): JSONSchemaProps {
  return {
    description,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    pattern: QUANTITY_PATTERN,
    'x-kubernetes-int-or-string': true,
  };
}

// ---------------------------------------------------------------------------
// Structural builders.

const REQUIRED: unique symbol = Symbol('required');

export interface RequiredProp {
  [REQUIRED]: JSONSchemaProps;
}

/** Marks a property as required in the enclosing `obj`. */
export function required(schema: JSONSchemaProps): RequiredProp {
  return { [REQUIRED]: schema };
}

export type Props = Record<string, JSONSchemaProps | RequiredProp>;

function isRequired(p: JSONSchemaProps | RequiredProp): p is RequiredProp {
  return REQUIRED in p;
}

export function obj(
  description: string,
  props: Props,
  opts: Common<Record<string, never>> = {},
): JSONSchemaProps {
  const properties: Record<string, JSONSchemaProps> = {};
  const req: string[] = [];
  for (const [key, p] of Object.entries(props)) {
    if (isRequired(p)) {
      properties[key] = p[REQUIRED];
      req.push(key);
    } else {
      properties[key] = p;
    }
  }
  const s: JSONSchemaProps = { description, type: 'object', properties };
  if (req.length > 0) s.required = req;
  return finish(s, opts);
}

export interface ListOpts extends Common<JSONValue[]> {
  // Mandatory: CEL cost estimation multiplies by it, and unbounded status
  // lists grow objects without limit.
  maxItems: number;
  minItems?: number;
  listType?: 'atomic' | 'set' | 'map';
  mapKeys?: string[];
}

export function list(description: string, items: JSONSchemaProps, opts: ListOpts): JSONSchemaProps {
  const s: JSONSchemaProps = { description, type: 'array', items };
  if (opts.minItems !== undefined) s.minItems = opts.minItems;
  s.maxItems = opts.maxItems;
  if (opts.listType !== undefined) s['x-kubernetes-list-type'] = opts.listType;
  if (opts.mapKeys !== undefined) s['x-kubernetes-list-map-keys'] = opts.mapKeys;
  return finish(s, opts);
}

// ---------------------------------------------------------------------------
// References and other shapes every kind uses.

export function objectName(
  description: string,
  pattern = DNS1123_SUBDOMAIN,
  maxLength = 253,
): JSONSchemaProps {
  return str(description, { pattern, minLength: 1, maxLength });
}

/** A reference to an object of a known kind in the same namespace. */
export function ref(description: string, kind: string): JSONSchemaProps {
  return named(
    'LocalObjectReference',
    obj(description, {
      name: required(objectName(`Name of the ${kind} in the same namespace.`)),
    }),
    { doc: 'A reference by name to an object in the same namespace.' },
  );
}

export function secretKeyRef(description: string): JSONSchemaProps {
  return named(
    'SecretKeySelector',
    obj(description, {
      name: required(objectName('Name of the Secret in the same namespace.')),
      key: required(
        str('Key within the Secret whose value is used.', {
          pattern: CONFIG_KEY,
          minLength: 1,
          maxLength: 253,
        }),
      ),
    }),
    { doc: 'A key of a Secret in the same namespace.' },
  );
}

export function conditions(summary: string): JSONSchemaProps {
  return list(
    `Latest observations of the object's state (${summary}). Ready is the summary; Reconciling and Stalled follow kstatus.`,
    named(
      'Condition',
      obj('One aspect of the current state, in the shape of metav1.Condition.', {
        type: required(
          str('Type of condition in CamelCase, e.g. Ready.', {
            maxLength: 316,
            pattern:
              '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
          }),
        ),
        status: required(enumOf('Status of the condition.', ['True', 'False', 'Unknown'])),
        observedGeneration: int64(
          'metadata.generation the condition was set from; older than the current generation means stale.',
          { minimum: 0 },
        ),
        lastTransitionTime: required(timestamp('Last time the status changed.')),
        reason: required(
          str('Machine-readable CamelCase reason for the last transition.', {
            minLength: 1,
            maxLength: 1024,
            pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
          }),
        ),
        message: required(str('Human-readable details about the transition.', { maxLength: 32768 })),
      }),
      { doc: 'One aspect of the current state, in the shape of metav1.Condition.' },
    ),
    { maxItems: 16, listType: 'map', mapKeys: ['type'] },
  );
}

export function observedGeneration(): JSONSchemaProps {
  return int64('metadata.generation most recently acted on by the operator.', { minimum: 0 });
}

export function readyColumn(): PrinterColumn {
  return {
    name: 'Ready',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    description: 'Status of the Ready condition.',
  };
}

export function ageColumn(): PrinterColumn {
  return { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
}

// ---------------------------------------------------------------------------
// CRD assembly.

export const GROUP = 'cutover.dev';
export const VERSION = 'v1alpha1';

export interface KindDefinition {
  kind: string;
  plural: string;
  shortName: string;
  description: string;
  printerColumns: PrinterColumn[];
  spec: JSONSchemaProps;
  status: JSONSchemaProps;
}

// Copies the schema, resolving `{path}` placeholders, and carries type
// hints over to the copies so the emitter still sees them.
function place(schema: JSONSchemaProps, path: string): JSONSchemaProps {
  const out: JSONSchemaProps = { ...schema };
  const hint = hints.get(schema);
  if (hint !== undefined) hints.set(out, hint);
  if (schema.properties !== undefined) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([k, v]) => [k, place(v, path === '' ? k : `${path}.${k}`)]),
    );
  }
  if (schema.items !== undefined) out.items = place(schema.items, `${path}[*]`);
  if (schema.additionalProperties !== undefined) {
    out.additionalProperties = place(schema.additionalProperties, `${path}[*]`);
  }
  if (schema['x-kubernetes-validations'] !== undefined) {
    out['x-kubernetes-validations'] = schema['x-kubernetes-validations'].map((r) => {
      const placed: ValidationRule = { ...r };
      if (r.message !== undefined) placed.message = r.message.replaceAll(PATH, path);
      if (r.messageExpression !== undefined) {
        placed.messageExpression = r.messageExpression.replaceAll(PATH, path);
      }
      return placed;
    });
  }
  return out;
}

export function customResourceDefinition(def: KindDefinition): CustomResourceDefinition {
  const root = obj(def.description, {
    apiVersion: str(
      'Versioned schema of this representation of an object; servers convert recognized schemas to the latest internal value.',
    ),
    kind: str('REST resource this object represents, in CamelCase; servers infer it from the endpoint.'),
    // The apiserver forbids anything but type here (ObjectMeta is implied,
    // and kubectl explain shows its documentation).
    metadata: { type: 'object' },
    spec: required(def.spec),
    status: def.status,
  });
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.kind.toLowerCase(),
        shortNames: [def.shortName],
        categories: ['cutover'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
          schema: { openAPIV3Schema: place(root, '') },
        },
      ],
    },
  };
}
