// Runs migration Job pods for real. KWOK only pretends to run containers, and a
// migration that "succeeds" without touching PostgreSQL would make every test
// of the release flow meaningless. So KWOK's stages (test/cluster/stages.yaml)
// leave pods labelled cutover.dev/job (a Release's Jobs) Running, and this executor plays
// their kubelet: it runs the command on this machine and reports the exit in
// the pod's status, from which the Job controller completes or fails the Job
// on its own.
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type V1Container,
  type V1Pod,
  type V1Status,
} from '@kubernetes/client-node';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { constants, hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ContainerConfigError, prepareCommand, type PreparedCommand } from './executor-pod.js';
import { kubeconfigPath } from './kube.js';

const root = resolve(import.meta.dirname, '../..');

/** Pods of the Jobs a Release runs (migrations, verification): their commands must really run. */
export const JOB_LABEL = 'cutover.dev/job';
export const STARTED_ANNOTATION = 'cutover.dev/executor-started';

const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/** setTimeout's longest delay. */
const UNBOUNDED_MS = 2 ** 31 - 1;
const DEFAULT_GRACE_SECONDS = 30;
const SHUTDOWN_GRACE_MS = 10_000;
const JOB_DEADLINE_SLACK_MS = 5_000;
/** The kubelet reads at most this much of a termination message file. */
const MAX_MESSAGE_BYTES = 4096;
const FALLBACK_MESSAGE_BYTES = 1024;
const MAX_OUTPUT_BYTES = 1 << 20;
/** Below client-node's 30 s idle timeout, so a quiet watch ends cleanly instead of in error. */
const WATCH_SECONDS = 20;
const MASK = '******';

export interface ExecutorOptions {
  /** Path of a kubeconfig; defaults to the local cluster's (KUBECONFIG or .cluster/kubeconfig). */
  kubeconfig?: string;
  /**
   * What the image's `cutover` binary becomes here; its arguments follow.
   * Default: this Node running dist/operator/cli.js. Commands run in a
   * per-pod directory, so give absolute paths.
   */
  cliCommand?: readonly string[];
  /** Only pods in these namespaces are run; default every namespace. */
  namespaces?: readonly string[];
  /** One line per thing worth telling; Secret values are masked. Default: silent. */
  log?: (line: string) => void;
  /** Also pass every line the commands print to `log`, masked the same way. */
  echoOutput?: boolean;
  /** Allowed run time when neither the pod nor its Job sets activeDeadlineSeconds. Default 10 min. */
  defaultTimeoutMs?: number;
  /**
   * Where PersistentVolumeClaims live: claim c in namespace n is the host
   * directory <claimsDir>/n/c, shared by every pod that mounts it, as a
   * volume would be. Default: a directory under the system's temporary one.
   */
  claimsDir?: string;
}

export interface ExecutionRecord {
  podName: string;
  namespace: string;
  uid: string;
  /** command + args as the pod spec has them, before $(VAR) expansion and path mapping. */
  command: string[];
  phase: 'Succeeded' | 'Failed';
  exitCode: number;
  /** The container's terminated reason: Completed, Error, StartError or CreateContainerConfigError. */
  reason: string;
  /** The terminated message written to the pod's status. */
  message: string;
  stdout: string;
  stderr: string;
  startedAt: Date;
  finishedAt: Date;
}

export interface Executor {
  /** Finished runs, in the order they finished. */
  readonly runs: ExecutionRecord[];
  /** Stops watching, ends running commands as a node shutdown would, and waits for their reports. */
  stop(): Promise<void>;
}

/** Resolves once the first list of migration pods has been taken and is being run. */
export async function startExecutor(options: ExecutorOptions = {}): Promise<Executor> {
  const kc = new KubeConfig();
  kc.loadFromFile(options.kubeconfig ?? kubeconfigPath());
  const executor = new PodExecutor(kc, options);
  await executor.start();
  return executor;
}

type KillReason = 'timeout' | 'deleted' | 'shutdown';

