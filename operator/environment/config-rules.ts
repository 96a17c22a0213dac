// Configuration rules of an Environment, evaluated over the data of its
// ConfigMap and Secret. Pure: the caller reads the data, this only judges it.
//
// A key is looked up in the ConfigMap first, then in the Secret: the ConfigMap
// is what people edit by hand, and a key in both is a mistake whose ConfigMap
// copy is the one they see. Every failing rule is reported at once, in rule
// order, one violation per rule (so status.configErrors stays within its 100
// items, the rules' own limit), and a message may quote a ConfigMap value but
// never a Secret's.
//
// Patterns are RE2 in the schema; they are run with JavaScript's RegExp (with
// the `u` flag), which accepts almost all of RE2 but not its `(?P<name>…)`
// groups or a leading `(?i)`. A pattern this engine cannot compile is a
// violation of its rule, not a crash. Like RE2's find, a pattern matches
// anywhere in the value unless it is anchored with ^ and $.
import { createHash } from 'node:crypto';
import type { ConfigRule } from '../api/generated/index.js';
import { parseDuration } from '../runtime/duration.js';
import type { ConfigViolation } from './gates.js';

/** The data a rule may read: ConfigMap data and decoded Secret data, key → value. */
export interface ConfigSources {
  configMap?: Record<string, string>;
  secret?: Record<string, string>;
  /**
   * The Secret's uid, which salts the hash: status, history and a pod
   * annotation carry it, and a bare hash of a short secret value could be
   * found by trying values offline. Who cannot read the Secret cannot read
   * its uid either.
   */
  secretUid?: string;
}

/** How long a quoted ConfigMap value may be in a message. */
const QUOTE_MAX = 40;
/** How much of a pattern or an enum list a message quotes; a violation stays well under 1024 characters. */
const PATTERN_MAX = 200;
/** How many problems the gate's one-line message names before "and N more". */
const SUMMARY_MAX_CHARS = 900;

type Found = { value: string; from: 'ConfigMap' | 'Secret' } | undefined;

function lookup(key: string, sources: ConfigSources): Found {
  const cm = sources.configMap;
  if (cm && Object.hasOwn(cm, key)) return { value: cm[key] ?? '', from: 'ConfigMap' };
  const secret = sources.secret;
  if (secret && Object.hasOwn(secret, key)) return { value: secret[key] ?? '', from: 'Secret' };
  return undefined;
}

const cut = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}…` : text);

/** The value as a message may show it: quoted and cut from a ConfigMap, never from a Secret. */
function shown(found: NonNullable<Found>): string {
  if (found.from === 'Secret') return 'the value (from the Secret, not shown)';
  return `value ${JSON.stringify(cut(found.value, QUOTE_MAX))}`;
}

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const BOOLEAN = new Set(['true', 'false']);
/** scheme://…: a URL with an authority, as service addresses are; "mailto:x" is not one. */
const URL_WITH_AUTHORITY = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/** Why `value` is not of `type`, or undefined when it is. */
function typeProblem(type: NonNullable<ConfigRule['type']>, value: string): string | undefined {
  switch (type) {
    case 'string':
      return undefined;
    case 'integer':
      return INTEGER.test(value) ? undefined : 'is not an integer';
    case 'number':
      return NUMBER.test(value) ? undefined : 'is not a number';
    case 'boolean':
      return BOOLEAN.has(value) ? undefined : 'is not a boolean (true or false)';
    case 'url':
      return URL_WITH_AUTHORITY.test(value) && URL.canParse(value)
        ? undefined
        : 'is not a URL (scheme://host…)';
    case 'duration':
      try {
        parseDuration(value);
        return undefined;
      } catch {
        return 'is not a duration (such as 500ms, 30s, 10m, 1h30m, 2d)';
      }
  }
}

/** A problem of the value, or of the pattern itself (which no value can satisfy). */
function patternProblem(pattern: string, value: string): { value: string } | { rule: string } | undefined {
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'u');
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/^Invalid regular expression: /, '') : '';
    return {
      rule: `pattern ${JSON.stringify(cut(pattern, PATTERN_MAX))} is not a valid regular expression here (JavaScript RegExp syntax): ${cut(why, PATTERN_MAX)}`,
    };
  }
  return re.test(value)
    ? undefined
    : { value: `does not match pattern ${JSON.stringify(cut(pattern, PATTERN_MAX))}` };
}

/** One rule's problems in the order a reader fixes them (presence, type, range, pattern, enum), or undefined. */
function ruleProblem(rule: ConfigRule, sources: ConfigSources): string | undefined {
  const found = lookup(rule.key, sources);
  if (!found)
    return rule.required ? 'is required but set in neither the ConfigMap nor the Secret' : undefined;
  const problems: string[] = [];
  let broken: string | undefined;
  const type = rule.type ?? 'string';
  const bad = typeProblem(type, found.value);
  if (bad) problems.push(bad);
  else if (type === 'integer' || type === 'number') {
    const n = Number(found.value);
    if (rule.minimum !== undefined && n < rule.minimum) problems.push(`is below the minimum ${rule.minimum}`);
    if (rule.maximum !== undefined && n > rule.maximum) problems.push(`is above the maximum ${rule.maximum}`);
  }
  if (rule.pattern !== undefined) {
    const p = patternProblem(rule.pattern, found.value);
    if (p && 'rule' in p) broken = p.rule;
    else if (p) problems.push(p.value);
  }
  if (rule.enum && !rule.enum.includes(found.value)) {
    const allowed = rule.enum.map((v) => JSON.stringify(v)).join(', ');
    problems.push(`is not one of ${cut(allowed, PATTERN_MAX)}`);
  }
  const parts = problems.length > 0 ? [`${shown(found)} ${problems.join('; ')}`] : [];
  if (broken) parts.push(broken);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** Every violated rule, in rule order. */
export function checkConfig(rules: readonly ConfigRule[], sources: ConfigSources): ConfigViolation[] {
  const out: ConfigViolation[] = [];
  for (const rule of rules) {
    const message = ruleProblem(rule, sources);
    if (message) out.push({ key: rule.key, message });
  }
  return out;
}

/** Key order does not matter: entries sorted by key. */
function sortedEntries(data: Record<string, string> | undefined): Array<[string, string]> | null {
  if (!data) return null;
  return Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A short hash of the ConfigMap and Secret data together, for status and
 * history: it tells two configurations apart without holding either. One hash
 * over both sources, so it never stands for a single Secret value alone.
 */
export function configHash(sources: ConfigSources): string {
  const canonical = JSON.stringify({
    configMap: sortedEntries(sources.configMap),
    secret: sortedEntries(sources.secret),
    salt: sources.secretUid,
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** One line for a condition: every key's problem, cut at a bound with the count of the rest. */
export function summarizeViolations(violations: readonly ConfigViolation[]): string {
  const parts: string[] = [];
  let length = 0;
  for (const [i, v] of violations.entries()) {
    const part = `${v.key}: ${v.message}`;
    if (length + part.length > SUMMARY_MAX_CHARS && parts.length > 0) {
      parts.push(`and ${violations.length - i} more (see the Environment's status.configErrors)`);
      break;
    }
    parts.push(part);
    length += part.length + 2;
  }
  const n = violations.length;
  return `${n} configuration rule${n === 1 ? '' : 's'} violated: ${parts.join('; ')}`;
}
