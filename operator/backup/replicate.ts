// `cutover backup replicate`: copies every sealed unit of the primary storage
// to one or more replicas (another region), each object checked against its
// record's SHA-256 on the way, the record written last. It never deletes at a
// replica: each location's own prune decides what goes there, so a mistake at
// the primary never propagates.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CommandIO } from './command.js';
import { writeReport } from './report.js';
import { parseDuration } from '../runtime/duration.js';
import { lagSeconds, replicationPlan, unitFromRecord, type Unit } from './replicate-plan.js';
import { storageFor, type Storage } from './storage.js';

export const replicateUsage = `usage: cutover backup replicate --from URI --to URI [--to URI ...] [--follow] [--interval 5s]

Copies every complete full backup, dump and WAL file (the open partial
segment too) from --from to each --to, checking each object's SHA-256
against its manifest or sidecar and writing that record last. Units a
replica already holds with the same checksums are skipped, so a run after a
failure catches up. Nothing is ever deleted at a replica.

  --from URI       the primary storage (file:///path or s3://bucket/prefix)
  --to URI         a replica; repeat for more. An s3:// replica number N
                   (1 for the first --to) reads CUTOVER_REPLICA_N_AWS_ENDPOINT_URL,
                   _AWS_REGION, _AWS_ACCESS_KEY_ID and _AWS_SECRET_ACCESS_KEY when
                   any of them is set, else the plain AWS_* ones
  --follow         repeat every interval until SIGTERM
  --interval D     pause between passes with --follow: 500ms, 5s, 1m (default 5s)

Prints, per pass and replica, the units copied and the lag: the age of the
oldest unit of the primary the replica does not hold yet (0 when in sync).
exit codes: 0 ok, 1 a replica failed or a unit was refused, 2 usage
`;

export interface ReplicaPass {
  uri: string;
  /** Units copied in this pass. */
  copied: number;
  bytes: number;
  /**
   * After the pass: the age of the oldest primary unit the replica still
   * lacks; null when the replica could not even be listed.
   */
  lagSeconds: number | null;
  /** Why the replica stopped being written in this pass. */
  error?: string;
}

export interface PassResult {
  replicas: ReplicaPass[];
  /** One line per unit refused at the source (corrupted, unreadable). */
  refused: string[];
}

/** Records read once: everything but the open partial is immutable under its key. */
export type RecordCache = Map<string, string>;

export interface Replicator {
  pass(): Promise<PassResult>;
}

export function replicator(
  primary: Storage,
  replicas: readonly Storage[],
  opts: { now?: () => Date; shouldStop?: () => boolean } = {},
): Replicator {
  const now = opts.now ?? (() => new Date());
  const caches = new Map<Storage, RecordCache>([primary, ...replicas].map((s) => [s, new Map()]));
  const cacheOf = (s: Storage): RecordCache => caches.get(s) ?? new Map();
  return {
    async pass() {
      const source = await unitsAt(primary, cacheOf(primary));
      const states = await Promise.all(
        replicas.map(async (storage) => {
          const cache = cacheOf(storage);
          const state: ReplicaState = {
            storage,
            cache,
            copied: 0,
            bytes: 0,
            missing: new Map(),
            listed: false,
          };
          try {
            const plan = replicationPlan(source, await unitsAt(storage, cache), now());
            for (const u of plan.copy) state.missing.set(u.key, u);
            state.listed = true;
          } catch (err) {
            state.error = message(err);
          }
          return state;
        }),
      );
      const refused: string[] = [];
      for (const unit of sortedUnion(states)) {
        if (opts.shouldStop?.()) break;
        const targets = states.filter((s) => s.error === undefined && s.missing.has(unit.key));
        if (targets.length === 0) continue;
        const problem = await copyUnit(primary, cacheOf(primary), unit, targets);
        if (problem) refused.push(problem);
      }
      const at = now();
      return {
        refused,
        replicas: states.map((s) => ({
          uri: s.storage.uri,
          copied: s.copied,
          bytes: s.bytes,
          lagSeconds: s.listed ? lagSeconds([...s.missing.values()], at) : null,
          ...(s.error === undefined ? {} : { error: s.error }),
        })),
      };
    },
  };
}

interface ReplicaState {
  storage: Storage;
  cache: RecordCache;
  copied: number;
  bytes: number;
  /** Units of the primary it does not hold, by key; emptied as they are copied. */
  missing: Map<string, Unit>;
  /** Whether its units could be listed: without that, its lag is unknown. */
  listed: boolean;
  error?: string;
}

export interface ReplicaLag {
  uri: string;
  /** Undefined when the replica could not be listed (`error` says why). */
  lagSeconds?: number;
  /** When the oldest unit the replica lacks was sealed; absent when in sync. */
  behindSince?: string;
  error?: string;
}

/**
 * Each replica's lag read from the storage itself, without copying: what the
 * operator can report when the copier's own report is stale or missing.
 */
