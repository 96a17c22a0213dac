// Point-in-time restore: a full plus the WAL that follows it, laid out so that
// `postgres -D DIR` replays to the target and promotes by itself. Everything
// is fetched and checked before the data directory is touched: a missing or
// corrupted WAL object, or a target the storage cannot reach, leaves nothing
// behind that could pass for a restore.
import { createReadStream, createWriteStream } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import { parseLsn, readChain, walRun, type Chain, type WalIndex } from './chain.js';
import type { CommandIO } from './command.js';
import { sha256 } from './full.js';
import { parseWalSidecar, walKeys, type BackupManifest, type WalSidecar } from './manifest.js';
import { writeReport } from './report.js';
import { RestoreError, restoreFull } from './restore.js';
import { storageFor, type Storage } from './storage.js';

export type RecoveryTarget = { time: string } | { lsn: string } | { latest: true };

export const WAL_DIR = 'cutover_wal';

export interface RecoveryPlan {
  full: BackupManifest;
  /** WAL after the full, in order; a partial one last. */
  segments: WalSidecar[];
  /** recovery_target_* settings; none replays all the WAL there is. */
  target: Record<string, string>;
  /** Why the plan differs from what was asked, for the log. */
  note?: string;
}

const time = (iso: string): number => Date.parse(iso);

/** Chooses the full and the WAL for `target`, or says in one line why the storage cannot reach it. */
export function planRecovery(
  chain: Chain,
  index: WalIndex,
  target: RecoveryTarget,
  uri: string,
  backup?: string,
): RecoveryPlan {
  const candidates = backup === undefined ? chain.fulls : chain.fulls.filter((f) => f.id === backup);
  const newest = candidates[0];
  if (!newest) {
    throw new RestoreError(
      backup === undefined ? `no complete full backup in ${uri}` : `no complete backup ${backup} in ${uri}`,
    );
  }
  if ('latest' in target) return { full: newest, segments: walRun(newest, index).segments, target: {} };

  if ('time' in target) {
    const first = chain.firstRecoverabilityPoint ?? newest.finishedAt;
    const last = chain.lastRecoverabilityPoint ?? newest.finishedAt;
    const at = time(target.time);
    if (at < time(first) || at > time(last)) {
      throw new RestoreError(
        `--to-time ${target.time} is outside what ${uri} can restore: from ${first} to ${last}`,
      );
    }
    const full = candidates.find((f) => time(f.finishedAt) <= at);
    if (!full)
      throw new RestoreError(`backup ${newest.id} finished at ${newest.finishedAt}, after ${target.time}`);
    const segments = walRun(full, index).segments;
    const reach = segments.at(-1)?.shippedAt ?? full.finishedAt;
    if (at > time(reach)) {
      throw new RestoreError(
        `--to-time ${target.time} is outside what backup ${full.id} and its WAL can restore: from ${full.finishedAt} to ${reach}`,
      );
    }
    // Recovery stops at the first commit after the target; without one it
    // would end short of the target and refuse to start. No commit after it
    // means the database at the target is the database at the end.
    const lastCommit = segments.reduce(
      (n, s) => Math.max(n, s.lastCommitAt ? time(s.lastCommitAt) : -Infinity),
      -Infinity,
    );
    if (lastCommit <= at) {
      return {
        full,
        segments,
        target: {},
        note: `nothing was committed between ${target.time} and the end of the WAL: replaying all of it`,
      };
    }
    return { full, segments, target: { recovery_target_time: postgresTime(target.time) } };
  }

  const lsn = parseLsn(target.lsn);
  const full = candidates.find((f) => parseLsn(f.endLsn) <= lsn);
  const oldest = candidates.at(-1) ?? newest;
  const segments = full ? walRun(full, index).segments : [];
  const lastSegment = segments.at(-1);
  const end = full ? (lastSegment?.endLsn ?? (lastSegment ? undefined : full.endLsn)) : undefined;
  // Recovery stops at the first record at or past the target: one must be stored.
  if (!full || end === undefined || lsn >= parseLsn(end)) {
    throw new RestoreError(
      `--to-lsn ${target.lsn} is outside what ${uri} can restore: from ${oldest.endLsn} to ${walEnd(index, newest)}`,
    );
  }
  return { full, segments, target: { recovery_target_lsn: target.lsn } };
}

/** PostgreSQL reads recovery_target_time with its own parser, which takes no "T…Z". */
export function postgresTime(iso: string): string {
  return iso.replace('T', ' ').replace(/Z$/, '+00');
}

