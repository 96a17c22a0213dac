import { describe, expect, it } from '@jest/globals';
import type { AuditRecord } from '../audit/record.js';
import { auditRecord } from '../audit/record.testkit.js';
import { parse } from './args.js';
import { auditDatabaseUrl, renderAudit, sinceInstant } from './audit.js';

const rec = (time: string, action: string, o: Partial<AuditRecord> = {}) =>
  auditRecord({ id: `id-${action}`, time, action, message: `${action} message`, version: '2.0.0', ...o });

describe('audit arguments', () => {
  it('takes --since as a duration or an RFC 3339 time, and --database-url', () => {
    expect(parse(['audit', 'web', '--since', '24h', '-n', 'shop'])).toEqual({
      kind: 'run',
      invocation: {
        command: 'audit',
        release: 'web',
        namespace: 'shop',
        audit: { since: { agoMs: 86_400_000 } },
      },
    });
    expect(parse(['audit', 'web', '--since=2026-12-01T10:00:00+01:00', '-o', 'json'])).toEqual({
      kind: 'run',
      invocation: {
        command: 'audit',
        release: 'web',
        output: 'json',
        audit: { since: { at: '2026-12-01T09:00:00.000Z' } },
      },
    });
    expect(parse(['audit', 'web', '--database-url', 'postgres://a@b/c'])).toMatchObject({
      invocation: { audit: { databaseUrl: 'postgres://a@b/c' } },
    });
  });

  it('refuses a --since it cannot read, and audit flags on other commands', () => {
    expect(parse(['audit', 'web', '--since', 'yesterday'])).toEqual({
      kind: 'usage',
      error: '--since "yesterday" is neither a duration (24h, 7d) nor an RFC 3339 time',
    });
    expect(parse(['audit', 'web', '--since', '2026-12-01T10:00:00'])).toMatchObject({ kind: 'usage' });
    expect(parse(['audit', 'web', '--since', '2026-12-02T10:30Z'])).toEqual({
      kind: 'usage',
      error: '--since "2026-12-02T10:30Z" is not an RFC 3339 time such as 2026-12-02T10:30:00Z',
    });
    expect(parse(['status', 'web', '--since', '1h'])).toEqual({
      kind: 'usage',
      error: '--since applies to audit, not status',
    });
    expect(parse(['audit'])).toEqual({ kind: 'usage', error: 'audit needs the name of a Release' });
  });
});

describe('audit connection and time', () => {
  it('a flag wins over the env var the operator reads', () => {
    const env = { CUTOVER_AUDIT_DATABASE_URL: 'postgres://env' };
    expect(auditDatabaseUrl('postgres://flag', env)).toBe('postgres://flag');
    expect(auditDatabaseUrl(undefined, env)).toBe('postgres://env');
    expect(auditDatabaseUrl(undefined, {})).toBeUndefined();
  });

  it('--since is an instant: a duration counts back from now', () => {
    const now = new Date('2026-12-03T10:00:00Z');
    expect(sinceInstant({ agoMs: 3_600_000 }, now)).toEqual(new Date('2026-12-03T09:00:00Z'));
    expect(sinceInstant({ at: '2026-12-01T00:00:00.000Z' }, now)).toEqual(new Date('2026-12-01T00:00:00Z'));
  });
});

describe('renderAudit', () => {
  const q = { namespace: 'shop', release: 'web' };

  it('a table, oldest first as given, details as key=value', () => {
    const out = renderAudit(
      [
        rec('2026-12-03T10:00:00.000Z', 'RolloutStarted'),
        rec('2026-12-03T10:05:00.000Z', 'Approved', { details: { approver: 'alice' } }),
        rec('2026-12-03T10:06:00.000Z', 'Aborted', { type: 'Warning', details: { cause: 'Aborted' } }),
      ],
      q,
      { color: false },
    );
    expect(out).toBe(
      [
        'TIME                   ACTION           VERSION   DETAILS          MESSAGE',
        '2026-12-03T10:00:00Z   RolloutStarted   2.0.0     -                RolloutStarted message',
        '2026-12-03T10:05:00Z   Approved         2.0.0     approver=alice   Approved message',
        '2026-12-03T10:06:00Z   Aborted          2.0.0     cause=Aborted    Aborted message',
        '',
      ].join('\n'),
    );
  });

  it('warnings in colour on a terminal', () => {
    const out = renderAudit([rec('2026-12-03T10:06:00.000Z', 'Aborted', { type: 'Warning' })], q, {
      color: true,
    });
    expect(out).toContain('\x1b[33mAborted\x1b[0m');
  });

  it('says so when there is nothing', () => {
    expect(renderAudit([], { ...q, since: new Date('2026-12-01T00:00:00Z') }, { color: false })).toBe(
      'No audit records for release "web" in namespace "shop" since 2026-12-01T00:00:00Z.\n',
    );
  });
});
