// The destructive-statement lint. An expand migration runs while the old
// version of the application still serves traffic, so it may only add; any
// statement that takes away or reshapes something the old code relies on
// belongs in the contract phase, after traffic has moved. The same rules tell
// the operator whether a contract migration needs a backup first
// (operator/release/observe.ts) and `cutover migrate --lint-only` reports them.
import {
  abbreviate,
  isPunct,
  isWord,
  leadingComments,
  splitStatements,
  type Statement,
  type Token,
} from './sql.js';

export type Phase = 'expand' | 'contract';

export type DestructiveRule =
  | 'drop-table'
  | 'drop-schema'
  | 'drop-cascade'
  | 'drop-column'
  | 'rename'
  | 'alter-column-type'
  | 'set-not-null'
  | 'truncate'
  | 'delete-without-where'
  | 'update-without-where';

/** Rules about how a file can be run at all; they apply in every phase. */
export type StructureRule = 'transaction-control' | 'needs-no-transaction';

export type Rule = DestructiveRule | StructureRule;

export interface Finding {
  file: string;
  /** 1-based line of the statement's first token. */
  line: number;
  rule: Rule;
  /** The statement, whitespace collapsed and abbreviated. */
  statement: string;
  message: string;
}

export interface SqlFile {
  name: string;
  sql: string;
}

/**
 * A file whose leading comments include this line runs statement by
 * statement outside a transaction, for statements PostgreSQL refuses inside
 * one (CREATE INDEX CONCURRENTLY).
 */
export const NO_TRANSACTION_DIRECTIVE = '-- cutover:no-transaction';

export function hasNoTransactionDirective(sql: string): boolean {
  return leadingComments(sql).some((c) => c.trim().toLowerCase() === NO_TRANSACTION_DIRECTIVE);
}

const MESSAGES: Record<Rule, string> = {
  'drop-table': 'drops a table the running version may still read; move it to the contract phase',
  'drop-schema': 'drops a schema and every table in it; move it to the contract phase',
  'drop-cascade':
    'CASCADE also drops dependent objects, which can include columns and views; move it to the contract phase',
  'drop-column': 'drops a column the running version may still read or write; move it to the contract phase',
  rename:
    'renames something the running version refers to by its old name; add the new name in expand and drop the old one in contract',
  'alter-column-type':
    'changes a column type, which rewrites the table under an exclusive lock and can break the running version; add a new column instead',
  'set-not-null':
    'makes an existing column NOT NULL, which fails the running version where it writes NULL and scans the table under an exclusive lock; add a CHECK (…) NOT VALID constraint in expand and enforce NOT NULL in contract',
  truncate: 'deletes every row of the table; move it to the contract phase',
  'delete-without-where':
    'DELETE without a WHERE clause deletes every row; add a WHERE clause or move it to contract',
  'update-without-where':
    'UPDATE without a WHERE clause rewrites every row under lock; add a WHERE clause or move it to contract',
  'transaction-control':
    'cutover runs each file in a transaction of its own; remove BEGIN/COMMIT/ROLLBACK from the file',
  'needs-no-transaction': `this statement cannot run inside a transaction; put it in a file of its own that starts with '${NO_TRANSACTION_DIRECTIVE}'`,
};

/**
 * Findings for one migration file. In the expand phase every destructive
 * statement is a finding; in both phases so are statements that would break
 * the one-transaction-per-file guarantee.
 */
export function lintMigration(file: SqlFile, phase: Phase): Finding[] {
  const findings: Finding[] = [];
  const noTransaction = hasNoTransactionDirective(file.sql);
  for (const statement of splitStatements(file.sql)) {
    const structural = structureRule(statement.tokens, noTransaction);
    if (structural)
      findings.push(finding(file.name, { rule: structural, line: statement.line, text: statement.text }));
    if (phase === 'expand')
      findings.push(...destructiveHits(statement).map((hit) => finding(file.name, hit)));
  }
  return findings;
}

/** Every destructive statement in `files`, whatever the phase. */
export function destructiveFindings(files: readonly SqlFile[]): Finding[] {
  return files.flatMap((file) =>
    splitStatements(file.sql).flatMap((statement) =>
      destructiveHits(statement).map((hit) => finding(file.name, hit)),
    ),
  );
}

/** True when any file would remove or reshape data: the planned trigger for a backup before contract. */
export function isDestructive(files: readonly SqlFile[]): boolean {
  return destructiveFindings(files).length > 0;
}

interface LocatedHit<R extends Rule = DestructiveRule> {
  rule: R;
  line: number;
  text: string;
}

function finding(file: string, hit: LocatedHit<Rule>): Finding {
  return {
    file,
    line: hit.line,
    rule: hit.rule,
    statement: abbreviate(hit.text),
    message: MESSAGES[hit.rule],
  };
}

function destructiveHits(statement: Statement): LocatedHit[] {
  const hits: LocatedHit[] = rulesFor(statement.tokens).map((rule) => ({
    rule,
    line: statement.line,
    text: statement.text,
  }));
  // A DO block runs its body now, unlike a function definition.
  const body = doBlockBody(statement.tokens);
  if (body) hits.push(...plpgsqlHits(body));
  return hits;
}