export async function replicationLag(
  primary: Storage,
  replicas: readonly Storage[],
  now: () => Date = () => new Date(),
  /** Records already read, by storage URI: a caller that asks every 30 s reads each sealed record once. */
  caches: Map<string, RecordCache> = new Map(),
): Promise<ReplicaLag[]> {
  const cacheOf = (s: Storage): RecordCache => {
    let c = caches.get(s.uri);
    if (!c) caches.set(s.uri, (c = new Map()));
    return c;
  };
  const source = await unitsAt(primary, cacheOf(primary));
  return Promise.all(
    replicas.map(async (r) => {
      try {
        const plan = replicationPlan(source, await unitsAt(r, cacheOf(r)), now());
        const oldest = plan.copy[0];
        return {
          uri: r.uri,
          lagSeconds: plan.lagSeconds,
          ...(oldest ? { behindSince: oldest.sealedAt } : {}),
        };
      } catch (err) {
        return { uri: r.uri, error: message(err) };
      }
    }),
  );
}

/** Every unit whose record is at `storage`: fulls, dumps, WAL files. */
export async function unitsAt(storage: Storage, cache: RecordCache = new Map()): Promise<Unit[]> {
  const recordKeys = [
    ...(await storage.list('full')).map((dir) => `${dir}/manifest.json`),
    ...(await storage.list('dump')).map((dir) => `${dir}/manifest.json`),
    ...(await storage.list('wal')).filter((k) => k.endsWith('.json')),
  ];
  // What retention deleted leaves the cache too.
  const listed = new Set(recordKeys);
  for (const key of cache.keys()) if (!listed.has(key)) cache.delete(key);
  const units: Unit[] = [];
  for (const key of recordKeys) {
    let text = cache.get(key);
    if (text === undefined) {
      text = await storage.getText(key);
      remember(cache, key, text);
    }
    const unit = text === undefined ? undefined : unitFromRecord(key, text);
    if (unit) units.push(unit);
  }
  return units;
}

function remember(cache: RecordCache, key: string, text: string | undefined): void {
  // The open partial changes under its key, every interval: always read afresh.
  if (text === undefined || key.includes('.partial.')) cache.delete(key);
  else cache.set(key, text);
}

function sortedUnion(states: readonly ReplicaState[]): Unit[] {
  const all = new Map<string, Unit>();
  for (const s of states) for (const [k, u] of s.missing) all.set(k, u);
  return [...all.values()].sort((a, b) => Date.parse(a.sealedAt) - Date.parse(b.sealedAt));
}

// A partial is rewritten in place by the WAL shipper (object, then sidecar):
// a copy that read the sidecar of one version and the object of the next is
// tried again, briefly, before the unit is called corrupted.
const ATTEMPTS = 3;
const RETRY_PAUSE_MS = 250;

/**
 * Downloads the unit's objects once, checks them, then writes them and the
 * record to each target. Returns the refusal line when the source is bad.
 */
