// Release reconciler: observe (caches, plus a few reads by name) → plan (pure,
// plan/) → act (owned objects, traffic) → one status write → the plan's
// Events. A control annotation is cleared only after the status that answers
// it has landed: if the write fails, the next reconcile sees the request again.
import type { KubernetesObject, V1Deployment, V1Job, V1Namespace, V1Service } from '@kubernetes/client-node';
import type { BackupPolicy, Environment, Release, RollbackPolicy } from '../api/generated/index.js';
import { ANNOTATIONS } from '../api/annotations.js';
import { resolvePolicies } from '../api/defaults.js';
import {
  BACKUP_POLICIES,
  ENVIRONMENTS,
  RELEASES,
  ROLLBACK_POLICIES,
  TENANT_NAMESPACES,
} from '../api/kinds.js';
import {
  CONFIGMAP_METADATA,
  SECRET_METADATA,
  environmentsReferencing,
  type ConfigCache,
  type ConfigKind,
} from '../environment/config-source.js';
import type { Logger } from '../runtime/log.js';
import { keyOf, type Controller, type InformerRef, type Manager } from '../runtime/manager.js';
import type { OperatorMetrics } from '../runtime/metrics.js';
import { watchedSecretValues } from '../runtime/secret-values.js';
import { recordEvent, writeStatus } from '../runtime/status.js';
import type { Analyzer } from '../rollback/analyze.js';
import { carryOut, type ActContext } from './act.js';
import { AnalysisSchedule } from './analysis.js';
import { ReleaseMetrics } from './metrics.js';
import { DEFAULT_MIGRATE_IMAGE } from './objects.js';
import { observe, type Sources } from './observe.js';
import { planRelease } from './plan/index.js';
import { resolveSpec } from './spec.js';
import { Downstream } from './downstream.js';
import { atGate } from '../environment/gates.js';
import { isForeignSpecEntry } from './drift/fields.js';
import type { ObservedRoute } from './drift/route.js';
import { previewServiceName, slotName, stableServiceName } from './names.js';
import { APPLICATION_TAKEN, claimApplication, heldStatus } from './ownership.js';
import { HTTPROUTES } from './traffic/route.js';

const owned = (apiVersion: string, resource: string, kind: string): InformerRef => ({
  apiVersion,
  resource,
  kind,
  labelSelector: 'app.kubernetes.io/managed-by=cutover',
});

/** Drift reads other managers' spec entries from the cache (see drift/observe.ts); nothing else is kept. */
const withForeignFields = (ref: InformerRef): InformerRef => ({
  ...ref,
  keepManagedFields: isForeignSpecEntry,
});

export interface ReleaseControllerOptions {
  migrateImage?: string;
  /** The clock every plan reads; tests and benchmarks may move it. */
  now?: () => Date;
  /** What evaluates RollbackPolicies: Prometheus and PostgreSQL, shared with the RollbackPolicy controller. */
  analyzer: Pick<Analyzer, 'evaluate'>;
  /** The Environments' configuration, evaluated once for all their Releases (shared with the Environment controller). */
  config: ConfigCache;
  /** --prometheus-address: for RollbackPolicies that leave spec.prometheus.address unset. */
  prometheusAddress?: string;
}

