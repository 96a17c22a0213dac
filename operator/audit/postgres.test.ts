import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { partition } from './partitions.js';
import { AUDIT_SCHEMA, createPartitionStatement, insertStatement } from './postgres.js';
import type { AuditRecord } from './record.js';

const docs = readFileSync(join(import.meta.dirname, '../../docs/audit.md'), 'utf8');

test('docs/audit.md shows the DDL the operator runs, exactly', () => {
  expect(docs).toContain(`\`\`\`sql\n${AUDIT_SCHEMA}\n\`\`\``);
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
  const r: AuditRecord = {
    id: 'i1',
    time: '2026-12-03T10:00:00.000Z',
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Environment',
    namespace: 'shop',
    name: 'prod',
    action: 'ConfigChanged',
    type: 'Normal',
    message: 'm',
    details: { from: 'a', to: 'b' },
  };
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
