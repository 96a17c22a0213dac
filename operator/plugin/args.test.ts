import { describe, expect, it } from '@jest/globals';
import { parse } from './args.js';

describe('parse', () => {
  it('takes flags before or after the command, in short, long and = forms', () => {
    expect(parse(['status', 'web', '-n', 'shop'])).toEqual({
      kind: 'run',
      invocation: { command: 'status', release: 'web', namespace: 'shop' },
    });
    expect(parse(['--namespace=shop', '--kubeconfig', '/tmp/kc', 'status', 'web', '-o', 'json'])).toEqual({
      kind: 'run',
      invocation: {
        command: 'status',
        release: 'web',
        namespace: 'shop',
        kubeconfig: '/tmp/kc',
        output: 'json',
      },
    });
    expect(parse(['approve', 'web'])).toEqual({
      kind: 'run',
      invocation: { command: 'approve', release: 'web' },
    });
  });

  it('asks for help without an error', () => {
    expect(parse(['--help'])).toEqual({ kind: 'help' });
    expect(parse(['help'])).toEqual({ kind: 'help' });
    expect(parse(['status', 'web', '-h'])).toEqual({ kind: 'help' });
  });

  it('rejects misuse with a reason', () => {
    expect(parse([])).toEqual({ kind: 'usage' });
    expect(parse(['frob', 'web'])).toEqual({ kind: 'usage', error: 'unknown command "frob"' });
    expect(parse(['promote'])).toEqual({ kind: 'usage', error: 'promote needs the name of a Release' });
    expect(parse(['abort', 'web', 'api'])).toEqual({ kind: 'usage', error: 'unexpected argument "api"' });
    expect(parse(['status', 'web', '-o', 'yaml'])).toEqual({
      kind: 'usage',
      error: 'unsupported output format "yaml"',
    });
    expect(parse(['promote', 'web', '-o', 'json'])).toEqual({
      kind: 'usage',
      error: '-o/--output applies to status, history and audit, not promote',
    });
    expect(parse(['status', 'web', '--watch'])).toEqual({ kind: 'usage', error: "Unknown option '--watch'" });
  });
});

describe('--as', () => {
  it('is refused wherever it appears, pointing at kubeconfig impersonation', () => {
    for (const argv of [
      ['approve', 'web', '--as', 'alice'],
      ['--as=alice', 'approve', 'web'],
      ['promote', 'web', '--as', 'bob'],
    ]) {
      const parsed = parse(argv);
      expect(parsed.kind).toBe('usage');
      const error = (parsed as { error?: string }).error ?? '';
      expect(error).toMatch(/^--as is gone: approvals record the user your kubeconfig credentials/);
      expect(error).toContain('"as" field of its user entry');
    }
  });
});

describe('backup now and restore', () => {
  const run = (argv: string[]) => {
    const p = parse(argv);
    return p.kind === 'run' ? p.invocation : p;
  };

  test('backup now <policy>', () => {
    expect(run(['backup', 'now', 'nightly', '-n', 'shop'])).toEqual({
      command: 'backup',
      release: 'nightly',
      namespace: 'shop',
    });
    expect(run(['backup', 'nightly'])).toEqual({ kind: 'usage', error: 'backup takes "now <policy>"' });
    expect(run(['backup', 'now'])).toEqual({
      kind: 'usage',
      error: 'backup needs the name of a BackupPolicy',
    });
  });

  test('restore to a point in time into a claim, or a dump into a database', () => {
    expect(
      run(['restore', 'nightly', '--to-time', '2026-12-02T10:30:00Z', '--pgdata', 'restored:data/v1']),
    ).toMatchObject({
      restore: {
        target: { pgdata: { claim: 'restored', path: 'data/v1' } },
        point: { toTime: '2026-12-02T10:30:00Z' },
        inPlace: false,
      },
    });
    expect(run(['restore', 'nightly', '--pgdata', 'restored'])).toMatchObject({
      restore: { target: { pgdata: { claim: 'restored', path: 'pgdata' } }, point: { latest: true } },
    });
    expect(run(['restore', 'nightly', '--target', 'scratch-db:url', '--in-place'])).toMatchObject({
      restore: { target: { secret: { name: 'scratch-db', key: 'url' } }, inPlace: true },
    });
  });

  test('bad restore input is refused before anything is created', () => {
    const error = (argv: string[]) => (parse(argv) as { error?: string }).error;
    expect(error(['restore', 'nightly'])).toMatch(/exactly one of --pgdata/);
    expect(error(['restore', 'nightly', '--pgdata', 'a', '--target', 's:k'])).toMatch(
      /exactly one of --pgdata/,
    );
    expect(error(['restore', 'nightly', '--pgdata', 'a', '--to-time', 'yesterday'])).toMatch(
      /not an RFC 3339 time/,
    );
    expect(error(['restore', 'nightly', '--pgdata', 'a', '--to-lsn', '0/1', '--latest'])).toMatch(
      /one of --to-time/,
    );
    expect(error(['restore', 'nightly', '--pgdata', 'a:../etc'])).toMatch(/not CLAIM\[:PATH\]/);
    expect(error(['restore', 'nightly', '--target', 's:k', '--to-time', '2026-12-02T10:30:00Z'])).toMatch(
      /apply to --pgdata/,
    );
    expect(error(['status', 'web', '--latest'])).toBe('--latest applies to restore, not status');
  });
});
