import type { ValidationRule } from './types.js';

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
// What a URL field of a kind accepts; --prometheus-address is held to the same.
export const HTTP_URL = '^https?://[^\\s]+$';
export const CONFIG_KEY = '^[-._a-zA-Z0-9]+$';
const CRON_FIELD = '[0-9A-Za-z*?,/-]+';
export const CRON_PATTERN = `^${CRON_FIELD}( +${CRON_FIELD}){4}$`;
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';
