// Test support (excluded from the build): an audit record for the tests of
// the table, the trail and the plugin, each setting what it looks at.
import type { AuditRecord } from './record.js';

/** A Release's record with only the required fields; `o` sets the rest. */
export const auditRecord = (o: Partial<AuditRecord> = {}): AuditRecord => ({
  id: '00000000-0000-4000-8000-000000000001',
  time: '2026-12-03T10:00:00.000Z',
  apiVersion: 'cutover.dev/v1alpha1',
  kind: 'Release',
  namespace: 'shop',
  name: 'web',
  action: 'RolloutStarted',
  type: 'Normal',
  message: 'm',
  details: {},
  ...o,
});
