// Observe: everything one reconcile needs, read into one Observation. Owned
// objects and policies come from the informer caches; the few reads by name
// (the HTTPRoute, the migration ConfigMaps, a finished Job's pod) happen only
// in the phases that use them.
import type {
  KubernetesObject,
  V1ConfigMap,
  V1Deployment,
  V1Job,
  V1Pod,
  V1Service,
} from '@kubernetes/client-node';
import { ANNOTATIONS } from '../api/annotations.js';
import { resolvePolicies } from '../api/defaults.js';
import type { BackupPolicy, Environment, Release, RollbackPolicy, Slot } from '../api/generated/index.js';
import { atGate, type ConfigFacts, type GateFacts, type Reference } from '../environment/gates.js';
import { MigrationSetError, missingDownFiles, parseMigrationSet } from '../db/files.js';
import { destructiveFindings, lintMigration } from '../db/lint.js';
import { parseReport } from '../backup/report.js';
import {
  ADDRESS_MISSING_MESSAGE,
  PROMETHEUS_ADDRESS_MISSING,
  withPrometheusAddress,
} from '../rollback/address.js';
import { ownedBy } from '../runtime/apply.js';
import { ApiError, type KubeClient } from '../runtime/client.js';
import type { Informer } from '../runtime/informer.js';
import { getOptional } from '../runtime/lookup.js';
import { ANALYSED, observeAnalysis, type AnalysisSources } from './analysis.js';
import { approvalFacts, promotionFacts, type PromotionSources } from './promotion.js';
import { jobName, previewServiceName, runOf, slotName, stableServiceName } from './names.js';
import { selectedSlot } from './objects.js';
import type { JobObservation, Observation, RolloutSpec, SlotObservation } from './plan/index.js';
import { HTTPROUTES, previewWeight, type HTTPRoute } from './traffic/route.js';
import { observeDrift } from './drift/observe.js';
import type { ObservedRoute } from './drift/route.js';

type Cached<T> = Pick<Informer<T & KubernetesObject>, 'get'>;

/** Where observe reads from: caches for what we own and watch, the client for reads by name. */
export interface Sources {
  client: KubeClient;
  now: () => Date;
  deployments: Cached<V1Deployment>;
  services: Cached<V1Service>;
  jobs: Cached<V1Job>;
  rollbackPolicies: Cached<RollbackPolicy>;
  backupPolicies: Cached<BackupPolicy>;
  /** Every HTTPRoute (drift of our weights); absent when the Gateway API is not installed. */
  routes?: Cached<ObservedRoute>;
  analysis: AnalysisSources;
  promotion: PromotionSources;
}

const SETTLED = ['Succeeded', 'Failed', 'RolledBack'];

