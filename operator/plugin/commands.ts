// What each kubectl-cutover command does against the cluster. Rendering and
// argument parsing live in pure modules beside this one.
import {
  ApiException,
  AuthenticationV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import type { V1CronJob, V1Job, V1Pod } from '@kubernetes/client-node';
import type { Environment, Release } from '../api/generated/index.js';
import { cronJobName, jobFromCronJob, manualJobName, restoreJob } from '../backup/objects.js';
import { parseReport, type Report } from '../backup/report.js';
import { ANNOTATIONS } from '../api/annotations.js';
import { API_VERSION } from '../api/kinds.js';
import type { Invocation } from './args.js';
import { approverProblem, planApproval, renderApproval, type ApprovalPlan } from './approval.js';
import { isTerminal, renderHistory, renderStatus, type RenderOptions } from './render.js';

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
  now: () => Date;
}

const FIELD_MANAGER = 'kubectl-cutover';

// The operator writes status often during a rollout, and each write moves
// resourceVersion; a handful of attempts rides out that churn.
const CONFLICT_ATTEMPTS = 5;

/** An error meant for the user as it stands: printed without a stack. */
class PluginError extends Error {}

/** Runs one parsed invocation and returns the exit code: 0 done, 1 failed. */
export async function execute(inv: Invocation, io: Io): Promise<number> {
  try {
    await run(inv, io);
    return 0;
  } catch (err) {
    io.stderr(`Error: ${describe(err, inv)}\n`);
    return 1;
  }
}

interface Target {
  api: KubernetesObjectApi;
  name: string;
  namespace: string;
}

async function run(inv: Invocation, io: Io): Promise<void> {
  if (inv.command === 'audit') return audit(inv, io);
  const kc = loadKubeconfig(inv.kubeconfig);
  const namespace = inv.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  const target: Target = { api: KubernetesObjectApi.makeApiClient(kc), name: inv.release, namespace };

  switch (inv.command) {
    case 'status': {
      const release = await readRelease(target);
      if (inv.output === 'json') {
        io.stdout(json(release.status ?? {}));
        return;
      }
      const options: RenderOptions = { color: useColor(io), now: io.now() };
      const env = await readEnvironment(target, release);
      const defaults = env?.spec.defaults?.traffic;
      if (defaults) options.defaults = defaults;
      const windows = env?.spec.promotion?.windows;
      if (windows) options.windows = windows;
      io.stdout(renderStatus(release, options));
      return;
    }
    case 'history': {
      const release = await readRelease(target);
      io.stdout(
        inv.output === 'json'
          ? json(release.status?.history ?? [])
          : renderHistory(release, { color: useColor(io) }),
      );
      return;
    }
    case 'promote':
    case 'abort':
    case 'retry':
      await request(target, io, inv.command);
      return;
    case 'approve':
      await approve(target, io, await authenticatedUser(kc));
      return;
    case 'backup':
      await followJob(target, io, await startFromCronJob(target, io, 'full', jobFromCronJob));
      return;
    case 'restore': {
      const req = inv.restore;
      if (!req) throw new PluginError('restore needs --pgdata or --target');
      const build = (cron: V1CronJob, name: string) => restoreJob(cron, name, req);
      await followJob(target, io, await startFromCronJob(target, io, 'restore', build));
      return;
    }
  }
}

/** Reads PostgreSQL, not the cluster: the kubeconfig only names the default namespace, if it can. */
async function audit(inv: Invocation, io: Io): Promise<void> {
  const { auditDatabaseUrl, readAudit, renderAudit, sinceInstant, AuditReadError } =
    await import('./audit.js');
  let namespace = inv.namespace;
  if (namespace === undefined) {
    try {
      const kc = loadKubeconfig(inv.kubeconfig);
      namespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
    } catch {
      // No usable kubeconfig: the audit table does not need one.
    }
  }
  const since = inv.audit?.since ? sinceInstant(inv.audit.since, io.now()) : undefined;
  const q = { namespace: namespace ?? 'default', release: inv.release, ...(since ? { since } : {}) };
  try {
    const records = await readAudit(auditDatabaseUrl(inv.audit?.databaseUrl, io.env), io.env, q);
    io.stdout(inv.output === 'json' ? json(records) : renderAudit(records, q, { color: useColor(io) }));
  } catch (err) {
    if (err instanceof AuditReadError) throw new PluginError(err.message);
    throw err;
  }
}