interface ProcessResult {
  exitCode: number;
  startError?: Error;
  killedFor?: KillReason;
  stdout: string;
  stderr: string;
}

interface RunningProcess {
  done: Promise<ProcessResult>;
  kill(why: KillReason, graceMs: number): void;
}

interface Outcome {
  exitCode: number;
  reason: string;
  message: string;
  stdout: string;
  stderr: string;
  killedFor?: KillReason;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const strategicMergePatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

class PodExecutor implements Executor {
  readonly runs: ExecutionRecord[] = [];
  readonly #core: CoreV1Api;
  readonly #batch: BatchV1Api;
  readonly #watch: Watch;
  readonly #options: ExecutorOptions;
  readonly #cliCommand: readonly string[];
  readonly #claimsDir: string;
  /** Pods this executor has decided about, by UID: a pod gets one decision, ever. */
  readonly #seen = new Set<string>();
  readonly #running = new Map<string, { child: RunningProcess; graceMs: number }>();
  readonly #inflight = new Set<Promise<void>>();
  /** Every Secret value any run has read; masked in every log line. */
  readonly #secrets = new Set<string>();
  readonly #stop = new AbortController();
  readonly #marker = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  #watchAbort: AbortController | undefined;
  #loop: Promise<void> = Promise.resolve();

  constructor(kc: KubeConfig, options: ExecutorOptions) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#batch = kc.makeApiClient(BatchV1Api);
    this.#watch = new Watch(kc);
    this.#options = options;
    this.#cliCommand = options.cliCommand ?? [process.execPath, join(root, 'dist/operator/cli.js')];
    this.#claimsDir = options.claimsDir ?? join(tmpdir(), 'cutover-claims');
  }

  async start(): Promise<void> {
    const resourceVersion = await this.#list();
    this.#loop = this.#watchLoop(resourceVersion);
  }

  async stop(): Promise<void> {
    if (!this.#stop.signal.aborted) {
      this.#stop.abort();
      this.#watchAbort?.abort();
      for (const { child, graceMs } of this.#running.values()) {
        child.kill('shutdown', Math.min(graceMs, SHUTDOWN_GRACE_MS));
      }
    }
    await this.#loop;
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  async #list(): Promise<string> {
    const list = await this.#core.listPodForAllNamespaces({ labelSelector: JOB_LABEL });
    for (const pod of list.items) this.#consider('ADDED', pod);
    return list.metadata?.resourceVersion ?? '';
  }

  // List, then watch from the list's resourceVersion; any failure (apiserver
  // restart, expired resourceVersion) starts over with a fresh list, so an
  // event missed while disconnected is picked up from the list.
  async #watchLoop(listedAt: string): Promise<void> {
    let resourceVersion: string | undefined = listedAt;
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      try {
        resourceVersion ??= await this.#list();
        resourceVersion = await this.#watchOnce(resourceVersion);
        failures = 0;
      } catch (err) {
        if (this.#stop.signal.aborted) return;
        resourceVersion = undefined;
        failures += 1;
        const backoffMs = Math.min(250 * 2 ** (failures - 1), 5_000);
        this.#say(`watching pods failed (${errorText(err)}); listing again in ${backoffMs} ms`);
        await delay(backoffMs, undefined, { signal: this.#stop.signal }).catch(() => undefined);
      }
    }
  }

  /** Resolves with the resourceVersion to go on from, or undefined when a fresh list is needed. */
  #watchOnce(resourceVersion: string): Promise<string | undefined> {
    return new Promise((resolvePromise, reject) => {
      let latest: string | undefined = resourceVersion;
      let failure: Error | undefined;
      const onEvent = (type: string, object: unknown): void => {
        if (type === 'ERROR') {
          const status = object as V1Status;
          // 410 Gone: the resourceVersion was compacted away; relist quietly.
          if (status.code === 410) latest = undefined;
          else failure = new Error(`watch error ${status.code ?? '?'}: ${status.message ?? ''}`);
          return;
        }
        const pod = object as V1Pod;
        if (latest !== undefined) latest = pod.metadata?.resourceVersion ?? latest;
        if (type !== 'BOOKMARK') this.#consider(type, pod);
      };
      const onDone = (err: unknown): void => {
        this.#watchAbort = undefined;
        if (this.#stop.signal.aborted) resolvePromise(latest);
        else if (failure) reject(failure);
        else if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolvePromise(latest);
      };
      const query = {
        labelSelector: JOB_LABEL,
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: WATCH_SECONDS,
      };
      this.#watch.watch('/api/v1/pods', query, onEvent, onDone).then((controller) => {
        this.#watchAbort = controller;
        if (this.#stop.signal.aborted) controller.abort();
      }, reject);
    });
  }