function rulesFor(tokens: Token[]): DestructiveRule[] {
  const rules: DestructiveRule[] = [];
  const [first, second] = tokens;
  if (isWord(first, 'DROP')) {
    if (isWord(second, 'TABLE')) rules.push('drop-table');
    else if (isWord(second, 'SCHEMA')) rules.push('drop-schema');
    else if (topLevel(tokens).some((t) => isWord(t, 'CASCADE'))) rules.push('drop-cascade');
  } else if (isWord(first, 'TRUNCATE')) {
    rules.push('truncate');
  } else if (isWord(first, 'ALTER')) {
    rules.push(...alterRules(tokens));
  }
  rules.push(...dmlRules(tokens));
  return rules;
}

/** Tokens at parenthesis depth 0. */
function topLevel(tokens: Token[]): Token[] {
  let depth = 0;
  const out: Token[] = [];
  for (const t of tokens) {
    if (isPunct(t, '(')) depth += 1;
    else if (isPunct(t, ')')) depth -= 1;
    else if (depth === 0) out.push(t);
  }
  return out;
}

/** Splits at commas of parenthesis depth 0. */
function splitTopLevelCommas(tokens: Token[]): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  for (const t of tokens) {
    if (isPunct(t, '(')) depth += 1;
    else if (isPunct(t, ')')) depth -= 1;
    if (depth === 0 && isPunct(t, ',')) parts.push([]);
    else parts[parts.length - 1]?.push(t);
  }
  return parts.filter((p) => p.length > 0);
}

const TABLE_LIKE = [['TABLE'], ['FOREIGN', 'TABLE'], ['VIEW'], ['MATERIALIZED', 'VIEW']];

function alterRules(tokens: Token[]): DestructiveRule[] {
  const kind = TABLE_LIKE.find((words) => words.every((w, k) => isWord(tokens[1 + k], w)));
  if (!kind) {
    // ALTER TYPE/INDEX/SEQUENCE/SCHEMA/FUNCTION … RENAME [TO|VALUE|ATTRIBUTE]
    return topLevel(tokens).some((t, k) => k > 1 && isWord(t, 'RENAME')) ? ['rename'] : [];
  }
  let k = 1 + kind.length;
  if (isWord(tokens[k], 'ALL') && isWord(tokens[k + 1], 'IN')) return []; // … ALL IN TABLESPACE
  if (isWord(tokens[k], 'IF') && isWord(tokens[k + 1], 'EXISTS')) k += 2;
  if (isWord(tokens[k], 'ONLY')) k += 1;
  k = skipQualifiedName(tokens, k);
  if (tokens[k]?.kind === 'operator' && tokens[k]?.value === '*') k += 1;

  const rules = new Set<DestructiveRule>();
  for (const action of splitTopLevelCommas(tokens.slice(k))) {
    const rule = alterTableActionRule(action);
    if (rule) rules.add(rule);
  }
  return [...rules];
}

function skipQualifiedName(tokens: Token[], k: number): number {
  let j = k;
  const isName = (t: Token | undefined): boolean => t?.kind === 'word' || t?.kind === 'quoted-ident';
  if (!isName(tokens[j])) return j;
  j += 1;
  while (isPunct(tokens[j], '.') && isName(tokens[j + 1])) j += 2;
  return j;
}

function alterTableActionRule(action: Token[]): DestructiveRule | undefined {
  const [a0, a1] = action;
  if (isWord(a0, 'RENAME')) return 'rename';
  if (isWord(a0, 'SET') && isWord(a1, 'SCHEMA')) return 'rename';
  if (isWord(a0, 'DROP')) return isWord(a1, 'CONSTRAINT') ? undefined : 'drop-column';
  if (isWord(a0, 'ALTER')) {
    if (isWord(a1, 'CONSTRAINT')) return undefined;
    // ALTER [COLUMN] name …; COLUMN is reserved, so it is never the name itself.
    const k = isWord(a1, 'COLUMN') ? 3 : 2;
    const rest = action.slice(k);
    if (isWord(rest[0], 'TYPE')) return 'alter-column-type';
    if (isWord(rest[0], 'SET') && isWord(rest[1], 'DATA') && isWord(rest[2], 'TYPE'))
      return 'alter-column-type';
    if (isWord(rest[0], 'SET') && isWord(rest[1], 'NOT') && isWord(rest[2], 'NULL')) return 'set-not-null';
  }
  return undefined;
}

/**
 * DELETE and UPDATE at the start of the statement, of a data-modifying CTE
 * `( DELETE … )`, or right after the WITH list. A WHERE counts only at the
 * same parenthesis depth: one inside a subquery filters the subquery, not
 * the rows being changed.
 */
