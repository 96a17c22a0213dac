import { describe, expect, it } from '@jest/globals';
import { destructiveFindings, isDestructive, lintMigration, type Rule } from './lint.js';

const rules = (sql: string, phase: 'expand' | 'contract' = 'expand'): Rule[] =>
  lintMigration({ name: '001_x.up.sql', sql }, phase).map((f) => f.rule);

describe('lintMigration in the expand phase', () => {
  it.each<[string, Rule[]]>([
    ['DROP TABLE users', ['drop-table']],
    ['drop table if exists users cascade', ['drop-table']],
    ['DROP SCHEMA legacy CASCADE', ['drop-schema']],
    ['DROP TYPE mood CASCADE', ['drop-cascade']],
    ['ALTER TABLE users DROP COLUMN email', ['drop-column']],
    ['alter table users drop email', ['drop-column']],
    ['ALTER TABLE IF EXISTS ONLY public.users DROP COLUMN IF EXISTS email', ['drop-column']],
    ['ALTER TABLE "Users" ADD COLUMN a int, DROP COLUMN b', ['drop-column']],
    ['ALTER TABLE users RENAME TO people', ['rename']],
    ['ALTER TABLE users RENAME COLUMN email TO mail', ['rename']],
    ['ALTER TABLE users RENAME email TO mail', ['rename']],
    ['ALTER TABLE users RENAME CONSTRAINT users_pk TO people_pk', ['rename']],
    ['ALTER TABLE users SET SCHEMA archive', ['rename']],
    ['ALTER INDEX users_email RENAME TO users_mail', ['rename']],
    ["ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'", ['rename']],
    ['ALTER TABLE users ALTER COLUMN age TYPE bigint', ['alter-column-type']],
    ['ALTER TABLE users ALTER age SET DATA TYPE bigint USING age::bigint', ['alter-column-type']],
    ['ALTER TABLE users ALTER COLUMN email SET NOT NULL', ['set-not-null']],
    [
      'ALTER TABLE users ALTER COLUMN email SET NOT NULL, ALTER COLUMN age TYPE bigint',
      ['set-not-null', 'alter-column-type'],
    ],
    ['TRUNCATE users', ['truncate']],
    ['truncate table a, b restart identity', ['truncate']],
    ['DELETE FROM users', ['delete-without-where']],
    ['UPDATE users SET active = true', ['update-without-where']],
    ['update users set n = (select max(n) from other where other.id = 1)', ['update-without-where']],
    ['DELETE FROM users WHERE id IN (SELECT id FROM banned WHERE true) RETURNING (SELECT 1)', []],
    ['DELETE FROM users RETURNING (SELECT 1 FROM x WHERE y)', ['delete-without-where']],
    ['DELETE FROM t USING u WHERE t.id = u.id', []],
    ['DELETE FROM t WHERE CURRENT OF c', []],
    ['UPDATE t SET a = 1 FROM u WHERE t.id = u.id', []],
    ['WITH gone AS (SELECT id FROM t WHERE old) DELETE FROM t WHERE id IN (SELECT id FROM gone)', []],
    ['WITH gone AS (SELECT id FROM t WHERE old) DELETE FROM t', ['delete-without-where']],
    ['WITH d AS (DELETE FROM t RETURNING *) INSERT INTO archive SELECT * FROM d', ['delete-without-where']],
    ['WITH d AS (DELETE FROM t WHERE old RETURNING *) INSERT INTO archive SELECT * FROM d', []],
    [
      'WITH u AS MATERIALIZED (UPDATE t SET a = 1 RETURNING id) SELECT * FROM u WHERE id > 0',
      ['update-without-where'],
    ],
  ])('%s → %j', (sql, expected) => {
    expect(rules(sql)).toEqual(expected);
  });

  it.each([
    'CREATE TABLE orders (id bigint primary key, note text)',
    'ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT $$free$$',
    "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free'",
    "ALTER TABLE users ALTER COLUMN plan SET DEFAULT 'pro'",
    'ALTER TABLE users ALTER COLUMN plan DROP NOT NULL',
    'ALTER TABLE users ALTER COLUMN plan DROP DEFAULT',
    'ALTER TABLE users DROP CONSTRAINT users_plan_check',
    'ALTER TABLE users ADD CONSTRAINT plan_nn CHECK (plan IS NOT NULL) NOT VALID',
    'ALTER TABLE users VALIDATE CONSTRAINT plan_nn',
    'ALTER TABLE users ALTER CONSTRAINT fk DEFERRABLE',
    'CREATE INDEX idx ON users (email)',
    'DROP INDEX users_email_idx',
    'INSERT INTO t SELECT * FROM u',
    'SELECT * FROM t FOR UPDATE',
    'GRANT SELECT, UPDATE, DELETE ON t TO app',
    'CREATE TABLE a (b_id int REFERENCES b ON DELETE CASCADE ON UPDATE CASCADE)',
    'CREATE TRIGGER trg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()',
    'CREATE POLICY p ON t FOR UPDATE USING (true)',
    'CREATE RULE r AS ON DELETE TO v DO INSTEAD DELETE FROM t',
    "COMMENT ON TABLE t IS 'DROP TABLE t; TRUNCATE t'",
    "SELECT 'DELETE FROM users'",
    "SELECT E'\\'; DROP TABLE users; --'",
    'SELECT 1 AS "DROP TABLE x"',
    '-- DROP TABLE users\nSELECT 1',
    '/* ALTER TABLE t DROP COLUMN c; */ SELECT 1',
    `CREATE FUNCTION purge() RETURNS void LANGUAGE plpgsql AS $fn$
     BEGIN
       DELETE FROM sessions;
       DROP TABLE scratch;
     END $fn$`,
    `CREATE FUNCTION purge() RETURNS void LANGUAGE sql BEGIN ATOMIC DELETE FROM sessions; TRUNCATE x; END`,
    'ALTER TABLE ALL IN TABLESPACE a SET TABLESPACE b',
    'ALTER TABLE t ADD COLUMN rename int',
  ])('allows %s', (sql) => {
    expect(rules(sql)).toEqual([]);
  });

  it('lints CREATE INDEX CONCURRENTLY as fine when the file runs without a transaction', () => {
    expect(rules('-- cutover:no-transaction\nCREATE INDEX CONCURRENTLY idx ON users (email)')).toEqual([]);
  });

  it('is case-insensitive', () => {
    expect(rules('dRoP tAbLe x; AlTeR tAbLe y DrOp CoLuMn z')).toEqual(['drop-table', 'drop-column']);
  });

  it('reports every statement with the line of its first token', () => {
    const sql = `-- 002: tidy up
CREATE TABLE a (id int);

ALTER TABLE users
  DROP COLUMN legacy;
/* comment */ TRUNCATE
  audit;
SELECT 1; DELETE
FROM t;`;
    const findings = lintMigration({ name: '002_tidy.up.sql', sql }, 'expand');
    expect(findings.map((f) => [f.file, f.line, f.rule, f.statement])).toEqual([
      ['002_tidy.up.sql', 4, 'drop-column', 'ALTER TABLE users DROP COLUMN legacy'],
      ['002_tidy.up.sql', 6, 'truncate', 'TRUNCATE audit'],
      ['002_tidy.up.sql', 8, 'delete-without-where', 'DELETE FROM t'],
    ]);
    expect(findings[0]?.message).toMatch(/contract phase/);
  });

  it('looks inside DO blocks, which run at once, and reports the body line', () => {
    const sql = `SELECT 1;
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_tables WHERE tablename = 'old') THEN
    ALTER TABLE old DROP COLUMN c;
  END IF;
  UPDATE t SET x = 1 WHERE id = 2;
  <<outer>> DELETE FROM scratch;
END
$$;`;
    const findings = lintMigration({ name: '003_do.up.sql', sql }, 'expand');
    expect(findings.map((f) => [f.line, f.rule, f.statement])).toEqual([
      [5, 'drop-column', 'ALTER TABLE old DROP COLUMN c'],
      [8, 'delete-without-where', 'DELETE FROM scratch'],
    ]);
  });

  it('leaves DO blocks in other languages alone', () => {
    expect(rules("DO LANGUAGE plpython3u $$ plpy.execute('DROP TABLE t') $$")).toEqual([]);
  });

  it('abbreviates long statements', () => {
    const [finding] = lintMigration(
      { name: 'x', sql: `DELETE FROM t${' '.repeat(10)}${'x'.repeat(300)}` },
      'expand',
    );
    expect(finding?.statement.length).toBeLessThanOrEqual(160);
    expect(finding?.statement.endsWith('…')).toBe(true);
  });
});

