// Label selectors in the apiserver's syntax (`tier=prod,team in (a,b),!legacy`),
// parsed here only to refuse a bad one when the operator starts: the server
// would answer every list with 400 and the operator would sit unready with a
// watch error instead of exiting with a message that names the flag.
import { DNS1123_SUBDOMAIN } from '../api/schema/patterns.js';

export type SelectorOperator = 'exists' | '!' | '=' | '!=' | 'in' | 'notin' | '<' | '>';

export interface Requirement {
  key: string;
  operator: SelectorOperator;
  values: readonly string[];
}

export class SelectorError extends Error {
  constructor(selector: string, problem: string) {
    super(`label selector "${selector}": ${problem}`);
    this.name = 'SelectorError';
  }
}

// Punctuation that ends a word; `!` alone is the "does not exist" prefix.
const OPERATORS = ['!=', '==', '=', '!', '<', '>', '(', ')', ','] as const;
type Token = { word: string } | { op: (typeof OPERATORS)[number] };

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = new RegExp(DNS1123_SUBDOMAIN);

function tokenize(selector: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < selector.length) {
    const c = selector.charAt(i);
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const op = OPERATORS.find((o) => selector.startsWith(o, i));
    if (op) {
      tokens.push({ op: op === '==' ? '=' : op });
      i += op.length;
      continue;
    }
    let end = i;
    while (end < selector.length && !/[\s!=<>(),]/.test(selector.charAt(end))) end++;
    tokens.push({ word: selector.slice(i, end) });
    i = end;
  }
  return tokens;
}

/** A label key: an optional DNS subdomain prefix and `/`, then a name of at most 63 characters. */
export function keyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    return `"${prefix}" is not a DNS subdomain (the key's prefix)`;
  if (name.length > 63 || !NAME.test(name))
    return `"${key}" is not a label key (a name of at most 63 letters, digits, '-', '_' or '.', optionally prefixed by a DNS subdomain and '/')`;
  return undefined;
}

function valueProblem(value: string): string | undefined {
  if (value === '' || (value.length <= 63 && NAME.test(value))) return undefined;
  return `"${value}" is not a label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)`;
}

/** The requirements of `selector`, all of which an object's labels must meet; throws SelectorError. */
export function parseSelector(selector: string): Requirement[] {
  const tokens = tokenize(selector);
  if (tokens.length === 0) throw new SelectorError(selector, 'empty (it would select everything)');
  let at = 0;
  const peek = () => tokens[at];
  const fail = (problem: string): never => {
    throw new SelectorError(selector, problem);
  };
  const isOp = (t: Token | undefined, op: string) => t !== undefined && 'op' in t && t.op === op;
  const word = (what: string): string => {
    const t = tokens[at];
    if (!t || !('word' in t)) return fail(`expected ${what}, found ${t ? `'${t.op}'` : 'the end'}`);
    at++;
    return t.word;
  };
  const checked = (problem: string | undefined) => problem === undefined || fail(problem);
  /** A value may be empty (`tier=`), so a separator or the end stands for "". */
  const value = (): string => {
    const t = peek();
    const v = t && 'word' in t ? word('a value') : '';
    checked(valueProblem(v));
    return v;
  };

  const requirements: Requirement[] = [];
  for (;;) {
    let requirement: Requirement;
    if (isOp(peek(), '!')) {
      at++;
      const key = word('a key after "!"');
      checked(keyProblem(key));
      requirement = { key, operator: '!', values: [] };
    } else {
      const key = word('a key');
      checked(keyProblem(key));
      const t = peek();
      if (t === undefined || isOp(t, ',')) requirement = { key, operator: 'exists', values: [] };
      else if ('op' in t && (t.op === '=' || t.op === '!=')) {
        at++;
        requirement = { key, operator: t.op, values: [value()] };
      } else if ('op' in t && (t.op === '<' || t.op === '>')) {
        at++;
        const v = word('a number');
        if (!/^-?\d+$/.test(v)) fail(`"${key}${t.op}${v}": '${t.op}' compares with an integer`);
        requirement = { key, operator: t.op, values: [v] };
      } else if ('word' in t && (t.word === 'in' || t.word === 'notin')) {
        at++;
        if (!isOp(peek(), '(')) fail(`expected '(' after "${key} ${t.word}"`);
        at++;
        const values = [value()];
        while (isOp(peek(), ',')) {
          at++;
          values.push(value());
        }
        if (!isOp(peek(), ')')) fail(`expected ',' or ')' in the values of "${key} ${t.word}"`);
        at++;
        requirement = { key, operator: t.word, values };
      } else {
        return fail(`expected '=', '==', '!=', 'in', 'notin', '<', '>', ',' or the end after "${key}"`);
      }
    }
    requirements.push(requirement);
    const next = peek();
    if (next === undefined) return requirements;
    if (!isOp(next, ',')) fail(`expected ',' between requirements, found ${describe(next)}`);
    at++;
  }
}

function describe(t: Token): string {
  return 'op' in t ? `'${t.op}'` : `"${t.word}"`;
}
