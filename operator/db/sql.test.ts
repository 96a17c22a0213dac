import { describe, expect, it } from '@jest/globals';
import { leadingComments, offsetOfPosition, splitStatements, tokenize } from './sql.js';

const kinds = (sql: string): string[] => tokenize(sql).map((t) => `${t.kind}:${t.value}`);
const texts = (sql: string): string[] => splitStatements(sql).map((s) => s.text);

describe('tokenize', () => {
  it('upper-cases words and keeps quoted identifiers as written', () => {
    expect(kinds('drop Table "My Table"')).toEqual(['word:DROP', 'word:TABLE', 'quoted-ident:My Table']);
  });

  it('undoes doubled quotes in strings and identifiers', () => {
    expect(kinds(`'it''s' "a""b"`)).toEqual(["string:it's", 'quoted-ident:a"b']);
  });

  it('reads backslash escapes only in E strings', () => {
    expect(kinds(`E'it\\'s; DROP' x`)).toEqual(["string:it's; DROP", 'word:X']);
    // In a standard string a backslash is an ordinary character.
    expect(kinds(`'a\\' x`)).toEqual(['string:a\\', 'word:X']);
  });

  it('reads line comments, nested block comments and comments glued to operators', () => {
    expect(kinds('a -- DROP TABLE x\nb /* c /* nested */ still */ d+--x\n')).toEqual([
      'word:A',
      'comment:-- DROP TABLE x',
      'word:B',
      'comment:/* c /* nested */ still */',
      'word:D',
      'operator:+',
      'comment:--x',
    ]);
  });

  it('reads dollar-quoted bodies with and without a tag, and tells $1 apart', () => {
    expect(kinds('$$ a; $x$ $$ $fn$ b $$ c $fn$ $1')).toEqual([
      'dollar-string: a; $x$ ',
      'dollar-string: b $$ c ',
      'param:$1',
    ]);
  });

  it('keeps $ inside identifiers', () => {
    expect(kinds('a$b $$x$$')).toEqual(['word:A$B', 'dollar-string:x']);
  });

  it('numbers lines, counting newlines inside strings and comments', () => {
    const tokens = tokenize("a\n'x\ny'\n/* \n */ b\n\nc");
    expect(tokens.map((t) => [t.value, t.line])).toEqual([
      ['A', 1],
      ['x\ny', 2],
      ['/* \n */', 4],
      ['B', 5],
      ['C', 7],
    ]);
  });

  it('runs an unterminated string or comment to the end instead of failing', () => {
    expect(kinds("a 'unterminated; DROP TABLE x")).toEqual(['word:A', 'string:unterminated; DROP TABLE x']);
    expect(kinds('a /* open')).toEqual(['word:A', 'comment:/* open']);
    expect(kinds('a $$ open')).toEqual(['word:A', 'dollar-string: open']);
  });

  it('reads numbers, casts and qualified names', () => {
    expect(kinds('1.5e3::int + .5, s.t')).toEqual([
      'number:1.5e3',
      'punct::',
      'punct::',
      'word:INT',
      'operator:+',
      'number:.5',
      'punct:,',
      'word:S',
      'punct:.',
      'word:T',
    ]);
  });
});

describe('splitStatements', () => {
  it('splits at top-level semicolons and drops empty statements', () => {
    expect(texts('select 1; ;select 2;\n\nselect 3')).toEqual(['select 1', 'select 2', 'select 3']);
  });

  it('does not split inside strings, identifiers, comments or dollar bodies', () => {
    expect(
      texts(`insert into t values ('a;b'); select "x;y" from t -- ; not here
; create function f() returns void as $$ begin delete from t; end $$ language plpgsql;`),
    ).toEqual([
      "insert into t values ('a;b')",
      'select "x;y" from t',
      'create function f() returns void as $$ begin delete from t; end $$ language plpgsql',
    ]);
  });

  it('does not split inside parentheses (CREATE RULE … DO (…; …))', () => {
    expect(
      texts('create rule r as on insert to t do also (insert into a values (1); delete from b); select 1'),
    ).toEqual([
      'create rule r as on insert to t do also (insert into a values (1); delete from b)',
      'select 1',
    ]);
  });

  it('keeps a BEGIN ATOMIC function body, CASE … END included, in one statement', () => {
    const sql = `create or replace function f(x int) returns int language sql
begin atomic
  select case when x > 0 then 1 else 0 end;
  select 2;
end;
select 3;`;
    const statements = texts(sql);
    expect(statements).toHaveLength(2);
    expect(statements[0]).toMatch(/^create or replace function[\s\S]*select 2;\nend$/);
    expect(statements[1]).toBe('select 3');
  });

  it('reports the line of the first token, not of leading comments', () => {
    const statements = splitStatements('-- header\n\n/* x */\nselect\n  1;\n\n  select 2;');
    expect(statements.map((s) => s.line)).toEqual([4, 7]);
  });
});

describe('leadingComments', () => {
  it('returns the comments before the first statement only', () => {
    expect(leadingComments('-- a\n/* b */\nselect 1; -- c')).toEqual(['-- a', '/* b */']);
    expect(leadingComments('select 1')).toEqual([]);
  });
});

describe('offsetOfPosition', () => {
  it('counts code points as PostgreSQL does', () => {
    const sql = 'select \u{1F600} x';
    // Position 10 is `x`: 7 characters, the emoji (one character, two UTF-16 units), a space.
    expect(sql[offsetOfPosition(sql, 10)]).toBe('x');
    expect(offsetOfPosition(sql, 1)).toBe(0);
  });
});
