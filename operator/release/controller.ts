// Release reconciler: observe (caches, plus a few reads by name) → plan (pure,
// plan.ts) → act (owned objects by server-side apply, traffic, one status
// write). Actions run in the order the plan lists them: traffic moves back
// before anything is scaled away.
import type {
  KubernetesObject,
  V1ConfigMap,
  V1Deployment,
  V1Job,
  V1Pod,
  V1Service,
} from '@kubernetes/client-node';
import type { BackupPolicy, Environment, Release, RollbackPolicy, Slot } from '../api/generated/index.js';
import { BACKUP_POLICIES, ENVIRONMENTS, RELEASES, ROLLBACK_POLICIES } from '../api/kinds.js';
import { DEFAULT_STEP_DURATION, DEFAULT_STEPS } from '../api/defaults.js';
import { lintMigration } from '../db/lint.js';
import { ApiError } from '../runtime/client.js';
import { parseDuration } from '../runtime/duration.js';
import { getOptional } from '../runtime/lookup.js';
import type { Logger } from '../runtime/log.js';
import { keyOf, type Controller, type InformerRef, type Manager } from '../runtime/manager.js';
import type { OperatorMetrics } from '../runtime/metrics.js';
import { firstBrokenRef, type RefCheck } from '../runtime/refs.js';
import { recordEvent, writeStatus } from '../runtime/status.js';
import { ReleaseMetrics } from './metrics.js';
import {
  migrationJob,
  ownedBy,
  selectedSlot,
  services,
  slotDeployment,
  DEFAULT_MIGRATE_IMAGE,
} from './objects.js';
import { jobName, previewServiceName, revisionOf, slotName, stableServiceName } from './names.js';
import {
  planRelease,
  type Action,
  type GateResult,
  type JobObservation,
  type Observation,
  type RolloutSpec,
  type SlotObservation,
} from './plan.js';
import { previewWeight, weightPatch, type HTTPRoute } from './traffic.js';

const OWNED = 'app.kubernetes.io/managed-by=cutover';
export const DEPLOYMENTS: InformerRef = {
  apiVersion: 'apps/v1',
  resource: 'deployments',
  kind: 'Deployment',
  labelSelector: OWNED,
};
export const SERVICES: InformerRef = {
  apiVersion: 'v1',
  resource: 'services',
  kind: 'Service',
  labelSelector: OWNED,
};
export const JOBS: InformerRef = {
  apiVersion: 'batch/v1',
  resource: 'jobs',
  kind: 'Job',
  labelSelector: OWNED,
};
const HTTPROUTES = { apiVersion: 'gateway.networking.k8s.io/v1', resource: 'httproutes' };

export interface ReleaseControllerOptions {
  migrateImage?: string;
}

/** Policy names in force: the Release's own, else its Environment's defaults. */
export function policyNames(
  rel: Release,
  env: Environment | undefined,
): { rollback?: string; backup?: string } {
  return {
    rollback: rel.spec.rollbackPolicyRef?.name ?? env?.spec.defaults?.rollbackPolicyRef?.name,
    backup: rel.spec.backupPolicyRef?.name ?? env?.spec.defaults?.backupPolicyRef?.name,
  };
}

export function resolveSpec(rel: Release, env: Environment | undefined): RolloutSpec {
  const t = rel.spec.traffic ?? {};
  const contract = rel.spec.migrations?.contract;
  return {
    app: rel.spec.application,
    version: rel.spec.version,
    revision: revisionOf(rel.spec.application, rel.spec.version, rel.spec.template),
    generation: rel.metadata?.generation ?? 0,
    replicas: rel.spec.replicas ?? 1,
    mode: t.mode ?? 'Replicas',
    steps: [...(t.steps ?? env?.spec.defaults?.traffic?.steps ?? DEFAULT_STEPS)],
    stepDurationMs: parseDuration(
      t.stepDuration ?? env?.spec.defaults?.traffic?.stepDuration ?? DEFAULT_STEP_DURATION,
    ),
    progressDeadlineMs: parseDuration(rel.spec.progressDeadline ?? '10m'),
    scaleDownDelayMs: parseDuration(rel.spec.scaleDownDelay ?? '10m'),
    paused: rel.spec.paused ?? false,
    expand: rel.spec.migrations?.expand !== undefined,
    contract: contract ? { afterMs: parseDuration(contract.after ?? '30m') } : undefined,
  };
}

