// A small lexer for PostgreSQL's SQL dialect. It knows just enough to tell
// code apart from comments, strings, quoted identifiers and dollar-quoted
// bodies, and where one statement ends: that is what the destructive lint and
// the statement-by-statement runner need. It never rejects input; a syntax
// error is the server's to report, with its own position.

export type TokenKind =
  | 'word' // keyword or unquoted identifier; `value` is upper-cased
  | 'quoted-ident' // "Name"; `value` is the identifier with "" undone
  | 'string' // '…', E'…', and the quote part of B'…', X'…', U&'…'
  | 'dollar-string' // $$…$$ or $tag$…$tag$
  | 'number'
  | 'param' // $1
  | 'punct' // ( ) [ ] , ; : .
  | 'operator'
  | 'comment';

export interface Token {
  kind: TokenKind;
  /** Upper-cased for words, unquoted for identifiers and strings, the source text otherwise. */
  value: string;
  /** Offset of the first character in the source (UTF-16 units, as JavaScript indexes strings). */
  start: number;
  /** Offset just past the last character. */
  end: number;
  /** 1-based line of the first character. */
  line: number;
  /** For strings: offset where the content begins (after the opening quote or tag). */
  contentStart?: number;
}

export interface Statement {
  /** The statement's tokens, comments left out. */
  tokens: Token[];
  /** Offset of the first token. */
  start: number;
  /** Offset just past the last token (the terminating `;` is not part of it). */
  end: number;
  /** 1-based line of the first token. */
  line: number;
  /** The source text from the first to the last token. */
  text: string;
}

const OPERATOR_CHARS = new Set('+-*/<>=~!@#%^&|`?');
const PUNCT_CHARS = new Set('()[],;:.');

function isIdentStart(ch: string): boolean {
  return /[A-Za-z_]/.test(ch) || ch.charCodeAt(0) >= 0x80;
}

function isIdentPart(ch: string): boolean {
  return /[A-Za-z0-9_$]/.test(ch) || ch.charCodeAt(0) >= 0x80;
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

/** Maps offsets to 1-based line numbers. */
export function lineIndex(sql: string): (offset: number) => number {
  const starts = [0];
  for (let i = 0; i < sql.length; i += 1) if (sql[i] === '\n') starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

export function tokenize(sql: string): Token[] {
  const lineOf = lineIndex(sql);
  const tokens: Token[] = [];
  const n = sql.length;
  let i = 0;

  const push = (kind: TokenKind, start: number, end: number, value: string, contentStart?: number): void => {
    tokens.push({
      kind,
      value,
      start,
      end,
      line: lineOf(start),
      ...(contentStart === undefined ? {} : { contentStart }),
    });
  };

  // Reads a quoted run starting at the opening quote; a doubled quote is an
  // escaped quote. With backslashes on (E'…'), \x escapes the next character.
  const readQuoted = (quote: string, backslashes: boolean): { end: number; content: string } => {
    let j = i + 1;
    let content = '';
    while (j < n) {
      const ch = sql[j] as string;
      if (backslashes && ch === '\\' && j + 1 < n) {
        content += sql[j + 1];
        j += 2;
        continue;
      }
      if (ch === quote) {
        if (sql[j + 1] === quote) {
          content += quote;
          j += 2;
          continue;
        }
        return { end: j + 1, content };
      }
      content += ch;
      j += 1;
    }
    // Unterminated: the rest of the input belongs to it, as the server would read it.
    return { end: n, content };
  };

  while (i < n) {
    const ch = sql[i] as string;
    const next = sql[i + 1];

    if (/\s/.test(ch)) {
      i += 1;
      continue;
    }

    if (ch === '-' && next === '-') {
      let j = i + 2;
      while (j < n && sql[j] !== '\n') j += 1;
      push('comment', i, j, sql.slice(i, j));
      i = j;
      continue;
    }

    if (ch === '/' && next === '*') {
      // PostgreSQL block comments nest, unlike the SQL standard's.
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (sql[j] === '/' && sql[j + 1] === '*') {
          depth += 1;
          j += 2;
        } else if (sql[j] === '*' && sql[j + 1] === '/') {
          depth -= 1;
          j += 2;
        } else {
          j += 1;
        }
      }
      push('comment', i, j, sql.slice(i, j));
      i = j;
      continue;
    }

    if (ch === "'") {
      const { end, content } = readQuoted("'", false);
      push('string', i, end, content, i + 1);
      i = end;
      continue;
    }

    if (ch === '"') {
      const { end, content } = readQuoted('"', false);
      push('quoted-ident', i, end, content);
      i = end;
      continue;
    }

    if (ch === '$') {
      if (isDigit(next)) {
        let j = i + 1;
        while (isDigit(sql[j])) j += 1;
        push('param', i, j, sql.slice(i, j));
        i = j;
        continue;
      }
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i, i + 130));
      if (tag) {
        const opener = tag[0];
        const close = sql.indexOf(opener, i + opener.length);
        const end = close === -1 ? n : close + opener.length;
        const content = sql.slice(i + opener.length, close === -1 ? n : close);
        push('dollar-string', i, end, content, i + opener.length);
        i = end;
        continue;
      }
      push('operator', i, i + 1, '$');
      i += 1;
      continue;
    }

    if (isIdentStart(ch)) {
      let j = i + 1;
      while (j < n && isIdentPart(sql[j] as string)) j += 1;
      const word = sql.slice(i, j);
      // E'…' is the one string form where backslash escapes a quote.
      if (sql[j] === "'" && (word === 'E' || word === 'e')) {
        i = j;
        const { end, content } = readQuoted("'", true);
        push('string', j - 1, end, content, j + 1);
        i = end;
        continue;
      }
      push('word', i, j, word.toUpperCase());
      i = j;
      continue;
    }

    if (isDigit(ch) || (ch === '.' && isDigit(next))) {
      const m = /^(?:\d[\d_]*)?(?:\.[\d_]*)?(?:[eE][+-]?\d+)?/.exec(sql.slice(i));
      const len = Math.max(m?.[0].length ?? 1, 1);
      push('number', i, i + len, sql.slice(i, i + len));
      i += len;
      continue;
    }

    if (PUNCT_CHARS.has(ch)) {
      push('punct', i, i + 1, ch);
      i += 1;
      continue;
    }

    if (OPERATOR_CHARS.has(ch)) {
      let j = i + 1;
      // An operator ends where a comment begins: `a+--x` is `a +` then a comment.
      while (
        j < n &&
        OPERATOR_CHARS.has(sql[j] as string) &&
        !(sql[j] === '-' && sql[j + 1] === '-') &&
        !(sql[j] === '/' && sql[j + 1] === '*')
      )
        j += 1;
      push('operator', i, j, sql.slice(i, j));
      i = j;
      continue;
    }

    push('operator', i, i + 1, ch);
    i += 1;
  }
  return tokens;
}

