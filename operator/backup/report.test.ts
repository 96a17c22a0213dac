import { parseReport, reportText } from './report.js';

describe('backup reports', () => {
  test('round-trip through the termination message', () => {
    const text = reportText({ kind: 'full', ok: true, id: '20261202T000000Z', size: 10 });
    expect(parseReport(text)).toEqual({ kind: 'full', ok: true, id: '20261202T000000Z', size: 10 });
  });

  test('a report over 4 KiB drops its detail, not its outcome', () => {
    const text = reportText({ kind: 'prune', ok: false, error: 'x', detail: { deleted: 'y'.repeat(5000) } });
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4096);
    expect(parseReport(text)).toMatchObject({ kind: 'prune', ok: false, error: 'x', truncated: true });
  });

  test('anything else is not a report', () => {
    expect(parseReport('Error: boom')).toBeUndefined();
    expect(parseReport('{"ok":true}')).toBeUndefined();
    expect(parseReport(undefined)).toBeUndefined();
  });
});