describe('lintMigration rules of every phase', () => {
  it.each<[string, Rule[]]>([
    ['BEGIN; CREATE TABLE a (id int); COMMIT;', ['transaction-control', 'transaction-control']],
    ['START TRANSACTION', ['transaction-control']],
    ['ROLLBACK', ['transaction-control']],
    ['END', ['transaction-control']],
    ['SAVEPOINT s; ROLLBACK TO SAVEPOINT s; ROLLBACK TRANSACTION TO s; RELEASE s', []],
    ['CREATE INDEX CONCURRENTLY idx ON t (a)', ['needs-no-transaction']],
    ['CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx ON t (a)', ['needs-no-transaction']],
    ['DROP INDEX CONCURRENTLY idx', ['needs-no-transaction']],
    ['REINDEX TABLE CONCURRENTLY t', ['needs-no-transaction']],
    ['VACUUM ANALYZE t', ['needs-no-transaction']],
  ])('%s → %j in both phases', (sql, expected) => {
    expect(rules(sql, 'expand')).toEqual(expected);
    expect(rules(sql, 'contract')).toEqual(expected);
  });

  it('allows destructive statements in the contract phase', () => {
    expect(rules('DROP TABLE a; ALTER TABLE b DROP COLUMN c; DELETE FROM d', 'contract')).toEqual([]);
  });

  it('still refuses BEGIN/COMMIT in a no-transaction file', () => {
    expect(rules('-- cutover:no-transaction\nBEGIN;\nSELECT 1;\nCOMMIT;', 'contract')).toEqual([
      'transaction-control',
      'transaction-control',
    ]);
  });

  it('only honours the directive before the first statement', () => {
    expect(rules('SELECT 1;\n-- cutover:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a)')).toEqual([
      'needs-no-transaction',
    ]);
  });
});

describe('isDestructive', () => {
  it('applies the destructive rules whatever the phase', () => {
    const additive = { name: '001_a.up.sql', sql: 'CREATE TABLE a (id int); ALTER TABLE a ADD COLUMN b int' };
    const destructive = { name: '002_b.up.sql', sql: '-- tidy\nALTER TABLE a\nDROP COLUMN b' };
    expect(isDestructive([additive])).toBe(false);
    expect(isDestructive([additive, destructive])).toBe(true);
    expect(destructiveFindings([additive, destructive])).toEqual([
      expect.objectContaining({ file: '002_b.up.sql', line: 2, rule: 'drop-column' }),
    ]);
  });

  it('does not count structural rules', () => {
    expect(isDestructive([{ name: 'x', sql: 'BEGIN; CREATE INDEX CONCURRENTLY i ON t (a); COMMIT' }])).toBe(
      false,
    );
  });
});