export function isWord(token: Token | undefined, ...words: string[]): boolean {
  return token !== undefined && token.kind === 'word' && (words.length === 0 || words.includes(token.value));
}

export function isPunct(token: Token | undefined, ch: string): boolean {
  return token !== undefined && token.kind === 'punct' && token.value === ch;
}

/**
 * Splits `sql` into statements at top-level semicolons. A semicolon inside
 * parentheses (CREATE RULE … DO (…; …)) or inside a SQL-standard function
 * body (BEGIN ATOMIC … END) does not end a statement, matching psql.
 */
export function splitStatements(sql: string): Statement[] {
  const statements: Statement[] = [];
  let current: Token[] = [];
  let parens = 0;
  let atomicDepth = 0;

  const flush = (): void => {
    const first = current[0];
    const last = current[current.length - 1];
    if (first && last) {
      statements.push({
        tokens: current,
        start: first.start,
        end: last.end,
        line: first.line,
        text: sql.slice(first.start, last.end),
      });
    }
    current = [];
    parens = 0;
    atomicDepth = 0;
  };

  for (const token of tokenize(sql)) {
    if (token.kind === 'comment') continue;
    if (isPunct(token, ';') && parens === 0 && atomicDepth === 0) {
      flush();
      continue;
    }
    if (isPunct(token, '(')) parens += 1;
    else if (isPunct(token, ')')) parens = Math.max(0, parens - 1);
    else if (token.kind === 'word' && isRoutineDefinition(current)) {
      const prev = current[current.length - 1];
      if (token.value === 'ATOMIC' && isWord(prev, 'BEGIN')) atomicDepth += 1;
      else if (atomicDepth > 0 && token.value === 'CASE') atomicDepth += 1;
      else if (atomicDepth > 0 && token.value === 'END') atomicDepth -= 1;
    }
    current.push(token);
  }
  flush();
  return statements;
}

function isRoutineDefinition(tokens: Token[]): boolean {
  if (!isWord(tokens[0], 'CREATE')) return false;
  let k = 1;
  if (isWord(tokens[k], 'OR') && isWord(tokens[k + 1], 'REPLACE')) k += 2;
  return isWord(tokens[k], 'FUNCTION', 'PROCEDURE');
}

/** The comments that precede the first statement: where file-level directives live. */
export function leadingComments(sql: string): string[] {
  const comments: string[] = [];
  for (const token of tokenize(sql)) {
    if (token.kind !== 'comment') break;
    comments.push(token.value);
  }
  return comments;
}

/**
 * Converts PostgreSQL's error position (1-based, counted in characters, i.e.
 * code points) into an offset into the JavaScript string.
 */
export function offsetOfPosition(sql: string, position: number): number {
  let offset = 0;
  let counted = 1;
  while (counted < position && offset < sql.length) {
    const code = sql.codePointAt(offset) ?? 0;
    offset += code > 0xffff ? 2 : 1;
    counted += 1;
  }
  return offset;
}

/** Whitespace collapsed and cut to `max` characters, for messages. */
export function abbreviate(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
