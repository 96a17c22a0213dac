// `cutover migrate`: the entry point of the migration Job. Progress goes to
// stdout; a failure is one line on stderr and in the Kubernetes termination
// message, which the operator copies into the Release's condition.
import { open } from 'node:fs/promises';
import { loadMigrationSet, MigrationSetError, type Migration } from './files.js';
import { migrateUsage, parseFlags, type Flags } from './flags.js';
import { destructiveFindings, lintMigration, type Finding, type Phase } from './lint.js';
import { migrate, MigrateError, scrubberFor, type MigrateSummary } from './migrate.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, refused: 3 } as const;

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

export async function runMigrateCommand(args: string[], io: MigrateCommandIO = defaultIO): Promise<number> {
  let flags: Flags | 'help';
  try {
    flags = parseFlags(args, io.env);
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
      ...(flags.downRevision === undefined ? {} : { downRevision: flags.downRevision }),
      ...(flags.revision === undefined ? {} : { revision: flags.revision }),
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