async function copyUnit(
  primary: Storage,
  primaryCache: RecordCache,
  planned: Unit,
  targets: ReplicaState[],
): Promise<string | undefined> {
  const work = await mkdtemp(join(tmpdir(), 'cutover-replicate-'));
  try {
    let unit: Unit | undefined = planned;
    let problem = '';
    for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
      problem = await fetchChecked(primary, unit, work);
      if (!problem) break;
      // Removed or rewritten at the primary while being read: go by what is there now.
      const text = await primary.getText(unit.recordKey);
      remember(primaryCache, unit.recordKey, text);
      unit = text === undefined ? undefined : unitFromRecord(unit.recordKey, text);
      if (unit === undefined) {
        for (const t of targets) t.missing.delete(planned.key);
        return undefined;
      }
      if (!unit.partial && unit.record === planned.record) break;
      if (attempt < ATTEMPTS) await delay(RETRY_PAUSE_MS);
    }
    if (problem || unit === undefined) return `refused ${planned.key}: ${problem}`;
    for (const t of targets) await writeTo(t, unit, work, planned);
    return undefined;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** '' when every object of the unit is downloaded into `work` and matches its record. */
async function fetchChecked(primary: Storage, unit: Unit, work: string): Promise<string> {
  for (const [i, o] of unit.objects.entries()) {
    const path = join(work, String(i));
    let digest: string;
    try {
      digest = await primary.getFile(o.key, path);
    } catch (err) {
      return `${o.key} could not be read at ${primary.uri}: ${message(err)}`;
    }
    if (digest !== o.sha256)
      return `${o.key} at ${primary.uri} is corrupted (its SHA-256 differs from ${unit.recordKey})`;
  }
  return '';
}

async function writeTo(t: ReplicaState, unit: Unit, work: string, planned: Unit): Promise<void> {
  try {
    for (const [i, o] of unit.objects.entries()) await t.storage.putFile(o.key, join(work, String(i)));
    // Last: until it is there, the replica does not list the unit.
    await t.storage.putText(unit.recordKey, unit.record);
    remember(t.cache, unit.recordKey, unit.record);
    t.copied += 1;
    t.bytes += unit.objects.reduce((n, o) => n + o.size, 0);
    t.missing.delete(planned.key);
  } catch (err) {
    t.error = message(err);
  }
}

const S3_VARIABLES = ['AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];

/**
 * Where replica `position` (1-based) reads its S3 settings: its own
 * CUTOVER_REPLICA_<n>_AWS_* set as soon as any of it is given (never mixed
 * with the primary's), else the plain AWS_* one.
 */
export function replicaEnvPrefix(env: NodeJS.ProcessEnv, position: number): string {
  const prefix = `CUTOVER_REPLICA_${position}_`;
  return S3_VARIABLES.some((v) => env[`${prefix}${v}`] !== undefined) ? prefix : '';
}

/** --interval as the CRDs write durations (500ms, 5s, 1m30s); at least 100ms. */
function parseIntervalMs(text: string): number | undefined {
  try {
    const ms = parseDuration(text);
    return ms >= 100 ? ms : undefined;
  } catch {
    return undefined;
  }
}

/** `stop` ends a --follow run between units; SIGTERM and SIGINT by default. */
export async function runReplicateCommand(
  args: string[],
  io: CommandIO,
  stop?: AbortSignal,
): Promise<number> {
  let values: { from?: string; to?: string[]; follow?: boolean; interval?: string; help?: boolean };
  let intervalMs: number | undefined;
  try {
    const parsed = parseArgs({
      args,
      options: {
        from: { type: 'string' },
        to: { type: 'string', multiple: true },
        follow: { type: 'boolean' },
        interval: { type: 'string', default: '5s' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    values = parsed.values;
    if (values.help) return (io.stdout(replicateUsage.trimEnd()), 0);
    if (!values.from || !values.to?.length) throw new Error('--from and at least one --to are required');
    if (values.to.includes(values.from)) throw new Error(`${values.from} is both --from and --to`);
    intervalMs = parseIntervalMs(values.interval ?? '');
    if (intervalMs === undefined)
      throw new Error(`--interval ${values.interval ?? ''}: expected a duration of at least 100ms, e.g. 5s`);
  } catch (err) {
    io.stderr(`cutover backup replicate: ${message(err)}`);
    io.stderr(replicateUsage.trimEnd());
    return 2;
  }
  const stopped = stop ?? (values.follow ? processStopSignal() : new AbortController().signal);
  let run: Replicator;
  try {
    const primary = storageFor(values.from, io.env);
    const replicas = values.to.map((uri, i) => storageFor(uri, io.env, replicaEnvPrefix(io.env, i + 1)));
    await mustExist(values.from);
    run = replicator(primary, replicas, { shouldStop: () => stopped.aborted });
  } catch (err) {
    io.stderr(`cutover backup replicate: ${message(err)}`);
    return 1;
  }
  for (;;) {
    const code = await onePass(run, io);
    if (!values.follow || stopped.aborted) return code;
    await delay(intervalMs, undefined, { signal: stopped }).catch(() => undefined);
    if (stopped.aborted) return code;
  }
}

/**
 * A directory lists as empty when it does not exist: a mistyped --from would
 * copy nothing and report a replica in sync. (A missing bucket is an error already.)
 */
async function mustExist(uri: string): Promise<void> {
  if (!uri.startsWith('file://')) return;
  const found = await stat(fileURLToPath(uri)).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!found) throw new Error(`${uri}: no such directory`);
}

async function onePass(run: Replicator, io: CommandIO): Promise<number> {
  let result: PassResult;
  try {
    result = await run.pass();
  } catch (err) {
    // The primary could not be listed: nothing was copied, nothing is known.
    const error = message(err);
    io.stderr(`cutover backup replicate: ${error}`);
    await writeReport(io.env, { kind: 'replicate', ok: false, error });
    return 1;
  }
  const failures = [...result.refused];
  for (const r of result.replicas) {
    const lag = r.lagSeconds === null ? 'lag unknown' : `lag ${r.lagSeconds} s`;
    io.stdout(
      `replica ${r.uri}: copied ${r.copied} unit${r.copied === 1 ? '' : 's'} (${r.bytes} bytes), ${lag}`,
    );
    if (r.error !== undefined) failures.push(`${r.uri}: ${r.error}`);
  }
  for (const f of failures) io.stderr(`cutover backup replicate: ${f}`);
  await writeReport(io.env, {
    kind: 'replicate',
    ok: failures.length === 0,
    ...(failures.length ? { error: failures.join('; ') } : {}),
    detail: { replicas: result.replicas.map(({ uri, lagSeconds, copied }) => ({ uri, lagSeconds, copied })) },
  });
  return failures.length ? 1 : 0;
}

function processStopSignal(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return controller.signal;
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
}