  #consider(type: string, pod: V1Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const running = this.#running.get(uid);
    if (running) {
      // The kubelet stops a container whose pod is being deleted; so do we.
      if (type === 'DELETED' || pod.metadata?.deletionTimestamp)
        running.child.kill('deleted', running.graceMs);
      return;
    }
    if (type === 'DELETED' || this.#seen.has(uid) || this.#stop.signal.aborted) return;
    const namespace = pod.metadata?.namespace ?? '';
    if (this.#options.namespaces && !this.#options.namespaces.includes(namespace)) return;
    if (!pod.spec?.nodeName || pod.status?.phase !== 'Running' || pod.metadata?.deletionTimestamp) return;
    const startedBy = pod.metadata?.annotations?.[STARTED_ANNOTATION];
    this.#seen.add(uid);
    if (startedBy !== undefined) {
      this.#say(`${namespace}/${pod.metadata?.name ?? uid}: already started by ${startedBy}; left alone`);
      return;
    }
    const run = this.#execute(pod)
      .catch((err: unknown) => this.#say(`${namespace}/${pod.metadata?.name ?? uid}: ${errorText(err)}`))
      .finally(() => this.#inflight.delete(run));
    this.#inflight.add(run);
  }

  async #execute(observed: V1Pod): Promise<void> {
    const uid = observed.metadata?.uid ?? '';
    const name = observed.metadata?.name ?? '';
    const namespace = observed.metadata?.namespace ?? '';
    const id = `${namespace}/${name}`;
    let pod: V1Pod | undefined;
    try {
      pod = await this.#claim(observed, name, namespace);
    } catch (err) {
      // Not claimed, so not started: the next list may try again.
      this.#seen.delete(uid);
      throw err;
    }
    if (!pod) {
      this.#say(`${id}: claimed by another executor`);
      return;
    }

    const container = pod.spec?.containers[0];
    const command = [...(container?.command ?? []), ...(container?.args ?? [])];
    const workDir = await mkdtemp(join(tmpdir(), 'cutover-exec-'));
    // Traversable, as the kubelet's pod directories are, so a volume inside is reachable by any user.
    await chmod(workDir, 0o711);
    const startedAt = new Date();
    let outcome: Outcome;
    try {
      if (!container || pod.spec?.containers.length !== 1 || (pod.spec.initContainers ?? []).length > 0) {
        throw new ContainerConfigError('a migration pod has exactly one container and no init containers');
      }
      const prepared = await this.#prepare(pod, container, workDir);
      if (this.#stop.signal.aborted) {
        // Nothing ran, so handing the pod back keeps "at most once" and lets the next executor run it.
        await this.#release(name, namespace);
        return;
      }
      const timeoutMs = await this.#timeoutMs(pod, namespace);
      const graceMs = (pod.spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
      this.#say(`${id}: running ${command.join(' ')}`);
      const child = this.#spawn(id, prepared, timeoutMs, graceMs);
      this.#running.set(uid, { child, graceMs });
      try {
        outcome = await this.#outcome(await child.done, prepared.terminationLog);
      } finally {
        this.#running.delete(uid);
      }
    } catch (err) {
      if (!(err instanceof ContainerConfigError)) throw err;
      outcome = {
        exitCode: 128,
        reason: 'CreateContainerConfigError',
        message: err.message,
        stdout: '',
        stderr: '',
      };
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
    const finishedAt = new Date();
    // A deleted pod's container that still exits 0 counts as a success, as on a
    // kubelet; a deadline or a node shutdown fails the pod whatever the code.
    const stoppedByNode = outcome.killedFor === 'timeout' || outcome.killedFor === 'shutdown';
    const phase = outcome.exitCode === 0 && !stoppedByNode ? 'Succeeded' : 'Failed';
    await this.#report(pod, container, phase, outcome, startedAt, finishedAt);
    const seconds = ((finishedAt.getTime() - startedAt.getTime()) / 1000).toFixed(1);
    const why = phase === 'Failed' && outcome.message ? `: ${outcome.message.trim()}` : '';
    this.#say(`${id}: ${phase}, exit ${outcome.exitCode} (${outcome.reason}) after ${seconds} s${why}`);
    this.runs.push({
      podName: name,
      namespace,
      uid,
      command,
      phase,
      exitCode: outcome.exitCode,
      reason: outcome.reason,
      message: outcome.message,
      stdout: outcome.stdout,
      stderr: outcome.stderr,
      startedAt,
      finishedAt,
    });
  }

  /**
   * Marks the pod as started, conditional on its resourceVersion: of two
   * executors (or one restarted) only one write can win, so a pod never runs
   * twice. Resolves with the claimed pod, or undefined when someone else has it.
   */
  async #claim(observed: V1Pod, name: string, namespace: string): Promise<V1Pod | undefined> {
    let current = observed;
    for (let attempt = 0; attempt < 10; attempt += 1) {
      if (current.metadata?.annotations?.[STARTED_ANNOTATION] !== undefined) return undefined;
      if (current.status?.phase !== 'Running' || current.metadata?.deletionTimestamp) return undefined;
      const value = `${this.#marker} ${new Date().toISOString()}`;
      try {
        return await this.#core.patchNamespacedPod(
          {
            name,
            namespace,
            body: {
              metadata: {
                resourceVersion: current.metadata?.resourceVersion,
                annotations: { [STARTED_ANNOTATION]: value },
              },
            },
          },
          mergePatch,
        );
      } catch (err) {
        if (statusCode(err) === 404) return undefined;
        if (statusCode(err) !== 409) throw err;
        current = await this.#core.readNamespacedPod({ name, namespace });
      }
    }
    throw new Error('the pod kept changing while it was being claimed');
  }

  async #release(name: string, namespace: string): Promise<void> {
    await this.#core
      .patchNamespacedPod(
        { name, namespace, body: { metadata: { annotations: { [STARTED_ANNOTATION]: null } } } },
        mergePatch,
      )
      .catch(() => undefined);
  }

  // A Secret that cannot be read because the apiserver is briefly away is
  // worth a retry; one that does not exist is the pod's fault.
  async #prepare(pod: V1Pod, container: V1Container, workDir: string): Promise<PreparedCommand> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const prepared = await prepareCommand({
          core: this.#core,
          pod,
          container,
          workDir,
          cliCommand: this.#cliCommand,
          claimsDir: this.#claimsDir,
        });
        for (const secret of prepared.secrets) this.#secrets.add(secret);
        if (prepared.file === this.#cliCommand[0] && !this.#options.cliCommand) {
          const cli = this.#cliCommand[1] ?? '';
          if (!existsSync(cli)) throw new ContainerConfigError(`${cli} is missing: run \`make build\``);
        }
        return prepared;
      } catch (err) {
        if (err instanceof ContainerConfigError) throw err;
        if (attempt >= 5 || this.#stop.signal.aborted) throw new ContainerConfigError(errorText(err));
        await delay(500 * attempt);
      }
    }
  }

  /**
   * The pod's activeDeadlineSeconds is the kubelet's to enforce, so it ends
   * the run on time. The Job's belongs to the Job controller, which fails the
   * Job with DeadlineExceeded and deletes the pod (and the deletion ends the
   * run); failing the pod first would turn that into BackoffLimitExceeded, so
   * the Job's deadline only backs the controller up, a little later.
   */
  async #timeoutMs(pod: V1Pod, namespace: string): Promise<number> {
    const now = Date.now();
    const remaining: number[] = [];
    const podDeadline = pod.spec?.activeDeadlineSeconds;
    if (podDeadline !== undefined) {
      remaining.push(podDeadline * 1000 - (now - timeOf(pod.status?.startTime, now)));
    }
    const owner = pod.metadata?.ownerReferences?.find((ref) => ref.kind === 'Job' && ref.controller);
    if (owner) {
      try {
        const job = await this.#batch.readNamespacedJob({ name: owner.name, namespace });
        const jobDeadline = job.spec?.activeDeadlineSeconds;
        if (jobDeadline !== undefined) {
          const left = jobDeadline * 1000 - (now - timeOf(job.status?.startTime, now));
          remaining.push(left + JOB_DEADLINE_SLACK_MS);
        }
      } catch {
        // The Job is gone or unreadable: the pod still runs, under the default.
      }
    }
    if (remaining.length > 0) return Math.max(0, Math.min(...remaining));
    // A Deployment's pod (the WAL receiver) runs until it is deleted, as a kubelet would let it.
    return owner ? (this.#options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS) : UNBOUNDED_MS;
  }

  #spawn(id: string, prepared: PreparedCommand, timeoutMs: number, graceMs: number): RunningProcess {
    const echo = this.#options.echoOutput
      ? (line: string) => this.#say(`${id} | ${line}`)
      : (_line: string) => undefined;
    return runProcess(prepared, timeoutMs, graceMs, echo);
  }

  async #outcome(result: ProcessResult, terminationLog: string): Promise<Outcome> {
    const { exitCode, stdout, stderr, killedFor } = result;
    if (result.startError) {
      return { exitCode: 128, reason: 'StartError', message: result.startError.message, stdout, stderr };
    }
    const written = await readFile(terminationLog).catch(() => Buffer.alloc(0));
    let message = written.subarray(0, MAX_MESSAGE_BYTES).toString('utf8');
    // As terminationMessagePolicy FallbackToLogsOnError would: the end of the
    // output explains a failure that left no message.
    if (message === '' && exitCode !== 0) message = tailBytes(stderr || stdout, FALLBACK_MESSAGE_BYTES);
    return {
      exitCode,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      message,
      stdout,
      stderr,
      ...(killedFor ? { killedFor } : {}),
    };
  }

  /** The status a kubelet writes when a restartPolicy: Never container ends. */
  async #report(
    pod: V1Pod,
    container: V1Container | undefined,
    phase: 'Succeeded' | 'Failed',
    outcome: Outcome,
    startedAt: Date,
    finishedAt: Date,
  ): Promise<void> {
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? '';
    const now = kubeTime(finishedAt);
    const podReason =
      outcome.killedFor === 'timeout'
        ? {
            reason: 'DeadlineExceeded',
            message: 'Pod was active on the node longer than the specified deadline',
          }
        : outcome.killedFor === 'shutdown'
          ? { reason: 'Terminated', message: 'Pod was terminated in response to imminent node shutdown.' }
          : {};
    const body = {
      status: {
        phase,
        ...podReason,
        conditions: ['Ready', 'ContainersReady'].map((type) => ({
          type,
          status: 'False',
          reason: 'PodCompleted',
          lastTransitionTime: now,
        })),
        containerStatuses: [
          {
            name: container?.name ?? '',
            image: container?.image ?? '',
            imageID: '',
            ready: false,
            started: false,
            restartCount: 0,
            state: {
              terminated: {
                exitCode: outcome.exitCode,
                reason: outcome.reason,
                ...(outcome.message ? { message: outcome.message } : {}),
                startedAt: kubeTime(startedAt),
                finishedAt: now,
              },
            },
          },
        ],
      },
    };
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#core.patchNamespacedPodStatus(
          { name, namespace, body, fieldManager: 'cutover-executor' },
          strategicMergePatch,
        );
        return;
      } catch (err) {
        if (statusCode(err) === 404) return;
        if (attempt >= 8) throw new Error(`could not report the exit in the pod's status: ${errorText(err)}`);
        await delay(Math.min(250 * 2 ** attempt, 5_000));
      }
    }
  }

  #say(line: string): void {
    const log = this.#options.log;
    if (!log) return;
    let text = line;
    for (const secret of this.#secrets) text = text.replaceAll(secret, MASK);
    log(text);
  }
}