export function releaseController(
  m: Manager,
  metrics: OperatorMetrics,
  log: Logger,
  opts: ReleaseControllerOptions = {},
): Controller {
  const releases = m.informer<Release>(RELEASES);
  const environments = m.informer<Environment>(ENVIRONMENTS);
  const rollbackPolicies = m.informer<RollbackPolicy>(ROLLBACK_POLICIES);
  const backupPolicies = m.informer<BackupPolicy>(BACKUP_POLICIES);
  const deployments = m.informer<V1Deployment & KubernetesObject>(DEPLOYMENTS);
  const svcs = m.informer<V1Service & KubernetesObject>(SERVICES);
  const jobs = m.informer<V1Job & KubernetesObject>(JOBS);
  const rm = new ReleaseMetrics(metrics.registry);
  /** The HTTPRoute read while observing, reused by the same reconcile's weight patch. */
  const routes = new Map<string, HTTPRoute>();
  const inNamespace = (o: KubernetesObject) => releases.list(o.metadata?.namespace ?? '').map(keyOf);

  async function observe(
    rel: Release,
    spec: RolloutSpec,
    env: Environment | undefined,
  ): Promise<Observation> {
    const ns = rel.metadata?.namespace ?? '';
    const app = rel.spec.application;
    const now = new Date();
    const slots: Partial<Record<Slot, SlotObservation>> = {};
    for (const slot of ['blue', 'green'] as const) {
      const d = deployments.get(slotName(app, slot), ns);
      if (d && ownedBy(d, rel)) slots[slot] = slotObservation(d);
    }
    const status = rel.status ?? {};
    const jobsSeen: Observation['jobs'] = {};
    for (const phase of ['expand', 'contract'] as const) {
      const name = status.migrations?.[phase]?.job ?? jobName(app, phase, spec.revision, status.attempt ?? 0);
      const job = jobs.get(name, ns);
      if (job) jobsSeen[phase] = await jobObservation(job, rel);
    }
    const annotations = rel.metadata?.annotations ?? {};
    const obs: Observation = {
      now,
      slots,
      jobs: jobsSeen,
      annotations: {
        promote: annotations['cutover.dev/promote'],
        abort: annotations['cutover.dev/abort'],
        retry: annotations['cutover.dev/retry'],
      },
      stableSelects: selectedSlot(svcs.get(stableServiceName(app), ns)),
      previewSelects: selectedSlot(svcs.get(previewServiceName(app), ns)) as Slot | undefined,
      gate: gateFor(rel, env),
    };
    const phase = status.phase;
    if (
      status.revision === spec.revision &&
      (phase === 'Migrating' || phase === 'Pending') &&
      !jobsSeen.expand
    ) {
      obs.expandLint = await lintExpand(rel);
    }
    if (
      spec.mode === 'GatewayAPI' &&
      status.revision === spec.revision &&
      // Only these phases read or move the weight; after promotion the route is settled.
      (phase === 'Deploying' || phase === 'Shifting')
    ) {
      const route = await routeOf(rel);
      if (typeof route === 'string') obs.trafficProblem = route;
      else {
        // Kept for this reconcile's weight patch: its `test` operations guard against a stale read.
        routes.set(keyOf(rel), route);
        obs.weight = previewWeight(route, stableServiceName(app), previewServiceName(app));
        if (obs.weight === undefined) obs.trafficProblem = noRuleProblem(rel);
      }
    }
    return obs;
  }

  function gateFor(rel: Release, env: Environment | undefined): GateResult | undefined {
    const ns = rel.metadata?.namespace ?? '';
    const names = policyNames(rel, env);
    const checks: RefCheck[] = [
      { kind: 'Environment', name: rel.spec.environmentRef.name, namespace: ns, found: env !== undefined },
    ];
    if (names.rollback)
      checks.push({
        kind: 'RollbackPolicy',
        name: names.rollback,
        namespace: ns,
        found: rollbackPolicies.get(names.rollback, ns) !== undefined,
      });
    if (names.backup)
      checks.push({
        kind: 'BackupPolicy',
        name: names.backup,
        namespace: ns,
        found: backupPolicies.get(names.backup, ns) !== undefined,
      });
    const broken = firstBrokenRef(checks);
    // Environment gates (approvals, windows, config rules) join this list in their own issue.
    return broken
      ? { phase: 'Pending', reason: broken.reason, message: broken.message, stalled: true }
      : undefined;
  }

  async function jobObservation(job: V1Job & KubernetesObject, rel: Release): Promise<JobObservation> {
    const failed = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
    const complete = job.status?.conditions?.find((c) => c.type === 'Complete' && c.status === 'True');
    if (!failed) return { ownedByUs: ownedBy(job, rel), state: complete ? 'Succeeded' : 'Running' };
    return {
      ownedByUs: ownedBy(job, rel),
      state: 'Failed',
      message: await failureMessage(job, failed.message),
    };
  }

  /** The container's own last words (its termination message) beat the Job controller's summary. */
  async function failureMessage(
    job: V1Job & KubernetesObject,
    fallback: string | undefined,
  ): Promise<string> {
    const ns = job.metadata?.namespace ?? '';
    try {
      const pods = await m.client.request<{ items: V1Pod[] }>('GET', `/api/v1/namespaces/${ns}/pods`, {
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

  async function lintExpand(rel: Release): Promise<Observation['expandLint']> {
    const ref = rel.spec.migrations?.expand?.configMapRef;
    if (!ref) return undefined;
    const ns = rel.metadata?.namespace ?? '';
    const cm = await getOptional<V1ConfigMap>(m.client, 'v1', 'configmaps', ns, ref.name);
    if (!cm)
      return {
        unreadable: `ConfigMap "${ref.name}" with the expand migrations not found in namespace "${ns}"`,
      };
    const findings = Object.entries(cm.data ?? {})
      .filter(([name]) => name.endsWith('.up.sql'))
      .sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([name, sql]) => lintMigration({ name, sql }, 'expand'))
      .map((f) => `${f.file}:${f.line} ${f.rule} (${f.statement})`);
    return { findings };
  }

  async function routeOf(rel: Release): Promise<HTTPRoute | string> {
    const name = rel.spec.traffic?.httpRouteRef?.name ?? '';
    const ns = rel.metadata?.namespace ?? '';
    try {
      return await m.client.get<HTTPRoute & KubernetesObject>({ ...HTTPROUTES, namespace: ns, name });
    } catch (err) {
      if (err instanceof ApiError && err.isNotFound)
        return `HTTPRoute "${name}" not found in namespace "${ns}"`;
      throw err;
    }
  }

  function noRuleProblem(rel: Release): string {
    return `HTTPRoute ${rel.spec.traffic?.httpRouteRef?.name ?? ''} has no rule with a backendRef to Service ${stableServiceName(rel.spec.application)}`;
  }

  async function act(rel: Release, spec: RolloutSpec, actions: readonly Action[]): Promise<void> {
    const ns = rel.metadata?.namespace ?? '';
    for (const a of actions) {
      switch (a.type) {
        case 'ApplySlot':
          await m.client.apply(
            {
              apiVersion: 'apps/v1',
              resource: 'deployments',
              namespace: ns,
              name: slotName(spec.app, a.slot),
            },
            slotDeployment(rel, a.slot, a.replicas, spec.revision) as KubernetesObject,
          );
          break;
        case 'ScaleSlot':
          await scale(ns, slotName(spec.app, a.slot), a.replicas);
          break;
        case 'ApplyServices':
          for (const svc of services(rel, a.stable, a.preview)) {
            await m.client.apply(
              { apiVersion: 'v1', resource: 'services', namespace: ns, name: svc.metadata?.name },
              svc as KubernetesObject,
            );
          }
          break;
        case 'SetWeight':
          await setWeight(rel, a.weight);
          rm.weight.set({ namespace: ns, release: rel.metadata?.name ?? '' }, a.weight);
          break;
        case 'CreateJob':
          await createJob(rel, a.phase, a.name, spec.revision);
          break;
        case 'DeleteJob':
          await ignoreNotFound(
            m.client.delete({ apiVersion: 'batch/v1', resource: 'jobs', namespace: ns, name: a.name }),
          );
          break;
        case 'ClearAnnotation':
          await m.client.patch(
            { ...RELEASES, namespace: ns, name: rel.metadata?.name },
            { metadata: { annotations: { [a.key]: null } } },
            'merge',
          );
          break;
        case 'Event':
          await recordEvent(m.client, rel, { type: a.kind, reason: a.reason, message: a.message });
          break;
      }
    }
  }

  async function scale(ns: string, name: string, replicas: number): Promise<void> {
    await ignoreNotFound(
      m.client.patch(
        { apiVersion: 'apps/v1', resource: 'deployments', namespace: ns, name, subresource: 'scale' },
        { spec: { replicas } },
        'merge',
      ),
    );
  }

  async function setWeight(rel: Release, weight: number): Promise<void> {
    const ns = rel.metadata?.namespace ?? '';
    const route = routes.get(keyOf(rel)) ?? (await routeOf(rel));
    routes.delete(keyOf(rel));
    if (typeof route === 'string') throw new Error(route);
    const patch = weightPatch(
      route,
      stableServiceName(rel.spec.application),
      previewServiceName(rel.spec.application),
      weight,
    );
    if ('problem' in patch) throw new Error(patch.problem);
    const patched = await m.client.patch<HTTPRoute & KubernetesObject>(
      { ...HTTPROUTES, namespace: ns, name: route.metadata?.name },
      patch.ops,
      'json',
    );
    // A second weight change in the same reconcile (promotion) patches from the new version.
    routes.set(keyOf(rel), patched);
  }

  async function createJob(
    rel: Release,
    phase: 'expand' | 'contract',
    name: string,
    revision: string,
  ): Promise<void> {
    const ns = rel.metadata?.namespace ?? '';
    try {
      await m.client.create(
        { apiVersion: 'batch/v1', resource: 'jobs', namespace: ns },
        migrationJob(
          rel,
          phase,
          name,
          revision,
          opts.migrateImage ?? DEFAULT_MIGRATE_IMAGE,
        ) as KubernetesObject,
      );
    } catch (err) {
      // Created by an earlier run whose status write never landed: the name is the proof, the owner the check.
      if (!(err instanceof ApiError && err.status === 409)) throw err;
      const existing = await m.client.get<V1Job & KubernetesObject>({
        apiVersion: 'batch/v1',
        resource: 'jobs',
        namespace: ns,
        name,
      });
      if (!ownedBy(existing, rel)) throw new Error(`Job ${name} exists and is not owned by this Release`);
    }
  }

  return {
    kind: 'Release',
    primary: RELEASES,
    owns: [DEPLOYMENTS, SERVICES, JOBS],
    watches: [
      {
        ref: ENVIRONMENTS,
        map: (env) =>
          releases
            .list(env.metadata?.namespace ?? '')
            .filter((r) => r.spec.environmentRef.name === env.metadata?.name)
            .map(keyOf),
      },
      { ref: ROLLBACK_POLICIES, map: inNamespace },
      { ref: BACKUP_POLICIES, map: inNamespace },
    ],
    async reconcile({ namespace, name }) {
      const rel = releases.get(name, namespace);
      // Being deleted: the garbage collector removes what it owns; nothing to roll out.
      if (!rel || rel.metadata?.deletionTimestamp) return undefined;
      const env = environments.get(rel.spec.environmentRef.name, namespace);
      const resolved = resolveSpec(rel, env);
      const obs = await observe(rel, resolved, env);
      const plan = planRelease(resolved, rel.status ?? {}, obs);
      // A control annotation is cleared only once the status that answers it has landed:
      // if the write fails, the next reconcile sees the request again.
      const clears = plan.actions.filter((a) => a.type === 'ClearAnnotation');
      await act(
        rel,
        resolved,
        plan.actions.filter((a) => a.type !== 'ClearAnnotation'),
      );
      await writeStatus(m.client, RELEASES, rel, plan.status);
      await act(rel, resolved, clears);
      routes.delete(`${namespace}/${name}`);
      rm.observe(rel, plan.status);
      if (plan.actions.length > 0)
        log.debug({ release: `${namespace}/${name}`, actions: plan.actions.map((a) => a.type) }, 'acted');
      return plan.requeueAfterMs === undefined ? undefined : { requeueAfterMs: plan.requeueAfterMs };
    },
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

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiError && err.isNotFound)) throw err;
  }
}
