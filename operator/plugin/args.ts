// Command line of kubectl-cutover. kubectl hands a plugin its arguments
// verbatim, so flags may come before or after the command and release.
import { parseArgs } from 'node:util';

export const COMMANDS = ['status', 'promote', 'abort', 'retry', 'approve', 'history'] as const;
export type Command = (typeof COMMANDS)[number];

export interface Invocation {
  command: Command;
  release: string;
  namespace?: string;
  kubeconfig?: string;
  output?: 'json';
  as?: string;
}

export type Parsed =
  { kind: 'run'; invocation: Invocation } | { kind: 'help' } | { kind: 'usage'; error?: string };

export const USAGE = `Usage: kubectl cutover <command> <release> [flags]

Commands:
  status <release>     Show the rollout: versions, phase, traffic steps, migrations, analysis, conditions
  promote <release>    Ask the operator to skip the remaining traffic steps and promote
  abort <release>      Ask the operator to abort the rollout and return traffic to the stable slot
  retry <release>      Ask the operator to retry a Failed or RolledBack rollout
  approve <release>    Add an approver to cutover.dev/approved-by (--as NAME)
  history <release>    List finished rollouts, newest first

Flags:
  -n, --namespace NS     Namespace of the Release (default: the kubeconfig context's, else "default")
      --kubeconfig PATH  Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
  -o, --output json      status, history: print the raw status (or history) as JSON
      --as NAME          approve: who approves (default: the kubeconfig user)
  -h, --help             Show this help
`;

export function parse(argv: readonly string[]): Parsed {
  let values: { namespace?: string; kubeconfig?: string; output?: string; as?: string; help?: boolean };
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
  const [command, release, ...extra] = positionals;
  if (command === undefined) return { kind: 'usage' };
  if (!isCommand(command)) return { kind: 'usage', error: `unknown command "${command}"` };
  if (release === undefined || release === '') {
    return { kind: 'usage', error: `${command} needs the name of a Release` };
  }
  if (extra.length > 0) return { kind: 'usage', error: `unexpected argument "${extra.join(' ')}"` };
  if (values.output !== undefined) {
    if (values.output !== 'json')
      return { kind: 'usage', error: `unsupported output format "${values.output}"` };
    if (command !== 'status' && command !== 'history') {
      return { kind: 'usage', error: `-o/--output applies to status and history, not ${command}` };
    }
  }
  if (values.as !== undefined) {
    if (command !== 'approve') return { kind: 'usage', error: `--as applies to approve, not ${command}` };
    const problem = approverProblem(values.as);
    if (problem) return { kind: 'usage', error: problem };
  }
  if (values.namespace === '') return { kind: 'usage', error: 'the namespace must not be empty' };

  const invocation: Invocation = { command, release };
  if (values.namespace !== undefined) invocation.namespace = values.namespace;
  if (values.kubeconfig !== undefined) invocation.kubeconfig = values.kubeconfig;
  if (values.output === 'json') invocation.output = 'json';
  if (values.as !== undefined) invocation.as = values.as.trim();
  return { kind: 'run', invocation };
}

function isCommand(s: string): s is Command {
  return (COMMANDS as readonly string[]).includes(s);
}

/** Why a name cannot go into the comma-separated approved-by list, if it cannot. */
export function approverProblem(name: string): string | undefined {
  if (name.trim() === '') return 'the approver name must not be empty';
  if (name.includes(',')) return `the approver name "${name}" must not contain a comma`;
  return undefined;
}

/**
 * The approved-by value with `name` added, or undefined when it is already
 * there. Existing entries are kept as the operator wrote or read them, minus
 * blanks and repeats, so one approver never counts twice.
 */
export function addApprover(current: string | undefined, name: string): string | undefined {
  const approvers = [
    ...new Set(
      (current ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
  if (approvers.includes(name)) return undefined;
  return [...approvers, name].join(',');
}
