// `cutover backup prune`: reads what the store holds, plans with
// planRetention, prints every decision, and deletes only with --apply (the
// CronJob passes it; a person sees the plan first). Each unit loses its
// record (manifest, sidecar) before its data, so a crash mid-prune leaves an
// orphan that the next run removes, never something that looks complete.
import { parseArgs } from 'node:util';
import { parseDuration } from '../runtime/duration.js';
import type { CommandIO } from './command.js';
import { DUMP, parseDumpManifest, type DumpManifest } from './dump-manifest.js';
import { FULL, MANIFEST, parseManifest, type BackupManifest } from './manifest.js';
import { writeReport } from './report.js';
import {
  DEFAULT_RETENTION,
  describeDecision,
  formatAge,
  planRetention,
  type Decision,
  type RetentionInput,
  type RetentionPolicy,
} from './retention.js';
import { storageFor, type Storage } from './storage.js';

export const pruneUsage = `usage: cutover backup prune --from URI [--full 30d] [--wal 7d] [--keep-at-least 3] [--apply]

Plans retention over the fulls, WAL and dumps in URI and prints one line per
decision. Nothing is deleted without --apply.
  --full D            age after which fulls and dumps go (retention.full, default 30d)
  --wal D             how far back point-in-time restore must reach (retention.incremental, default 7d)
  --keep-at-least N   newest complete fulls (and dumps) kept whatever their age (default 3, at least 1)
The newest complete full always stays, a backup without a manifest never
counts, and WAL goes only before the full the oldest restore point needs.
exit codes: 0 ok, 1 failed, 2 usage
`;

// The report is read from a 4 KiB termination message: name the first units, count the rest.
const REPORTED_UNITS = 40;

export async function runPruneCommand(args: string[], io: CommandIO): Promise<number> {
  let from: string;
  let policy: RetentionPolicy;
  let apply: boolean;
  try {
    const { values } = parseArgs({
      args,
      options: {
        from: { type: 'string' },
        full: { type: 'string' },
        wal: { type: 'string' },
        'keep-at-least': { type: 'string' },
        apply: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) return (io.stdout(pruneUsage.trimEnd()), 0);
    if (!values.from) throw new Error('--from is required');
    from = values.from;
    apply = values.apply;
    policy = {
      fullMs: retentionFlag('--full', values.full, DEFAULT_RETENTION.fullMs),
      walMs: retentionFlag('--wal', values.wal, DEFAULT_RETENTION.walMs),
      keepAtLeast: keepAtLeastFlag(values['keep-at-least']),
    };
  } catch (err) {
    io.stderr(`cutover backup prune: ${oneLine(err)}`);
    io.stderr(pruneUsage.trimEnd());
    return 2;
  }
  const deleted: string[] = [];
  let kept = 0;
  try {
    const storage = storageFor(from, io.env);
    const plan = planRetention(await readRetentionInput(storage), policy, new Date());
    io.stdout(
      `retention for ${storage.uri}: full ${formatAge(policy.fullMs)}, WAL ${formatAge(policy.walMs)}, keep at least ${policy.keepAtLeast}${apply ? '' : ' (dry run)'}`,
    );
    for (const d of plan) io.stdout(describeDecision(d));
    const doomed = plan.filter((d) => d.action === 'delete');
    kept = plan.length - doomed.length;
    if (!apply) {
      io.stdout(`dry run: would delete ${summary(doomed)}, keep ${kept}; pass --apply to delete`);
      const detail = { dryRun: true, wouldDelete: doomed.length, kept };
      await writeReport(io.env, { kind: 'prune', ok: true, detail });
      return 0;
    }
    for (const d of doomed) {
      await applyDecision(storage, d);
      deleted.push(d.unit);
    }
    io.stdout(`deleted ${summary(doomed)}, kept ${kept}`);
    await writeReport(io.env, { kind: 'prune', ok: true, detail: { ...reported(deleted), kept } });
    return 0;
  } catch (err) {
    const error = oneLine(err);
    io.stderr(`cutover backup prune: ${error}`);
    await writeReport(io.env, { kind: 'prune', ok: false, error, detail: { ...reported(deleted), kept } });
    return 1;
  }
}

/** What the store holds, as planRetention reads it: manifests parsed, WAL only listed. */
export async function readRetentionInput(storage: Storage): Promise<RetentionInput> {
  const fulls = await readUnits(storage, FULL, parseManifest);
  const dumps = await readUnits(storage, DUMP, parseDumpManifest);
  return {
    fulls: fulls.complete,
    incompleteFulls: fulls.incomplete,
    dumps: dumps.complete,
    incompleteDumps: dumps.incomplete,
    unreadable: [...fulls.unreadable, ...dumps.unreadable],
    // Names say all retention needs (timeline, position, partial or not); one
    // listing instead of a read per sidecar.
    walKeys: await storage.list('wal'),
  };
}

async function readUnits<M extends BackupManifest | DumpManifest>(
  storage: Storage,
  top: string,
  parse: (text: string) => M | undefined,
): Promise<{ complete: M[]; incomplete: string[]; unreadable: string[] }> {
  const out = { complete: [] as M[], incomplete: [] as string[], unreadable: [] as string[] };
  for (const dir of await storage.list(top)) {
    const id = dir.slice(top.length + 1);
    const text = await storage.getText(`${dir}/${MANIFEST}`);
    const m = text === undefined ? undefined : parse(text);
    if (text === undefined) out.incomplete.push(id);
    else if (m === undefined || m.id !== id) out.unreadable.push(dir);
    else out.complete.push(m);
  }
  return out;
}

/** Record first, then data: an interrupted delete leaves an orphan, never a complete-looking unit. */
export async function applyDecision(storage: Storage, d: Decision): Promise<void> {
  for (const step of d.steps) {
    if (step.op === 'delete') await storage.delete(step.key);
    else await storage.remove(step.prefix);
  }
}

function retentionFlag(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    throw new Error(`${flag} ${text}: not a duration such as 30d or 12h`);
  }
  if (!(ms > 0)) throw new Error(`${flag} must be longer than zero, e.g. 30d`);
  return ms;
}

function keepAtLeastFlag(text: string | undefined): number {
  if (text === undefined) return DEFAULT_RETENTION.keepAtLeast;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !(n >= 1))
    throw new Error(`--keep-at-least ${text}: must be a whole number of at least 1`);
  return n;
}

function summary(doomed: readonly Decision[]): string {
  const count = (kind: Decision['kind']) => doomed.filter((d) => d.kind === kind).length;
  return `${doomed.length} (fulls ${count('full')}, WAL ${count('wal')}, dumps ${count('dump')})`;
}

function reported(units: readonly string[]): { deleted: string[]; more?: number } {
  return units.length > REPORTED_UNITS
    ? { deleted: units.slice(0, REPORTED_UNITS), more: units.length - REPORTED_UNITS }
    : { deleted: [...units] };
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
}