export async function observe(
  src: Sources,
  rel: Release,
  spec: RolloutSpec,
  env: Environment | undefined,
  /** The Environment's configuration, when it references one (read through the shared cache). */
  config?: ConfigFacts,
): Promise<Observation> {
  const ns = rel.metadata?.namespace ?? '';
  const app = spec.app;
  const status = rel.status ?? {};
  const annotations = rel.metadata?.annotations ?? {};
  const current = status.revision === spec.revision;
  const phase = status.phase;

  const slots: Observation['slots'] = {};
  for (const slot of ['blue', 'green'] as const) {
    const d = src.deployments.get(slotName(app, slot), ns);
    if (d && ownedBy(d, rel)) slots[slot] = slotObservation(d);
  }
  const jobs: Observation['jobs'] = {};
  const run = runOf(spec.revision, status.startedAt);
  const jobNames = {
    expand: status.migrations?.expand?.job ?? jobName(app, 'expand', run, status.attempt ?? 0),
    contract: status.migrations?.contract?.job ?? jobName(app, 'contract', run, status.attempt ?? 0),
    down: status.migrations?.down?.job,
    verify: status.verification?.job,
    // Looked for before the status names it: a crash may have lost the write that did.
    // A failed one is settled (only a retry takes a new one): no pod list per reconcile for its report.
    backup:
      backingUp(phase) && status.backup?.phase !== 'Failed'
        ? (status.backup?.job ?? jobName(app, 'backup', run, status.backup?.attempt ?? 0))
        : undefined,
  };
  for (const [kind, name] of Object.entries(jobNames) as Array<[keyof typeof jobNames, string | undefined]>) {
    const job = name === undefined ? undefined : src.jobs.get(name, ns);
    if (job) jobs[kind] = await jobObservation(src.client, job, rel, kind === 'backup');
  }
  const now = src.now();
  const policies = resolvePolicies(rel, env?.spec.defaults);
  const obs: Observation = {
    now,
    slots,
    jobs,
    annotations: {
      promote: annotations[ANNOTATIONS.promote],
      abort: annotations[ANNOTATIONS.abort],
      retry: annotations[ANNOTATIONS.retry],
    },
    stableSelects: selectedSlot(src.services.get(stableServiceName(app), ns)),
    previewSelects: selectedSlot(src.services.get(previewServiceName(app), ns)) as Slot | undefined,
    gates: gateFacts(src, rel, env, policies, spec.revision, config),
  };
  const drift = observeDrift(src, rel, spec);
  if (drift) obs.drift = drift;
  const policyName = policies.rollback;
  const rbp = policyName === undefined ? undefined : src.rollbackPolicies.get(policyName, ns);
  if (current && rbp && !SETTLED.includes(phase ?? '')) {
    obs.analysis = await observeAnalysis(src.analysis, rel, spec, rbp, now);
  } else if (current && policyName !== undefined && !rbp && ANALYSED.includes(phase ?? 'Pending')) {
    obs.policyMissing = policyName;
  }
  if (current && (phase === 'Migrating' || phase === 'Pending') && !jobs.expand) {
    obs.expandLint = await lintExpand(
      src.client,
      rel,
      obs.analysis?.downMigrations ? obs.analysis.policy : undefined,
    );
  }
  if (current && rel.spec.migrations?.contract && needsContractLint(status, spec, now)) {
    obs.contract = await lintContract(src.client, rel);
  }
  // The policy a backup under way uses, else the one that applies now.
  const backupPolicy = status.backup?.policy ?? policies.backup;
  if (current && backingUp(phase) && backupPolicy !== undefined) {
    obs.backupPolicy = { name: backupPolicy, found: src.backupPolicies.get(backupPolicy, ns) !== undefined };
  }
  // Only these moments read or move the route's weight; after promotion it is settled.
  const weighs =
    phase === 'Deploying' || phase === 'Shifting' || phase === 'RollingBack' || obs.annotations.abort;
  if (spec.mode === 'GatewayAPI' && current && weighs) {
    const route = await readRoute(src.client, rel);
    if (typeof route === 'string') obs.trafficProblem = route;
    else {
      obs.route = route;
      obs.weight = previewWeight(route, stableServiceName(app), previewServiceName(app));
      if (obs.weight === undefined)
        obs.trafficProblem = `HTTPRoute ${route.metadata?.name ?? ''} has no rule with a backendRef to Service ${stableServiceName(app)}`;
    }
  }
  return obs;
}

function gateFacts(
  src: Sources,
  rel: Release,
  env: Environment | undefined,
  names: ReturnType<typeof resolvePolicies>,
  revision: string,
  config: ConfigFacts | undefined,
): GateFacts {
  const namespace = rel.metadata?.namespace ?? '';
  const cached = (inf: Cached<KubernetesObject>, name: string | undefined) =>
    name === undefined ? undefined : { name, found: inf.get(name, namespace) !== undefined };
  const facts: GateFacts = {
    namespace,
    environment: { name: rel.spec.environmentRef.name, found: env !== undefined, object: env },
    rollbackPolicy: policyReference(src, namespace, names.rollback),
    backupPolicy: cached(src.backupPolicies, names.backup),
    ...(config ? { config } : {}),
  };
  // Only a rollout that has not started asks the later gates.
  if (!env || (!atGate(rel.status?.phase) && rel.status?.revision === revision)) return facts;
  facts.promotion = promotionFacts(src.promotion, rel, env);
  facts.approvals = approvalFacts(rel, env, revision);
  return facts;
}

