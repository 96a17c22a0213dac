import { createLogger } from '../runtime/log.js';
import { OperatorMetrics } from '../runtime/metrics.js';
import { auditConfig, startAuditTrail } from './index.js';

test('defaults: stdout only, 365 days, 10,000 records', () => {
  expect(auditConfig({})).toEqual({ retentionDays: 365, bufferSize: 10_000 });
  // An empty URL (an optional Secret key that is absent) is no database.
  expect(auditConfig({ databaseUrl: '' })).toEqual({ retentionDays: 365, bufferSize: 10_000 });
  expect(auditConfig({ databaseUrl: 'postgres://a@b/c', retentionDays: '30', bufferSize: '50' })).toEqual({
    databaseUrl: 'postgres://a@b/c',
    retentionDays: 30,
    bufferSize: 50,
  });
});

test('a retention or a bound that is not a whole number above 0 is refused', () => {
  for (const bad of ['0', '-1', '1.5', 'a year', ''])
    expect(() => auditConfig({ retentionDays: bad })).toThrow(/--audit-retention-days/);
  expect(() => auditConfig({ bufferSize: '0' })).toThrow(/--audit-buffer-size/);
});

test('the trail starts with both sinks exported at 0, and says whether a database is used, never which', async () => {
  const logs: string[] = [];
  const log = createLogger('info', {
    write: (s: string) => logs.push(s),
  } as unknown as NodeJS.WritableStream);
  const metrics = new OperatorMetrics({ processMetrics: false });
  const trail = startAuditTrail(
    { databaseUrl: 'postgres://cutover:s3cret-pass@127.0.0.1:1/audit', retentionDays: 365, bufferSize: 10 },
    { log, metrics, installation: 'cutover-system/cutover-operator' },
  );
  await trail.stop(0);
  const text = await metrics.registry.metrics();
  expect(text).toContain('cutover_audit_records_total{sink="stdout"} 0');
  expect(text).toContain('cutover_audit_records_total{sink="postgres"} 0');
  expect(logs.join('')).toContain('"postgres":true');
  expect(logs.join('')).not.toContain('s3cret-pass');
});