function dmlRules(tokens: Token[]): DestructiveRule[] {
  const rules: DestructiveRule[] = [];
  const startsWithWith = isWord(tokens[0], 'WITH');
  let depth = 0;
  tokens.forEach((t, k) => {
    const prev = tokens[k - 1];
    const startsHere = k === 0 || isPunct(prev, '(') || (startsWithWith && depth === 0 && isPunct(prev, ')'));
    if (isPunct(t, '(')) depth += 1;
    else if (isPunct(t, ')')) depth -= 1;
    if (!startsHere) return;
    const next = tokens[k + 1];
    let rule: DestructiveRule | undefined;
    if (isWord(t, 'DELETE') && isWord(next, 'FROM')) rule = 'delete-without-where';
    else if (isWord(t, 'UPDATE') && next !== undefined && next.kind !== 'punct')
      rule = 'update-without-where';
    if (rule && !hasWhereAtSameDepth(tokens, k)) rules.push(rule);
  });
  return rules;
}

function hasWhereAtSameDepth(tokens: Token[], from: number): boolean {
  let depth = 0;
  for (let k = from; k < tokens.length; k += 1) {
    const t = tokens[k];
    if (isPunct(t, '(')) depth += 1;
    else if (isPunct(t, ')')) {
      depth -= 1;
      if (depth < 0) return false;
    } else if (depth === 0 && isWord(t, 'WHERE')) return true;
  }
  return false;
}

interface Body {
  sql: string;
  /** Line of the body's first character in the file. */
  line: number;
}

function doBlockBody(tokens: Token[]): Body | undefined {
  if (!isWord(tokens[0], 'DO')) return undefined;
  const languageAt = tokens.findIndex((t) => isWord(t, 'LANGUAGE'));
  const language = languageAt === -1 ? undefined : tokens[languageAt + 1];
  if (language && language.value.toLowerCase() !== 'plpgsql') return undefined;
  const body = tokens.find((t) => t.kind === 'dollar-string' || t.kind === 'string');
  if (!body) return undefined;
  // A newline right after the opening tag belongs to the body, so the body's
  // first line is the line the tag is on.
  return { sql: body.value, line: body.line };
}

// A PL/pgSQL statement can begin after these, inside one `;`-separated piece
// of a block: `BEGIN IF x THEN DELETE FROM t` holds three segments.
const PLPGSQL_STATEMENT_OPENERS = ['BEGIN', 'THEN', 'ELSE', 'LOOP', 'DECLARE'];

function plpgsqlHits(body: Body): LocatedHit[] {
  const hits: LocatedHit[] = [];
  for (const piece of splitStatements(body.sql)) {
    const segments: Token[][] = [[]];
    for (const t of piece.tokens) {
      segments[segments.length - 1]?.push(t);
      const labelEnd = t.kind === 'operator' && t.value === '>>';
      if (isWord(t, ...PLPGSQL_STATEMENT_OPENERS) || labelEnd) segments.push([]);
    }
    for (const segment of segments) {
      const head = segment[0];
      const last = segment[segment.length - 1];
      if (!head || !last) continue;
      const text = body.sql.slice(head.start, last.end);
      for (const rule of rulesFor(segment)) hits.push({ rule, line: body.line + head.line - 1, text });
    }
  }
  return hits;
}

function structureRule(tokens: Token[], noTransaction: boolean): StructureRule | undefined {
  if (isTransactionControl(tokens)) return 'transaction-control';
  if (!noTransaction && needsNoTransaction(tokens)) return 'needs-no-transaction';
  return undefined;
}

function isTransactionControl(tokens: Token[]): boolean {
  const [t0, t1, t2] = tokens;
  if (isWord(t0, 'BEGIN', 'COMMIT', 'END', 'ABORT')) return true;
  if (isWord(t0, 'START') && isWord(t1, 'TRANSACTION')) return true;
  if (isWord(t0, 'PREPARE') && isWord(t1, 'TRANSACTION')) return true;
  if (isWord(t0, 'ROLLBACK')) {
    // ROLLBACK [WORK|TRANSACTION] TO [SAVEPOINT] s stays inside the transaction.
    const to = isWord(t1, 'WORK', 'TRANSACTION') ? t2 : t1;
    return !isWord(to, 'TO');
  }
  return false;
}

function needsNoTransaction(tokens: Token[]): boolean {
  const [t0, t1, t2] = tokens;
  const top = topLevel(tokens);
  if (isWord(t0, 'CREATE')) {
    const k = isWord(t1, 'UNIQUE') ? 2 : 1;
    if (isWord(tokens[k], 'INDEX') && isWord(tokens[k + 1], 'CONCURRENTLY')) return true;
    if (isWord(t1, 'DATABASE', 'TABLESPACE')) return true;
  }
  if (isWord(t0, 'DROP')) {
    if (isWord(t1, 'INDEX') && isWord(t2, 'CONCURRENTLY')) return true;
    if (isWord(t1, 'DATABASE', 'TABLESPACE')) return true;
  }
  if (isWord(t0, 'REINDEX')) {
    return tokens.some((t) => isWord(t, 'CONCURRENTLY')) || top.some((t) => isWord(t, 'DATABASE', 'SYSTEM'));
  }
  if (isWord(t0, 'VACUUM')) return true;
  if (isWord(t0, 'ALTER') && isWord(t1, 'SYSTEM')) return true;
  return false;
}