/** A policy that names no Prometheus, with no operator default either, would start a rollout nobody can judge. */
function policyReference(src: Sources, namespace: string, name: string | undefined): Reference | undefined {
  if (name === undefined) return undefined;
  const rbp = src.rollbackPolicies.get(name, namespace);
  if (!rbp) return { name, found: false };
  if (withPrometheusAddress(rbp.spec, src.analysis.prometheusAddress)) return { name, found: true };
  return {
    name,
    found: true,
    problem: { reason: PROMETHEUS_ADDRESS_MISSING, message: ADDRESS_MISSING_MESSAGE },
  };
}

function slotObservation(d: V1Deployment): SlotObservation {
  const replicas = d.spec?.replicas ?? 1;
  const st = d.status ?? {};
  const rolledOut =
    (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    (st.updatedReplicas ?? 0) >= replicas &&
    (st.replicas ?? 0) <= replicas;
  return {
    revision: d.metadata?.labels?.['cutover.dev/revision'],
    version: d.metadata?.labels?.version,
    replicas,
    available: st.availableReplicas ?? 0,
    rolledOut,
  };
}

/** The phases that take (or may be about to take) the backup before the contract. */
const backingUp = (phase: string | undefined): boolean => phase === 'Baking' || phase === 'BackingUp';

/**
 * Whether the backup decision may be taken in this reconcile: at the end of
 * the bake, or in BackingUp before a backup Job is named. Not every
 * reconcile of a long bake, each of which would read the ConfigMap.
 */
function needsContractLint(status: NonNullable<Release['status']>, spec: RolloutSpec, now: Date): boolean {
  if (status.phase === 'BackingUp') return !status.backup?.job;
  if (status.phase !== 'Baking') return false;
  const started = status.phaseStartedAt ? Date.parse(status.phaseStartedAt) : 0;
  return now.getTime() - started >= (spec.contract?.afterMs ?? 0);
}

/** `report`: a backup Job, whose command says how it went in a JSON report. */
async function jobObservation(
  client: KubeClient,
  job: V1Job,
  rel: Release,
  report = false,
): Promise<JobObservation> {
  const ownedByUs = ownedBy(job, rel);
  const failed = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
  const complete = job.status?.conditions?.find((c) => c.type === 'Complete' && c.status === 'True');
  if (!failed && !complete) return { ownedByUs, state: 'Running' };
  if (report && ownedByUs) {
    const text = await terminationMessage(client, job);
    const r = parseReport(text);
    const obs: JobObservation = { ownedByUs, state: failed ? 'Failed' : 'Succeeded' };
    // No report: what the container left instead (its log's tail), else the Job controller's summary.
    if (failed) obs.message = (!r && text?.trim().slice(0, 2000)) || failed.message || 'the Job failed';
    if (r) obs.report = { ok: r.ok, id: r.id, size: r.size, error: r.error };
    return obs;
  }
  if (!failed) return { ownedByUs, state: 'Succeeded' };
  return { ownedByUs, state: 'Failed', message: await failureMessage(client, job, failed.message) };
}

/** The container's termination message, if its pod can still be read. */
async function terminationMessage(client: KubeClient, job: V1Job): Promise<string | undefined> {
  const ns = job.metadata?.namespace ?? '';
  try {
    const pods = await client.request<{ items: V1Pod[] }>('GET', `/api/v1/namespaces/${ns}/pods`, {
      query: { labelSelector: `job-name=${job.metadata?.name ?? ''}` },
    });
    for (const p of pods.items) {
      const message = p.status?.containerStatuses?.[0]?.state?.terminated?.message;
      if (message) return message;
    }
  } catch {
    // the report is then unknown; the Job's own condition still says how it ended
  }
  return undefined;
}

/**
 * Whether the contract would remove or reshape data. Its files are linted
 * like the expand's; an image runs statements nobody can read beforehand, and
 * files that cannot be read may hold anything: both count as destructive.
 */
async function lintContract(client: KubeClient, rel: Release): Promise<Observation['contract']> {
  const contract = rel.spec.migrations?.contract;
  const ref = contract?.configMapRef;
  if (!ref) return { destructive: true, why: `image ${contract?.image ?? ''} cannot be inspected` };
  const ns = rel.metadata?.namespace ?? '';
  const cm = await getOptional<V1ConfigMap>(client, 'v1', 'configmaps', ns, ref.name);
  if (!cm) return { destructive: true, why: `ConfigMap "${ref.name}" not found, so it cannot be inspected` };
  let set;
  try {
    set = parseMigrationSet(Object.entries(cm.data ?? {}).map(([name, sql]) => ({ name, sql })));
  } catch (err) {
    if (err instanceof MigrationSetError)
      return { destructive: true, why: `ConfigMap "${ref.name}" cannot be inspected: ${err.message}` };
    throw err;
  }
  // Only the up halves run in a contract.
  const findings = destructiveFindings(set.map((m) => m.up));
  if (findings.length === 0) return { destructive: false, why: 'no destructive statement' };
  const list = findings.map((f) => `${f.file}:${f.line} ${f.rule}`);
  const shown = list.slice(0, 3).join(', ');
  return { destructive: true, why: list.length > 3 ? `${shown} and ${list.length - 3} more` : shown };
}

/** The container's own last words (its termination message) beat the Job controller's summary. */
async function failureMessage(client: KubeClient, job: V1Job, fallback: string | undefined): Promise<string> {
  const ns = job.metadata?.namespace ?? '';
  try {
    const pods = await client.request<{ items: V1Pod[] }>('GET', `/api/v1/namespaces/${ns}/pods`, {
      query: { labelSelector: `job-name=${job.metadata?.name ?? ''}` },
    });
    for (const p of pods.items) {
      const t = p.status?.containerStatuses?.[0]?.state?.terminated;
      if (t?.message) return t.message.trim().slice(0, 2000);
      if (t && t.exitCode !== 0) return `exit code ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}`;
    }
  } catch {
    // fall back to the Job's own condition
  }
  return fallback ?? 'the Job failed';
}

/** `downPolicy`: the RollbackPolicy that will run the down files, which must then all exist. */
async function lintExpand(
  client: KubeClient,
  rel: Release,
  downPolicy: string | undefined,
): Promise<Observation['expandLint']> {
  const expand = rel.spec.migrations?.expand;
  const needsDown =
    downPolicy === undefined
      ? ''
      : `RollbackPolicy ${downPolicy} runs down migrations on rollback (database.onRollback: RunDownMigrations)`;
  if (expand && !expand.configMapRef && needsDown)
    return { invalid: `${needsDown}, which needs the built-in runner: expand.configMapRef, not an image` };
  const ref = expand?.configMapRef;
  if (!ref) return undefined;
  const ns = rel.metadata?.namespace ?? '';
  const cm = await getOptional<V1ConfigMap>(client, 'v1', 'configmaps', ns, ref.name);
  if (!cm)
    return {
      unreadable: `ConfigMap "${ref.name}" with the expand migrations not found in namespace "${ns}"`,
    };
  // The whole set, as the runner will read it: a bad file name fails before any Job exists.
  const binary = Object.keys(cm.binaryData ?? {})[0];
  if (binary) return { invalid: `ConfigMap "${ref.name}": ${binary}: is binary data, not a SQL migration` };
  let set;
  try {
    set = parseMigrationSet(Object.entries(cm.data ?? {}).map(([name, sql]) => ({ name, sql })));
  } catch (err) {
    if (err instanceof MigrationSetError) return { invalid: `ConfigMap "${ref.name}": ${err.message}` };
    throw err;
  }
  const [missing] = needsDown ? missingDownFiles(set) : [];
  if (missing) {
    const down = missing.replace(/\.up\.sql$/, '.down.sql');
    return {
      invalid: `ConfigMap "${ref.name}": ${missing} has no ${down}; ${needsDown}, so every expand file needs one`,
    };
  }
  // In the runner's order: by version.
  const findings = set
    .flatMap((m) => lintMigration(m.up, 'expand'))
    .map((f) => `${f.file}:${f.line} ${f.rule} (${f.statement})`);
  return { findings };
}

/** The Release's HTTPRoute, or why it cannot be used. */
export async function readRoute(client: KubeClient, rel: Release): Promise<HTTPRoute | string> {
  const name = rel.spec.traffic?.httpRouteRef?.name ?? '';
  const ns = rel.metadata?.namespace ?? '';
  try {
    return await client.get<HTTPRoute & KubernetesObject>({ ...HTTPROUTES, namespace: ns, name });
  } catch (err) {
    if (err instanceof ApiError && err.isNotFound)
      return `HTTPRoute "${name}" not found in namespace "${ns}"`;
    throw err;
  }
}
