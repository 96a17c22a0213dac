// The flags of `cutover migrate`. Parsing is pure: a bad combination is a
// usage error before anything is read or connected to.
import { parseArgs } from 'node:util';
import type { Phase } from './lint.js';
import { REVISION } from './migrate/history.js';

export const migrateUsage = `usage: cutover migrate --dir DIR [--phase expand|contract] [--dry-run] [--revision R]
                      [--down N | --down-revision R] [--lint-only]

Applies DIR's NNN_name.up.sql files that are not yet in cutover_schema_migrations,
each in a transaction of its own, under an advisory lock. DATABASE_URL names the database.

  --dir DIR        the migration files (a mounted ConfigMap works as is)
  --phase PHASE    expand (default: destructive statements are refused) or contract
  --dry-run        run the pending files in one transaction and roll it back
  --revision R     record Release revision R with each version applied
                   (default: $CUTOVER_REVISION; R: a-z, 0-9 and -, at most 64)
  --down N         run the down files of the last N applied migrations, newest first
  --down-revision R
                   run the down files of the migrations revision R applied, newest
                   first; when there are none, that is success
  --lint-only      lint every up file of DIR for PHASE; no database needed

exit codes: 0 ok, 1 failed, 2 usage,
  3 refused (lint, changed checksum, invalid migration set, missing down file)
`;

export interface Flags {
  dir: string;
  phase: Phase;
  dryRun: boolean;
  down: number | undefined;
  downRevision: string | undefined;
  lintOnly: boolean;
  /** Only when applying: the revision to record. */
  revision: string | undefined;
}

export function parseFlags(args: string[], env: NodeJS.ProcessEnv = {}): Flags | 'help' {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      phase: { type: 'string', default: 'expand' },
      'dry-run': { type: 'boolean', default: false },
      down: { type: 'string' },
      'down-revision': { type: 'string' },
      'lint-only': { type: 'boolean', default: false },
      revision: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new Error(`unexpected argument '${positionals[0] ?? ''}'`);
  if (!values.dir) throw new Error('--dir is required');
  const phase = values.phase;
  if (phase !== 'expand' && phase !== 'contract')
    throw new Error(`--phase must be expand or contract, got '${phase}'`);
  let down: number | undefined;
  if (values.down !== undefined) {
    down = /^\d+$/.test(values.down) ? Number(values.down) : NaN;
    if (!(Number.isSafeInteger(down) && down > 0)) {
      throw new Error(`--down must be a positive integer, got '${values.down}'`);
    }
  }
  const downRevision =
    values['down-revision'] === undefined
      ? undefined
      : checkedRevision('--down-revision', values['down-revision']);
  if (down !== undefined && downRevision !== undefined) {
    throw new Error('--down and --down-revision cannot be combined');
  }
  const rollingBack = down !== undefined || downRevision !== undefined;
  if (values['lint-only'] && (values['dry-run'] || rollingBack)) {
    throw new Error('--lint-only cannot be combined with --dry-run, --down or --down-revision');
  }
  const applying = !values['lint-only'] && !rollingBack;
  if (!applying && values.revision !== undefined) {
    throw new Error(
      '--revision is recorded when applying; it cannot be combined with --down, --down-revision or --lint-only',
    );
  }
  return {
    dir: values.dir,
    phase,
    dryRun: values['dry-run'],
    down,
    downRevision,
    lintOnly: values['lint-only'],
    revision: applying ? revisionFrom(values.revision, env) : undefined,
  };
}

/**
 * The Job's environment may carry the revision for every mode, so the
 * variable is only read when applying; an empty one counts as unset.
 */
function revisionFrom(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag !== undefined) return checkedRevision('--revision', flag);
  const fromEnv = env.CUTOVER_REVISION;
  return fromEnv ? checkedRevision('CUTOVER_REVISION', fromEnv) : undefined;
}

function checkedRevision(source: string, value: string): string {
  if (!REVISION.test(value)) {
    throw new Error(`${source} must be at most 64 of a-z, 0-9 and -, not starting with -, got '${value}'`);
  }
  return value;
}
