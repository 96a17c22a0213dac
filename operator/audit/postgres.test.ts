import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { partition } from './partitions.js';
import {
  AUDIT_SCHEMA,
  AuditStoreError,
  PARTITION_GUARD,
  createPartitionStatement,
  insertStatement,
  isMissingTable,
  isRefusedData,
  recordOfRow,
} from './postgres.js';
import { auditRecord } from './record.testkit.js';

const docs = readFileSync(join(import.meta.dirname, '../../docs/audit.md'), 'utf8');

test('docs/audit.md shows the DDL the operator runs, exactly', () => {
  expect(docs).toContain(`\`\`\`sql\n${AUDIT_SCHEMA}\n\`\`\``);
  expect(docs).toContain(`\`\`\`sql\n${PARTITION_GUARD}\n\`\`\``);
  expect(docs).toContain(
    createPartitionStatement(partition({ year: 2026, month: 12 })).replace(' FOR VALUES', '\n  FOR VALUES'),
  );
});

test("a partition's DDL is bounded by its UTC month", () => {
  expect(createPartitionStatement(partition({ year: 2027, month: 2 }))).toBe(
    "CREATE TABLE IF NOT EXISTS cutover_audit_y2027m02 PARTITION OF cutover_audit FOR VALUES FROM ('2027-02-01T00:00:00.000Z') TO ('2027-03-01T00:00:00.000Z')",
  );
});

test('a batch is one INSERT with a parameter per column, absent fields as NULL, idempotent on conflict', () => {
  const r = auditRecord({
    id: 'i1',
    kind: 'Environment',
    name: 'prod',
    action: 'ConfigChanged',
    details: { from: 'a', to: 'b' },
  });
  const s = insertStatement([r, { ...r, id: 'i2' }]);
  expect(s.text).toMatch(
    /^INSERT INTO cutover_audit \(id, time, .* operator\) VALUES \(\$1, .*\$14\), \(\$15, .*\$28\) ON CONFLICT DO NOTHING$/,
  );
  expect(s.values).toHaveLength(28);
  expect(s.values.slice(0, 14)).toEqual([
    'i1',
    '2026-12-03T10:00:00.000Z',
    'cutover.dev/v1alpha1',
    'Environment',
    'shop',
    'prod',
    null,
    'ConfigChanged',
    'Normal',
    'm',
    null,
    null,
    '{"from":"a","to":"b"}',
    null,
  ]);
});

test('a row read back becomes the documented record, without the columns it leaves empty', () => {
  const r = recordOfRow({
    id: 'i',
    time: new Date('2026-12-03T10:00:00.123Z'),
    api_version: 'cutover.dev/v1alpha1',
    kind: 'Release',
    namespace: 'shop',
    name: 'web',
    uid: null,
    action: 'Approved',
    type: 'Normal',
    message: 'alice approved',
    version: '2.0.0',
    revision: null,
    details: { approver: 'alice' },
    operator: null,
  });
  expect(r).toEqual({
    id: 'i',
    time: '2026-12-03T10:00:00.123Z',
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    namespace: 'shop',
    name: 'web',
    action: 'Approved',
    type: 'Normal',
    message: 'alice approved',
    version: '2.0.0',
    details: { approver: 'alice' },
  });
});

test('what a failed write means: data PostgreSQL refuses, a table that is gone, or neither', () => {
  const e = (code: string, message = 'm') => new AuditStoreError(message, code);
  // Data: NUL in text, a bad escape in jsonb, a NOT NULL column, a value too long.
  for (const code of ['22021', '22P05', '22P02', '23502', '22001']) {
    expect(isRefusedData(e(code))).toBe(true);
    expect(isMissingTable(e(code))).toBe(false);
  }
  // Gone: the table, or the partition a row needs (a check violation on the partition bound).
  for (const err of [e('42P01'), e('23514', 'no partition of relation "cutover_audit" found for row')]) {
    expect(isMissingTable(err)).toBe(true);
    expect(isRefusedData(err)).toBe(false);
  }
  // Neither: a connection refused, a timeout, a lock timeout.
  for (const err of [new Error('connect ECONNREFUSED'), e('57014'), e('55P03'), e('08006')]) {
    expect(isRefusedData(err)).toBe(false);
    expect(isMissingTable(err)).toBe(false);
  }
});
