// `cutover migrate`: the entry point of the migration Job. Progress goes to
// stdout; a failure is one line on stderr and in the Kubernetes termination
// message, which the operator copies into the Release's condition.
import { open } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadMigrationSet, MigrationSetError, type Migration } from './files.js';
import { destructiveFindings, lintMigration, type Finding, type Phase } from './lint.js';
import { migrate, MigrateError, scrubberFor, type MigrateSummary } from './migrate.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, refused: 3 } as const;

export const migrateUsage = `usage: cutover migrate --dir DIR [--phase expand|contract] [--dry-run] [--down N] [--lint-only]

Applies DIR's NNN_name.up.sql files that are not yet in cutover_schema_migrations,
each in a transaction of its own, under an advisory lock. DATABASE_URL names the database.

  --dir DIR        the migration files (a mounted ConfigMap works as is)
  --phase PHASE    expand (default: destructive statements are refused) or contract
  --dry-run        run the pending files in one transaction and roll it back
  --down N         run the down files of the last N applied migrations, newest first
  --lint-only      lint every up file of DIR for PHASE; no database needed

exit codes: 0 ok, 1 failed, 2 usage, 3 refused (lint, changed checksum, invalid migration set)
`;

export interface MigrateCommandIO {
  env: NodeJS.ProcessEnv;
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

const defaultIO: MigrateCommandIO = {
  env: process.env,
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
};

interface Flags {
  dir: string;
  phase: Phase;
  dryRun: boolean;
  down: number | undefined;
  lintOnly: boolean;
}

export async function runMigrateCommand(args: string[], io: MigrateCommandIO = defaultIO): Promise<number> {
  let flags: Flags | 'help';
  try {
    flags = parseFlags(args);
  } catch (err) {
    io.stderr(`cutover migrate: ${err instanceof Error ? err.message : String(err)}`);
    io.stderr(migrateUsage.trimEnd());
    return EXIT.usage;
  }
  if (flags === 'help') {
    io.stdout(migrateUsage.trimEnd());
    return EXIT.ok;
  }

  const url = io.env.DATABASE_URL;
  if (!flags.lintOnly && !url) {
    io.stderr('cutover migrate: DATABASE_URL is not set');
    return EXIT.usage;
  }
  const scrub = scrubberFor(url ?? '');
  const fail = async (code: number, message: string): Promise<number> => {
    const line = `cutover migrate: ${scrub(message).replace(/\s*\n\s*/g, ' ')}`;
    io.stderr(line);
    await writeTerminationMessage(io.env.CUTOVER_TERMINATION_LOG ?? '/dev/termination-log', line);
    return code;
  };

  let migrations: Migration[];
  try {
    migrations = await loadMigrationSet(flags.dir);
  } catch (err) {
    if (err instanceof MigrationSetError) return fail(EXIT.refused, `invalid migration set: ${err.message}`);
    return fail(EXIT.failed, `cannot read ${flags.dir}: ${err instanceof Error ? err.message : String(err)}`);
  }

  if (flags.lintOnly) return lintOnly(migrations, flags.phase, io, fail);

  const log = (line: string): void => io.stdout(scrub(line));
  let summary: MigrateSummary;
  try {
    summary = await migrate(url ?? '', migrations, {
      phase: flags.phase,
      dryRun: flags.dryRun,
      ...(flags.down === undefined ? {} : { down: flags.down }),
      log,
    });
  } catch (err) {
    if (err instanceof MigrateError) {
      for (const f of err.findings) log(describeFinding(f));
      return fail(err.exitCode, err.message);
    }
    return fail(EXIT.failed, err instanceof Error ? err.message : String(err));
  }
  const rolledBack = summary.rolledBack ? `, ${summary.rolledBack.length} rolled back` : '';
  log(
    `done${summary.dryRun ? ' (dry run, nothing kept)' : ''}: ${summary.applied.length} applied, ${summary.skipped} already applied${rolledBack}`,
  );
  return EXIT.ok;
}

function parseFlags(args: string[]): Flags | 'help' {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      phase: { type: 'string', default: 'expand' },
      'dry-run': { type: 'boolean', default: false },
      down: { type: 'string' },
      'lint-only': { type: 'boolean', default: false },
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
  if (values['lint-only'] && (values['dry-run'] || down !== undefined)) {
    throw new Error('--lint-only cannot be combined with --dry-run or --down');
  }
  return { dir: values.dir, phase, dryRun: values['dry-run'], down, lintOnly: values['lint-only'] };
}

async function lintOnly(
  migrations: Migration[],
  phase: Phase,
  io: MigrateCommandIO,
  fail: (code: number, message: string) => Promise<number>,
): Promise<number> {
  const findings = migrations.flatMap((m) => lintMigration(m.up, phase));
  for (const f of findings) io.stdout(describeFinding(f));
  if (phase === 'contract') {
    // Not refusals: contract may destroy. The design takes a backup first, but
    // nothing does yet, so the note must not say one runs.
    for (const f of destructiveFindings(migrations.map((m) => m.up))) {
      io.stdout(
        `note: destructive, and Cutover takes no backup first yet: ${f.file}:${f.line} ${f.rule}: ${f.statement}`,
      );
    }
  }
  if (findings.length > 0) {
    const [first] = findings;
    const more = findings.length > 1 ? ` (and ${findings.length - 1} more)` : '';
    return fail(
      EXIT.refused,
      `refused by the ${phase} lint: ${first ? `${first.file}:${first.line} ${first.rule}` : ''}${more}`,
    );
  }
  io.stdout(`lint (${phase}): ${migrations.length} migration(s), no findings`);
  return EXIT.ok;
}

function describeFinding(f: Finding): string {
  return `${f.file}:${f.line} ${f.rule}: ${f.message}\n    ${f.statement}`;
}

/**
 * Kubernetes creates the file when the container starts; elsewhere there is
 * nothing to write, and creating /dev/termination-log as root would litter
 * the machine.
 */
async function writeTerminationMessage(path: string, line: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r+');
  } catch {
    return;
  }
  try {
    await handle.truncate(0);
    // Kubernetes keeps at most 4096 bytes of the message.
    await handle.write(Buffer.from(`${line}\n`).subarray(0, 4096), 0, undefined, 0);
  } catch {
    // Best effort: stderr already has the line.
  } finally {
    await handle.close();
  }
}