/**
 * Starts a Job from the policy's full CronJob (the operator keeps it up to
 * date: image, storage, Secrets), so the plugin needs no image or storage
 * settings of its own.
 */
async function startFromCronJob(
  target: Target,
  io: Io,
  kind: 'full' | 'restore',
  build: (cron: V1CronJob, name: string) => V1Job,
): Promise<string> {
  const cronName = cronJobName(target.name, 'full');
  let cron: V1CronJob;
  try {
    cron = (await target.api.read({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: cronName, namespace: target.namespace },
    })) as V1CronJob;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404)
      throw new PluginError(
        `no CronJob ${cronName} in namespace "${target.namespace}": is BackupPolicy ${target.name} there and Ready? (kubectl get bkp ${target.name})`,
      );
    throw err;
  }
  const job = build(cron, manualJobName(target.name, kind, io.now()));
  await target.api.create(job as KubernetesObject);
  const name = job.metadata?.name ?? '';
  io.stdout(`job.batch/${name} created in namespace ${target.namespace}\n`);
  return name;
}

/** Follows a Job to its end and prints its command's report. */
async function followJob(target: Target, io: Io, name: string): Promise<void> {
  const header = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: target.namespace } };
  for (;;) {
    let job: V1Job;
    try {
      job = (await target.api.read(header)) as V1Job;
    } catch (err) {
      if (err instanceof ApiException && err.code === 404)
        throw new PluginError(
          `Job ${name} is gone (deleted, or removed after it finished) before it reported`,
        );
      throw err;
    }
    const done = job.status?.conditions?.find(
      (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    );
    if (done) {
      const report = await jobReport(target, name);
      if (done.type === 'Complete') {
        io.stdout(`${name} succeeded${report?.id ? `: ${report.id}` : ''}\n`);
        return;
      }
      throw new PluginError(
        `${name} failed: ${report?.error ?? done.message ?? 'see kubectl logs job/' + name}`,
      );
    }
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

async function jobReport(target: Target, job: string): Promise<Report | undefined> {
  const pods = await target.api.list<V1Pod & KubernetesObject>(
    'v1',
    'Pod',
    target.namespace,
    undefined,
    undefined,
    undefined,
    undefined,
    `job-name=${job}`,
  );
  for (const p of pods.items) {
    const r = parseReport(p.status?.containerStatuses?.[0]?.state?.terminated?.message);
    if (r) return r;
  }
  return undefined;
}

const VERB = { promote: 'promotion', abort: 'abort', retry: 'retry' } as const;

async function request(target: Target, io: Io, command: 'promote' | 'abort' | 'retry'): Promise<void> {
  const key = ANNOTATIONS[command];
  // A fresh timestamp each time, so asking again is a change the operator sees.
  const value = io.now().toISOString();
  await annotate(target, (release) => {
    const phase = release.status?.phase;
    if (command !== 'retry' && isTerminal(phase)) {
      throw new PluginError(
        `release ${where(target)} is ${phase ?? 'finished'}: there is no rollout in progress to ${command}`,
      );
    }
    return { [key]: value };
  });
  io.stdout(
    `Requested ${VERB[command]} of release ${where(target)} (${key}=${value}); the operator acts on it at its next reconcile.\n`,
  );
}

/**
 * Adds the caller's approval of the revision the Release specifies now. The
 * revision is computed from the same read whose resourceVersion the patch
 * carries, so a spec that changed meanwhile is re-read, never approved blind.
 */
async function approve(target: Target, io: Io, user: string): Promise<void> {
  let plan: ApprovalPlan | undefined;
  await annotate(target, (release) => {
    plan = planApproval(release, user);
    return plan.annotation === undefined ? undefined : { [ANNOTATIONS.approvedBy]: plan.annotation };
  });
  if (plan) io.stdout(renderApproval(plan, `${target.namespace}/${target.name}`));
}

/**
 * The user the apiserver authenticates these credentials as (after any
 * impersonation the kubeconfig asks for): the only name the admission policy
 * accepts in an approval.
 */
async function authenticatedUser(kc: KubeConfig): Promise<string> {
  let user = '';
  try {
    const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    user = review.status?.userInfo?.username ?? '';
  } catch (err) {
    throw new PluginError(
      `cannot learn which user these credentials authenticate as (SelfSubjectReview, authentication.k8s.io/v1, Kubernetes 1.28+): ${reviewFailure(err)}`,
    );
  }
  const problem = approverProblem(user);
  if (problem) throw new PluginError(problem);
  return user;
}

function reviewFailure(err: unknown): string {
  if (!(err instanceof ApiException)) return err instanceof Error ? err.message : String(err);
  // The generated client leaves a 401's body unread.
  if (err.code === 401) return 'HTTP 401 Unauthorized, the cluster does not accept these credentials';
  return apiMessage(err.body) ?? `HTTP ${err.code}`;
}

/**
 * Reads the Release, lets `decide` pick the annotations to set (undefined:
 * nothing to do), and merge-patches them with the resourceVersion it read,
 * so a decision made on a stale read (an approver list that lost an entry,
 * a phase that just turned terminal) is re-made rather than written.
 */
async function annotate(
  target: Target,
  decide: (release: Release) => Record<string, string> | undefined,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const release = await readRelease(target);
    const annotations = decide(release);
    if (annotations === undefined) return;
    try {
      await target.api.patch(
        {
          apiVersion: API_VERSION,
          kind: 'Release',
          metadata: {
            name: target.name,
            namespace: target.namespace,
            resourceVersion: release.metadata?.resourceVersion,
            annotations,
          },
        },
        undefined,
        undefined,
        FIELD_MANAGER,
        undefined,
        PatchStrategy.MergePatch,
      );
      return;
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 409) || attempt >= CONFLICT_ATTEMPTS) throw err;
    }
  }
}

