// Scalar builders.
import {
  CRON_PATTERN,
  DURATION_PATTERN,
  PATH,
  QUANTITY_PATTERN,
  RETENTION_PATTERN,
  rule,
} from './patterns.js';
import type { JSONSchemaProps, JSONValue, ValidationRule } from './types.js';

// Options every builder takes; the structural builders use them too.
export interface Common<T extends JSONValue> {
  default?: T;
  rules?: ValidationRule[];
}

export function finish<T extends JSONValue>(schema: JSONSchemaProps, opts: Common<T>): JSONSchemaProps {
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
