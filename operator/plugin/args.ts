// Command line of kubectl-cutover. kubectl hands a plugin its arguments
// verbatim, so flags may come before or after the command and release.
import type { RestoreRequest } from '../backup/objects.js';
import { isRfc3339 } from '../backup/pitr.js';
import { parseDuration } from '../runtime/duration.js';
import type { Since } from './audit.js';
import { parseArgs } from 'node:util';

export type { RestoreRequest };

export const COMMANDS = [
  'status',
  'promote',
  'abort',
  'retry',
  'approve',
  'history',
  'backup',
  'restore',
  'audit',
] as const;
export type Command = (typeof COMMANDS)[number];

export interface Invocation {
  command: Command;
  release: string;
  namespace?: string;
  kubeconfig?: string;
  output?: 'json';
  /** restore: where to and to when. */
  restore?: RestoreRequest;
  /** audit: from when, and the database (else $CUTOVER_AUDIT_DATABASE_URL). */
  audit?: { since?: Since; databaseUrl?: string };
}

export type Parsed =
  { kind: 'run'; invocation: Invocation } | { kind: 'help' } | { kind: 'usage'; error?: string };

export const USAGE = `Usage: kubectl cutover <command> <release> [flags]

Commands:
  status <release>     Show the rollout: versions, phase, traffic steps, migrations, analysis, conditions
  promote <release>    Ask the operator to skip the remaining traffic steps and promote
  abort <release>      Ask the operator to abort the rollout and return traffic to the stable slot
  retry <release>      Ask the operator to retry a Failed or RolledBack rollout
  approve <release>    Approve the revision the Release specifies, as the user the cluster
                       authenticates (cutover.dev/approved-by)
  history <release>    List finished rollouts, newest first
  backup now <policy>  Start a full backup from the BackupPolicy's CronJob and follow it
  restore <policy>     Start a restore Job and follow it: point-in-time into a new data directory
                       on a claim (--pgdata CLAIM[:PATH]), or the newest dump into an existing
                       database (--target SECRET:KEY, the key holding its URL)
  audit <release>      The Release's audit trail, oldest first, from the operator's PostgreSQL
                       table (connection: --database-url, else $CUTOVER_AUDIT_DATABASE_URL,
                       else PGHOST and the other PG* variables)

Flags:
  -n, --namespace NS     Namespace of the Release (default: the kubeconfig context's, else "default")
      --kubeconfig PATH  Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
  -o, --output json      status, history, audit: print the raw status (history, records) as JSON
      --since WHEN       audit: records from a duration ago (24h, 7d) or an RFC 3339 time on
      --database-url URL audit: the audit database (it shows in ps: prefer the env var)
      --to-time RFC3339  restore: the point in time to recover to
      --to-lsn LSN       restore: the WAL position to recover to
      --latest           restore: everything stored (the default)
      --pgdata CLAIM[:PATH]  restore: a new data directory PATH (default pgdata) on the claim
      --target SECRET:KEY    restore: a logical restore into the database whose URL the Secret holds
      --in-place         restore: allow --target to be the backed-up database itself
  -h, --help             Show this help
`;

// --as NAME once let anyone claim to be anyone. Still parsed, to say why it is gone.
const NO_AS =
  '--as is gone: approvals record the user your kubeconfig credentials authenticate as ' +
  '(kubectl auth whoami); to act as someone else, use kubectl impersonation in the kubeconfig ' +
  '(the "as" field of its user entry), which the cluster authorizes';