async function readRelease(target: Target): Promise<Release> {
  const header = {
    apiVersion: API_VERSION,
    kind: 'Release',
    metadata: { name: target.name, namespace: target.namespace },
  };
  try {
    return (await target.api.read(header)) as KubernetesObject as Release;
  } catch (err) {
    if (
      err instanceof ApiException &&
      err.code === 404 &&
      !err.message.startsWith('Failed to fetch resource')
    ) {
      throw new PluginError(`release "${target.name}" not found in namespace "${target.namespace}"`);
    }
    throw err;
  }
}

/**
 * The Release's Environment, for its traffic defaults and windows. The view
 * must not fail over this: a missing or unreadable Environment is the
 * operator's to report in the conditions; meanwhile the built-in defaults
 * are the best guess and the Window line is left out.
 */
async function readEnvironment(target: Target, release: Release): Promise<Environment | undefined> {
  try {
    return (await target.api.read({
      apiVersion: API_VERSION,
      kind: 'Environment',
      metadata: { name: release.spec.environmentRef.name, namespace: target.namespace },
    })) as KubernetesObject as Environment;
  } catch {
    return undefined;
  }
}

function loadKubeconfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path !== undefined) {
      if (!existsSync(path)) throw new PluginError(`kubeconfig ${path} does not exist`);
      kc.loadFromFile(path);
    } else {
      kc.loadFromDefault();
    }
  } catch (err) {
    if (err instanceof PluginError) throw err;
    throw new PluginError(`cannot load the kubeconfig: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!kc.getCurrentCluster()) {
    throw new PluginError(
      'the kubeconfig has no current context with a cluster; pass --kubeconfig or set KUBECONFIG',
    );
  }
  return kc;
}

// https://no-color.org: any non-empty NO_COLOR turns colour off.
function useColor(io: Io): boolean {
  return io.isTTY && !io.env.NO_COLOR;
}

function where(target: Target): string {
  return `"${target.name}" in namespace "${target.namespace}"`;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function describe(err: unknown, inv: Invocation): string {
  if (err instanceof PluginError) return err.message;
  if (err instanceof ApiException) {
    if (err.code === 404 && err.message.startsWith('Failed to fetch resource')) {
      return inv.command === 'backup' || inv.command === 'restore'
        ? 'the cluster does not serve batch/v1 Jobs or CronJobs as expected'
        : 'the cluster does not serve cutover.dev/v1alpha1 Releases; are the Cutover CRDs installed?';
    }
    const detail = apiMessage(err.body) ?? `HTTP ${err.code}`;
    if (err.code === 409) return `${detail} (the release kept changing; run ${inv.command} again)`;
    return detail;
  }
  return err instanceof Error ? err.message : String(err);
}

// ApiException.body is the server's Status, parsed or not depending on the
// content type, and its message is the part worth showing.
function apiMessage(body: unknown): string | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body) as unknown;
    } catch {
      return body.trim() || undefined;
    }
  }
  if (
    typeof value === 'object' &&
    value !== null &&
    'message' in value &&
    typeof value.message === 'string'
  ) {
    return value.message;
  }
  return undefined;
}