export function releaseController(
  m: Manager,
  metrics: OperatorMetrics,
  log: Logger,
  opts: ReleaseControllerOptions,
): Controller {
  const releases = m.informer<Release>(RELEASES);
  const environments = m.informer<Environment>(ENVIRONMENTS);
  const refs = {
    deployments: withForeignFields(owned('apps/v1', 'deployments', 'Deployment')),
    services: withForeignFields(owned('v1', 'services', 'Service')),
    jobs: owned('batch/v1', 'jobs', 'Job'),
    // Every route: they are the users' objects, not labelled as ours.
    routes: withForeignFields({ ...HTTPROUTES, kind: 'HTTPRoute' }),
  };
  const routes = m.informer<ObservedRoute & KubernetesObject>(refs.routes, { optional: true });
  const now = opts.now ?? (() => new Date());
  const deployments = m.informer<V1Deployment & KubernetesObject>(refs.deployments);
  const schedule = new AnalysisSchedule();
  const sources: Sources = {
    client: m.client,
    now,
    deployments,
    services: m.informer<V1Service & KubernetesObject>(refs.services),
    jobs: m.informer<V1Job & KubernetesObject>(refs.jobs),
    rollbackPolicies: m.informer<RollbackPolicy>(ROLLBACK_POLICIES),
    routes,
    backupPolicies: m.informer<BackupPolicy>(BACKUP_POLICIES),
    analysis: {
      slotTemplate: (ns, name) => deployments.get(name, ns)?.spec?.template,
      schedule,
      secrets: watchedSecretValues(m.client, m.informer(SECRET_METADATA)),
      analyzer: opts.analyzer,
      prometheusAddress: opts.prometheusAddress,
    },
    promotion: {
      releases,
      environments,
      namespaces: m.informer<V1Namespace & KubernetesObject>(TENANT_NAMESPACES),
      watches: (namespace) => m.watches(namespace),
    },
  };
  const rm = new ReleaseMetrics(metrics.registry);
  const ctx: ActContext = {
    client: m.client,
    migrateImage: opts.migrateImage ?? DEFAULT_MIGRATE_IMAGE,
    now,
  };
  const inNamespace = (o: KubernetesObject) => releases.list(o.metadata?.namespace ?? '').map(keyOf);
  const downstream = new Downstream(releases, environments);
  const sameApplication = (rel: Release) =>
    releases.list(rel.metadata?.namespace ?? '').filter((r) => r.spec.application === rel.spec.application);
  const ownedObjects = (rel: Release): Array<KubernetesObject | undefined> => {
    const ns = rel.metadata?.namespace ?? '';
    const app = rel.spec.application;
    return [
      deployments.get(slotName(app, 'blue'), ns),
      deployments.get(slotName(app, 'green'), ns),
      sources.services.get(stableServiceName(app), ns),
      sources.services.get(previewServiceName(app), ns),
    ];
  };
  // A configuration change concerns the Releases waiting at a gate, or all of
  // them when it starts a rollout (rolloutOnChange); a settled Release ignores it.
  const onConfig =
    (kind: ConfigKind) =>
    (obj: KubernetesObject): string[] => {
      const envs = environmentsReferencing(environments, kind, obj);
      if (envs.length === 0) return [];
      const rollsAll = new Map(envs.map((e) => [e.metadata?.name, e.spec.config?.rolloutOnChange === true]));
      return releases
        .list(obj.metadata?.namespace ?? '')
        .filter((r) => {
          const all = rollsAll.get(r.spec.environmentRef.name);
          return all !== undefined && (all || atGate(r.status?.phase));
        })
        .map(keyOf);
    };

  return {
    kind: 'Release',
    primary: RELEASES,
    owns: [refs.deployments, refs.services, refs.jobs],
    watches: [
      {
        ref: ENVIRONMENTS,
        // Its spec is what a Release reads; its status changes with every Release's and concerns none of them.
        generationChangesOnly: true,
        map: (env) =>
          releases
            .list(env.metadata?.namespace ?? '')
            .filter((r) => r.spec.environmentRef.name === env.metadata?.name)
            .map(keyOf),
      },
      // Only the Releases that use the policy: its status is written every minute.
      {
        ref: ROLLBACK_POLICIES,
        map: (rbp) => {
          const ns = rbp.metadata?.namespace ?? '';
          return releases
            .list(ns)
            .filter((r) => {
              const env = environments.get(r.spec.environmentRef.name, ns);
              return resolvePolicies(r, env?.spec.defaults).rollback === rbp.metadata?.name;
            })
            .map(keyOf);
        },
      },
      { ref: BACKUP_POLICIES, map: inNamespace },
      // What promotion.from waits on: a Release there, the Environment itself, a tenant label.
      { ref: RELEASES, map: downstream.ofRelease },
      { ref: ENVIRONMENTS, generationChangesOnly: true, map: downstream.ofEnvironment },
      { ref: TENANT_NAMESPACES, map: downstream.ofNamespace },
      // A changed route wakes the Releases weighting it (drift of our weights).
      {
        ref: refs.routes,
        optional: true,
        map: (route) =>
          releases
            .list(route.metadata?.namespace ?? '')
            .filter((r) => r.spec.traffic?.httpRouteRef?.name === route.metadata?.name)
            .map(keyOf),
      },
      // An application's owner is gone: the next Release naming it may take it over.
      { ref: RELEASES, events: ['delete'], map: (gone) => sameApplication(gone as Release).map(keyOf) },
      { ref: CONFIGMAP_METADATA, map: onConfig('ConfigMap') },
      { ref: SECRET_METADATA, map: onConfig('Secret') },
    ],
    async reconcile({ namespace, name }) {
      const rel = releases.get(name, namespace);
      const key = `${namespace}/${name}`;
      // Being deleted: the garbage collector removes what it owns; nothing to roll out.
      if (!rel || rel.metadata?.deletionTimestamp) {
        schedule.forget(key);
        rm.forget(namespace, name);
        return undefined;
      }
      const claim = claimApplication(rel, ownedObjects(rel), () => sameApplication(rel));
      if (claim.held) {
        const next = heldStatus(rel.status ?? {}, claim, rel.metadata?.generation ?? 0, now());
        const fresh = !rel.status?.conditions?.some((c) => c.reason === claim.health.reason);
        await writeStatus(m.client, RELEASES, rel, next);
        if (fresh && claim.event)
          await recordEvent(
            m.client,
            rel,
            { type: 'Warning', reason: APPLICATION_TAKEN, message: claim.event },
            now(),
          );
        // Nothing of this Release runs: an abort has nothing to stop, and must not linger to stop its first rollout.
        if (rel.metadata?.annotations?.[ANNOTATIONS.abort] !== undefined) {
          await recordEvent(
            m.client,
            rel,
            { type: 'Normal', reason: 'AbortIgnored', message: `nothing to abort: ${claim.health.message}` },
            now(),
          );
          await m.client.patch(
            { ...RELEASES, namespace, name },
            { metadata: { annotations: { [ANNOTATIONS.abort]: null } } },
            'merge',
          );
        }
        return { requeueAfterMs: claim.requeueAfterMs };
      }
      const env = environments.get(rel.spec.environmentRef.name, namespace);
      const config = await opts.config.facts(env);
      const spec = resolveSpec(rel, env, config?.hash);
      const obs = await observe(sources, rel, spec, env, config);
      const plan = planRelease(spec, rel.status ?? {}, obs);
      // Outcomes are counted once their status has landed, whatever fails after it.
      const commit = async () => {
        await writeStatus(m.client, RELEASES, rel, plan.status);
        rm.observe(rel, plan.status, obs.analysis?.evaluation);
        rm.drifted(plan.drifted, spec.driftMode);
      };
      // Its Events speak of the status this plan decided: a new rollout's revision, not the one it replaces.
      const decided: Release = { ...rel, status: plan.status };
      await carryOut(ctx, decided, spec, obs, plan, commit);
      if (plan.evaluateNow) schedule.force(key);
      if (obs.analysis?.evaluation) rm.evaluated(obs.analysis.evaluation, obs.analysis.latenessMs);
      if (plan.actions.length > 0)
        log.debug({ release: `${namespace}/${name}`, actions: plan.actions.map((a) => a.type) }, 'acted');
      if (plan.requeueAfterMs === undefined) return undefined;
      // The plan's timers count from its observation; the time this reconcile took is already gone.
      const spent = now().getTime() - obs.now.getTime();
      return { requeueAfterMs: Math.max(0, plan.requeueAfterMs - spent) };
    },
  };
}