function walEnd(index: WalIndex, full: BackupManifest): string {
  const last = walRun(full, index).segments.at(-1);
  return last?.endLsn ?? full.endLsn;
}

/**
 * The lines for postgresql.auto.conf: replay from DIR/cutover_wal, stop at
 * the target, promote. The path is relative: the server runs restore_command
 * in its data directory, so the directory restores wherever it is mounted
 * next (a restore Job writes it at /restore/…, the database pod mounts it
 * elsewhere).
 */
export function recoverySettings(target: Record<string, string>): string {
  const settings: Record<string, string> = {
    restore_command: `cp "${WAL_DIR}/%f" "%p"`,
    ...target,
    recovery_target_action: 'promote',
    recovery_target_timeline: 'latest',
  };
  const lines = Object.entries(settings).map(([k, v]) => `${k} = '${v.replaceAll("'", "''")}'`);
  return `\n# cutover restore: point-in-time recovery\n${lines.join('\n')}\n`;
}

export interface PointInTimeOptions {
  storage: Storage;
  pgdata: string;
  target: RecoveryTarget;
  backup?: string;
  log?: (line: string) => void;
}

export async function restorePointInTime(o: PointInTimeOptions): Promise<RecoveryPlan & { chain: Chain }> {
  const log = o.log ?? (() => undefined);
  if (await hasEntries(o.pgdata))
    throw new RestoreError(`${o.pgdata} is not empty: restore into a new directory`);
  const chain = await readChain(o.storage);
  const plan = planRecovery(chain, chain.index, o.target, o.storage.uri, o.backup);
  if (plan.note) log(plan.note);
  if (chain.broken && plan.full.id === chain.fulls[0]?.id)
    log(
      `the chain is broken from ${chain.broken.from} (${chain.broken.reason}): restoring up to ${chain.lastRecoverabilityPoint ?? plan.full.finishedAt}`,
    );
  const work = await mkdtemp(join(tmpdir(), 'cutover-pitr-'));
  try {
    const fetched = [...(await fetchChecked(o.storage, plan.segments, work))];
    fetched.push(...(await fetchChecked(o.storage, chain.index.history, work)));
    log(`${plan.segments.length} WAL objects after backup ${plan.full.id} verified`);
    await restoreFull({ storage: o.storage, pgdata: o.pgdata, backup: plan.full.id, log });
    try {
      const walDir = join(o.pgdata, WAL_DIR);
      await mkdir(walDir, { mode: 0o700 });
      for (const f of fetched) {
        await pipeline(createReadStream(f.gz), createGunzip(), createWriteStream(join(walDir, f.name)));
      }
      await appendFile(join(o.pgdata, 'postgresql.auto.conf'), recoverySettings(plan.target));
      // Last: without it postgres would not recover, so a crash before here leaves no usable directory.
      await writeFile(join(o.pgdata, 'recovery.signal'), '');
    } catch (err) {
      await rm(o.pgdata, { recursive: true, force: true });
      throw err;
    }
    return { ...plan, chain };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Downloads each object and checks it against its sidecar; refuses naming the first that fails. */
async function fetchChecked(
  storage: Storage,
  sidecars: readonly WalSidecar[],
  work: string,
): Promise<Array<{ name: string; gz: string }>> {
  const out: Array<{ name: string; gz: string }> = [];
  for (const s of sidecars) {
    const name = s.kind === 'history' ? `${s.segment}.history` : s.segment;
    const gz = join(work, `${name}.gz`);
    let problem = await fetchOne(storage, s, name, gz);
    // A running WAL process replaces the open segment's object every interval,
    // and stores the complete one in its place once it is finished: read the
    // sidecars again before calling either a loss.
    for (let attempt = 0; problem && s.partial && attempt < 3; attempt += 1) {
      const now = (await currentSidecar(storage, name, false)) ?? (await currentSidecar(storage, name, true));
      if (!now) break;
      problem = await fetchOne(storage, now, name, gz);
    }
    if (problem) throw new RestoreError(`${problem}; nothing was restored`);
    out.push({ name, gz });
  }
  return out;
}

/** Downloads one object; what is wrong with it, or undefined when it matches its sidecar. */
async function fetchOne(
  storage: Storage,
  s: WalSidecar,
  name: string,
  gz: string,
): Promise<string | undefined> {
  const key = walKeys(name, s.partial === true).object;
  try {
    await storage.getFile(key, gz);
  } catch {
    return `${key} is missing from ${storage.uri} (its sidecar is there)`;
  }
  return (await sha256(gz)) === s.sha256
    ? undefined
    : `${key} is corrupted (its SHA-256 differs from its sidecar)`;
}

async function currentSidecar(
  storage: Storage,
  name: string,
  partial: boolean,
): Promise<WalSidecar | undefined> {
  const text = await storage.getText(walKeys(name, partial).sidecar);
  return text === undefined ? undefined : parseWalSidecar(text);
}

async function hasEntries(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch {
    return false;
  }
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;

/** An RFC 3339 instant (seconds and a zone required) that names a real date: what --to-time and --since take. */
export const isRfc3339 = (text: string): boolean => RFC3339.test(text) && !Number.isNaN(Date.parse(text));

export const pointInTimeUsage = `usage: cutover restore --from URI --pgdata DIR (--to-time RFC3339 | --to-lsn LSN | --latest) [--backup ID]

Restores the newest full backup that finished before the target (or ID),
then every WAL object after it, each checked against its sidecar, into DIR
(new or empty), with recovery.signal and the recovery settings written:
\`postgres -D DIR\` replays up to the target and promotes.

  --to-time T   e.g. 2026-12-02T15:26:30Z; between the first and the last
                recoverability point of the storage
  --to-lsn LSN  e.g. 0/3000148
  --latest      everything stored

exit codes: 0 ok, 1 failed (nothing left in DIR), 2 usage
`;

export function wantsPointInTime(args: readonly string[]): boolean {
  return args.some((a) => /^--(to-time|to-lsn|latest)(=|$)/.test(a));
}

export async function runPointInTimeRestore(args: string[], io: CommandIO): Promise<number> {
  let values: {
    from?: string;
    pgdata?: string;
    backup?: string;
    'to-time'?: string;
    'to-lsn'?: string;
    latest?: boolean;
    help?: boolean;
  };
  let target: RecoveryTarget;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        from: { type: 'string' },
        pgdata: { type: 'string' },
        backup: { type: 'string' },
        'to-time': { type: 'string' },
        'to-lsn': { type: 'string' },
        latest: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
    if (values.help) return (io.stdout(pointInTimeUsage.trimEnd()), 0);
    if (!values.from || !values.pgdata) throw new Error('--from and --pgdata are required');
    const given = [values['to-time'], values['to-lsn'], values.latest].filter((v) => v !== undefined);
    if (given.length !== 1) throw new Error('give one of --to-time, --to-lsn, --latest');
    if (values['to-time'] !== undefined) {
      if (!isRfc3339(values['to-time']))
        throw new Error(`--to-time ${values['to-time']}: not an RFC 3339 time such as 2026-12-02T15:26:30Z`);
      target = { time: new Date(values['to-time']).toISOString() };
    } else if (values['to-lsn'] !== undefined) {
      parseLsn(values['to-lsn']);
      target = { lsn: values['to-lsn'].toUpperCase() };
    } else target = { latest: true };
  } catch (err) {
    io.stderr(`cutover restore: ${oneLine(err)}`);
    io.stderr(pointInTimeUsage.trimEnd());
    return 2;
  }
  const startedAt = new Date().toISOString();
  try {
    const storage = storageFor(values.from, io.env);
    const r = await restorePointInTime({
      storage,
      pgdata: values.pgdata,
      target,
      ...(values.backup ? { backup: values.backup } : {}),
      log: io.stdout,
    });
    const to = r.target.recovery_target_time ?? r.target.recovery_target_lsn ?? 'the end of the stored WAL';
    io.stdout(
      `restored backup ${r.full.id} and ${r.segments.length} WAL objects into ${values.pgdata}: postgres -D ${values.pgdata} recovers to ${to} and promotes`,
    );
    await writeReport(io.env, {
      kind: 'restore',
      ok: true,
      id: r.full.id,
      startedAt,
      finishedAt: new Date().toISOString(),
      ...(r.chain.firstRecoverabilityPoint
        ? { firstRecoverabilityPoint: r.chain.firstRecoverabilityPoint }
        : {}),
      ...(r.chain.lastRecoverabilityPoint
        ? { lastRecoverabilityPoint: r.chain.lastRecoverabilityPoint }
        : {}),
      detail: { target: to, walObjects: r.segments.length },
    });
    return 0;
  } catch (err) {
    const error = oneLine(err);
    io.stderr(`cutover restore: ${error}`);
    await writeReport(io.env, { kind: 'restore', ok: false, error });
    return 1;
  }
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
}