/**
 * Starts the command in a process group of its own, so a timeout or a
 * deletion ends everything it started, as a container's end does.
 */
function runProcess(
  prepared: PreparedCommand,
  timeoutMs: number,
  graceMs: number,
  onLine: (line: string) => void,
): RunningProcess {
  const child = spawn(prepared.file, prepared.args, {
    cwd: prepared.cwd,
    env: prepared.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const stdout = new Tail(MAX_OUTPUT_BYTES);
  const stderr = new Tail(MAX_OUTPUT_BYTES);
  const outLines = new Lines(onLine);
  const errLines = new Lines(onLine);
  child.stdout.on('data', (chunk: Buffer) => {
    stdout.push(chunk);
    outLines.push(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr.push(chunk);
    errLines.push(chunk);
  });

  const signalGroup = (signal: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is already gone
    }
  };
  let killedFor: KillReason | undefined;
  let exited = false;
  let escalation: NodeJS.Timeout | undefined;
  const kill = (why: KillReason, grace: number): void => {
    if (exited || killedFor) return;
    killedFor = why;
    signalGroup('SIGTERM');
    escalation = setTimeout(() => signalGroup('SIGKILL'), grace);
  };
  const deadline = setTimeout(() => kill('timeout', graceMs), timeoutMs);

  const done = new Promise<ProcessResult>((resolveResult) => {
    const finish = (exitCode: number, startError?: Error): void => {
      clearTimeout(deadline);
      clearTimeout(escalation);
      outLines.flush();
      errLines.flush();
      resolveResult({
        exitCode,
        stdout: stdout.text(),
        stderr: stderr.text(),
        ...(startError ? { startError } : {}),
        ...(killedFor ? { killedFor } : {}),
      });
    };
    child.once('error', (err) => {
      if (child.pid === undefined) finish(128, err);
    });
    // When the main process ends, the container ends: whatever it left
    // running in the background would otherwise hold the pipes open.
    child.once('exit', () => {
      exited = true;
      signalGroup('SIGKILL');
    });
    child.once('close', (code, signal) => {
      finish(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
  return { done, kill };
}

/** Keeps the last `max` bytes of a stream. */
class Tail {
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    for (
      let first = this.#chunks[0];
      first && this.#size - first.length >= this.max;
      first = this.#chunks[0]
    ) {
      this.#chunks.shift();
      this.#size -= first.length;
    }
  }

  text(): string {
    const all = Buffer.concat(this.#chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

/** Splits a stream into lines, holding a partial last line until it ends. */
class Lines {
  #partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    const lines = (this.#partial + chunk.toString('utf8')).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.onLine(line);
  }

  flush(): void {
    if (this.#partial !== '') this.onLine(this.#partial);
    this.#partial = '';
  }
}

function tailBytes(text: string, max: number): string {
  const bytes = Buffer.from(text, 'utf8');
  let start = Math.max(0, bytes.length - max);
  // Never start inside a multi-byte character.
  while (start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start += 1;
  return bytes.subarray(start).toString('utf8');
}

/** metav1.Time: RFC 3339 in whole seconds. */
function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function timeOf(value: Date | string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? fallback : ms;
}

function statusCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

function errorText(err: unknown): string {
  if (err instanceof ApiException) return `HTTP ${err.code}: ${String(err.message).split('\n')[0] ?? ''}`;
  return err instanceof Error ? err.message : String(err);
}
