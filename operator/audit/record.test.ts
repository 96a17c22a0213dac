import type { Decision } from '../runtime/journal.js';
import { auditLine, auditRecordOf, parseAuditLine } from './record.js';

const decision: Decision = {
  id: '5d1c0e7a9b3f4e2d8c6a1b0f9e8d7c6b',
  at: '2026-12-03T10:00:00.123Z',
  type: 'Warning',
  reason: 'AnalysisFailed',
  message: 'error rate 5% over 1%; traffic is going back to the blue slot',
  object: { apiVersion: 'cutover.dev/v1alpha1', kind: 'Release', namespace: 'shop', name: 'web', uid: 'u-1' },
  details: { version: '2.0.0', revision: 'abc123', cause: 'AnalysisFailed', trigger: 'errors' },
};

test('a decision becomes a record: the reason is the action, version and revision lifted out of details', () => {
  expect(auditRecordOf(decision, 'cutover-7d9f', 'id-1')).toEqual({
    id: 'id-1',
    time: '2026-12-03T10:00:00.123Z',
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    namespace: 'shop',
    name: 'web',
    uid: 'u-1',
    action: 'AnalysisFailed',
    type: 'Warning',
    message: 'error rate 5% over 1%; traffic is going back to the blue slot',
    version: '2.0.0',
    revision: 'abc123',
    details: { cause: 'AnalysisFailed', trigger: 'errors' },
    operator: 'cutover-7d9f',
  });
});

test('a decision on a kind without versions has none, and empty details', () => {
  const env: Decision = {
    id: '0a1b2c3d4e5f60718293a4b5c6d7e8f9',
    at: '2026-12-03T10:00:00.000Z',
    type: 'Normal',
    reason: 'ConfigChanged',
    message: 'the configuration changed',
    object: { apiVersion: 'cutover.dev/v1alpha1', kind: 'Environment', namespace: 'shop', name: 'prod' },
  };
  const r = auditRecordOf(env);
  expect(r).not.toHaveProperty('version');
  expect(r).not.toHaveProperty('uid');
  expect(r).not.toHaveProperty('operator');
  expect(r.details).toEqual({});
  expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
  expect(auditRecordOf(env).id).not.toBe(r.id);
});

test('the stdout line is one JSON line with audit: true that parses back to the record', () => {
  const r = auditRecordOf(decision, undefined, 'id-2');
  const line = auditLine(r);
  expect(line.endsWith('\n')).toBe(true);
  expect(line.trimEnd()).not.toContain('\n');
  const parsed = JSON.parse(line) as Record<string, unknown>;
  expect(parsed).toMatchObject({ audit: true, level: 'info', msg: 'audit', action: 'AnalysisFailed' });
  expect(parseAuditLine(line)).toEqual(r);
});

test('a message with newlines still makes one line', () => {
  const r = auditRecordOf({ ...decision, message: 'first\nsecond' }, undefined, 'id-3');
  expect(auditLine(r).trimEnd().split('\n')).toHaveLength(1);
});

test('other log lines are not audit records', () => {
  expect(parseAuditLine('{"level":"info","msg":"kubeconfig loaded"}')).toBeUndefined();
  expect(parseAuditLine('{"level":"info","audit":"true"}')).toBeUndefined();
  expect(parseAuditLine('not json')).toBeUndefined();
});

test('NUL and unpaired surrogates, which PostgreSQL refuses, become U+FFFD everywhere; pairs stay', () => {
  const r = auditRecordOf(
    {
      ...decision,
      message: 'migration said a\u0000b, \ud83d\ude80 and a lone \ud83d',
      object: { ...decision.object, name: 'w\u0000eb' },
      details: { version: '2.0.0\u0000', output: 'x\udc00y', ['k\u0000']: 1 },
    },
    'op\u0000',
    'id-4',
  );
  expect(r.message).toBe('migration said a\ufffdb, \ud83d\ude80 and a lone \ufffd');
  expect(r.name).toBe('w\ufffdeb');
  expect(r.version).toBe('2.0.0\ufffd');
  expect(r.operator).toBe('op\ufffd');
  expect(r.details).toEqual({ output: 'x\ufffdy', 'k\ufffd': 1 });
  // What reaches stdout is what reaches the table: no \u0000 or lone-surrogate escape left in the line.
  expect(auditLine(r)).not.toMatch(/\\u0000|\\ud83d"/i);
});