export function parse(argv: readonly string[]): Parsed {
  let values: {
    namespace?: string;
    kubeconfig?: string;
    output?: string;
    as?: string;
    help?: boolean;
    'to-time'?: string;
    'to-lsn'?: string;
    latest?: boolean;
    pgdata?: string;
    target?: string;
    'in-place'?: boolean;
    since?: string;
    'database-url'?: string;
  };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        namespace: { type: 'string', short: 'n' },
        kubeconfig: { type: 'string' },
        output: { type: 'string', short: 'o' },
        as: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        'to-time': { type: 'string' },
        'to-lsn': { type: 'string' },
        latest: { type: 'boolean' },
        pgdata: { type: 'string' },
        target: { type: 'string' },
        'in-place': { type: 'boolean' },
        since: { type: 'string' },
        'database-url': { type: 'string' },
      },
    }));
  } catch (err) {
    // parseArgs phrases its errors for the author of the parser ("To
    // specify a positional argument starting with a '-' ..."); keep the
    // first sentence.
    // Duck-typed: the error may come from another realm (jest's VM modules).
    const message =
      typeof err === 'object' && err !== null && 'message' in err ? String(err.message) : String(err);
    return { kind: 'usage', error: message.split(/\.\s/)[0] ?? message };
  }

  if (values.help || positionals[0] === 'help') return { kind: 'help' };
  // `backup now <policy>`: the verb is two words.
  if (positionals[0] === 'backup') {
    if (positionals[1] !== 'now') return { kind: 'usage', error: 'backup takes "now <policy>"' };
    positionals.splice(1, 1);
  }
  const restoreFlags = ['to-time', 'to-lsn', 'latest', 'pgdata', 'target', 'in-place'] as const;
  const usedRestoreFlag = restoreFlags.find((f) => values[f] !== undefined);
  if (usedRestoreFlag && positionals[0] !== 'restore')
    return {
      kind: 'usage',
      error: `--${usedRestoreFlag} applies to restore, not ${positionals[0] ?? 'nothing'}`,
    };
  const auditFlag = (['since', 'database-url'] as const).find((f) => values[f] !== undefined);
  if (auditFlag && positionals[0] !== 'audit')
    return { kind: 'usage', error: `--${auditFlag} applies to audit, not ${positionals[0] ?? 'nothing'}` };
  const [command, release, ...extra] = positionals;
  if (command === undefined) return { kind: 'usage' };
  if (!isCommand(command)) return { kind: 'usage', error: `unknown command "${command}"` };
  if (release === undefined || release === '') {
    const what = command === 'backup' || command === 'restore' ? 'BackupPolicy' : 'Release';
    return { kind: 'usage', error: `${command} needs the name of a ${what}` };
  }
  if (extra.length > 0) return { kind: 'usage', error: `unexpected argument "${extra.join(' ')}"` };
  if (values.output !== undefined) {
    if (values.output !== 'json')
      return { kind: 'usage', error: `unsupported output format "${values.output}"` };
    if (command !== 'status' && command !== 'history' && command !== 'audit') {
      return { kind: 'usage', error: `-o/--output applies to status, history and audit, not ${command}` };
    }
  }
  if (values.as !== undefined) return { kind: 'usage', error: NO_AS };
  if (values.namespace === '') return { kind: 'usage', error: 'the namespace must not be empty' };

  const invocation: Invocation = { command, release };
  if (command === 'restore') {
    const restore = restoreRequest(values);
    if (typeof restore === 'string') return { kind: 'usage', error: restore };
    invocation.restore = restore;
  }
  if (command === 'audit') {
    const since = values.since === undefined ? undefined : parseSince(values.since);
    if (typeof since === 'string') return { kind: 'usage', error: since };
    invocation.audit = {
      ...(since ? { since } : {}),
      ...(values['database-url'] !== undefined ? { databaseUrl: values['database-url'] } : {}),
    };
  }
  if (values.namespace !== undefined) invocation.namespace = values.namespace;
  if (values.kubeconfig !== undefined) invocation.kubeconfig = values.kubeconfig;
  if (values.output === 'json') invocation.output = 'json';
  return { kind: 'run', invocation };
}

/** 24h, 7d, 1h30m back from now, or an RFC 3339 instant; a string is the usage error. */
function parseSince(text: string): Since | string {
  if (isRfc3339(text)) return { at: new Date(text).toISOString() };
  // Meant as a time: say what one looks like (seconds and a zone), not that it is no duration.
  if (/^\d{4}-\d\d-\d\dT/i.test(text))
    return `--since "${text}" is not an RFC 3339 time such as 2026-12-02T10:30:00Z`;
  try {
    return { agoMs: parseDuration(text) };
  } catch {
    return `--since "${text}" is neither a duration (24h, 7d) nor an RFC 3339 time`;
  }
}

function isCommand(s: string): s is Command {
  return (COMMANDS as readonly string[]).includes(s);
}

function restoreRequest(v: {
  'to-time'?: string;
  'to-lsn'?: string;
  latest?: boolean;
  pgdata?: string;
  target?: string;
  'in-place'?: boolean;
}): RestoreRequest | string {
  const points = [v['to-time'], v['to-lsn'], v.latest].filter((x) => x !== undefined);
  if (points.length > 1) return 'give one of --to-time, --to-lsn and --latest';
  if ((v.pgdata === undefined) === (v.target === undefined))
    return 'restore needs exactly one of --pgdata CLAIM[:PATH] and --target SECRET:KEY';
  let point: RestoreRequest['point'] = { latest: true };
  if (v['to-time'] !== undefined) {
    if (!isRfc3339(v['to-time']))
      return `--to-time "${v['to-time']}" is not an RFC 3339 time such as 2026-12-02T10:30:00Z`;
    point = { toTime: v['to-time'] };
  } else if (v['to-lsn'] !== undefined) {
    if (!/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(v['to-lsn']))
      return `--to-lsn "${v['to-lsn']}" is not an LSN such as 0/3000060`;
    point = { toLsn: v['to-lsn'] };
  }
  if (v.pgdata !== undefined) {
    if (v['in-place']) return '--in-place applies to --target, not --pgdata';
    const [claim = '', path = 'pgdata', ...rest] = v.pgdata.split(':');
    if (
      !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(claim) ||
      rest.length > 0 ||
      !/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(path) ||
      path.split('/').includes('..')
    )
      return `--pgdata "${v.pgdata}" is not CLAIM[:PATH] (a claim name, then a relative path)`;
    return { target: { pgdata: { claim, path } }, point, inPlace: false };
  }
  if ('latest' in point === false)
    return '--to-time and --to-lsn apply to --pgdata: a dump restores as it was taken';
  const [name = '', key = '', ...rest] = (v.target ?? '').split(':');
  if (!name || !key || rest.length > 0) return `--target "${v.target ?? ''}" is not SECRET:KEY`;
  return { target: { secret: { name, key } }, point, inPlace: v['in-place'] === true };
}
