// Act: carry out the plan's actions in the order it lists them (traffic moves
// back before anything is scaled away). Owned objects by server-side apply or
// create-once; the route by a guarded JSON patch from the observed version.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { BackupPolicy, Release } from '../api/generated/index.js';
import { BACKUP_POLICIES, RELEASES } from '../api/kinds.js';
import { createOnce, remove, scale } from '../runtime/apply.js';
import type { KubeClient } from '../runtime/client.js';
import { getOptional } from '../runtime/lookup.js';
import { releaseBackupJob } from './backup.js';
import { recordEvent } from '../runtime/status.js';
import { previewServiceName, slotName, stableServiceName } from './names.js';
import { downMigrationJob, migrationJob, services, slotDeployment, verifyJob } from './objects.js';
import type { Action, Observation, Plan, RolloutSpec } from './plan/index.js';
import { HTTPROUTES, weightPatch, type HTTPRoute } from './traffic/route.js';
import { readRoute } from './observe.js';
import { removals } from './drift/fields.js';

export interface ActContext {
  client: KubeClient;
  migrateImage: string;
  /** The operator's clock: what a decision's time is recorded on. */
  now: () => Date;
}

/**
 * A plan carried out around its one status write. Its Events (and with them
 * the audit records and notifications of its decisions) go only once that
 * status has landed: a write refused with a conflict re-plans on fresh data
 * and decides again, and an Event said before it would be said twice (two
 * "approved by alice"); an Event about an action (a Job created) goes only
 * once the action succeeded, not once per failing retry. A plan that commits
 * first (a rollback must survive a crash before traffic moves) records its
 * decision right after that write, before the actions that may fail: the
 * next reconcile carries them on from the written status and would not say
 * it again. Annotations are cleared last, once their answer is written.
 */
export async function carryOut(
  ctx: ActContext,
  rel: Release,
  spec: RolloutSpec,
  obs: Observation,
  plan: Pick<Plan, 'actions' | 'commitFirst'>,
  commit: () => Promise<void>,
): Promise<void> {
  const events = plan.actions.filter((a) => a.type === 'Event');
  const clears = plan.actions.filter((a) => a.type === 'ClearAnnotation');
  const effects = plan.actions.filter((a) => a.type !== 'Event' && a.type !== 'ClearAnnotation');
  if (plan.commitFirst) {
    await commit();
    await act(ctx, rel, spec, obs, events);
    await act(ctx, rel, spec, obs, effects);
  } else {
    await act(ctx, rel, spec, obs, effects);
    await commit();
    await act(ctx, rel, spec, obs, events);
  }
  await act(ctx, rel, spec, obs, clears);
}

export async function act(
  ctx: ActContext,
  rel: Release,
  spec: RolloutSpec,
  obs: Observation,
  actions: readonly Action[],
): Promise<void> {
  const { client } = ctx;
  const namespace = rel.metadata?.namespace ?? '';
  const deployment = (name: string) => ({ apiVersion: 'apps/v1', resource: 'deployments', namespace, name });
  const service = (name: string) => ({ apiVersion: 'v1', resource: 'services', namespace, name });
  // A second weight change in the same reconcile (promotion) patches from the route the first returned.
  let route = obs.route;
  for (const a of actions) {
    switch (a.type) {
      case 'ApplySlot': {
        const obj = slotDeployment(rel, a.slot, a.replicas, spec.revision, spec.configHash);
        await client.apply(deployment(slotName(spec.app, a.slot)), obj as KubernetesObject);
        break;
      }
      case 'ScaleSlot':
        await scale(client, deployment(slotName(spec.app, a.slot)), a.replicas);
        break;
      case 'ApplyServices':
        for (const svc of services(rel, a.stable, a.preview)) {
          const name = svc.metadata?.name ?? '';
          await client.apply(service(name), svc as KubernetesObject);
        }
        break;
      case 'SetWeight':
        route = await setWeight(client, rel, route, a.weight);
        break;
      case 'CreateJob': {
        const job =
          a.kind === 'verify'
            ? verifyJob(rel, a.name, spec.revision, a.slot)
            : a.kind === 'backup'
              ? await backupJobFor(ctx, rel, spec, a.name, a.policy)
              : a.kind === 'down'
                ? downMigrationJob(rel, a.name, spec.revision, a.run, ctx.migrateImage)
                : migrationJob(rel, a.kind, a.name, spec.revision, a.run, ctx.migrateImage);
        const target = { apiVersion: 'batch/v1', resource: 'jobs', namespace, name: a.name };
        await createOnce(client, target, job as KubernetesObject, rel);
        break;
      }
      case 'RemoveFields': {
        const resource = a.kind === 'Deployment' ? deployment(a.name) : service(a.name);
        await client.patch(resource, removals(a.resourceVersion, a.pointers), 'json');
        break;
      }
      case 'DeleteJob':
        await remove(client, { apiVersion: 'batch/v1', resource: 'jobs', namespace, name: a.name });
        break;
      case 'ClearAnnotation':
        await client.patch(
          { ...RELEASES, namespace, name: rel.metadata?.name },
          { metadata: { annotations: { [a.key]: null } } },
          'merge',
        );
        break;
      case 'Event':
        await recordEvent(
          client,
          rel,
          { type: a.kind, reason: a.reason, message: a.message, details: a.details },
          ctx.now(),
        );
        break;
    }
  }
}

/** Act has no caches: one read by name, once per backup Job. */
async function backupJobFor(ctx: ActContext, rel: Release, spec: RolloutSpec, name: string, policy: string) {
  const ns = rel.metadata?.namespace ?? '';
  const bkp = await getOptional<BackupPolicy>(
    ctx.client,
    BACKUP_POLICIES.apiVersion,
    BACKUP_POLICIES.resource,
    ns,
    policy,
  );
  // The work queue retries; the plan reports a policy that stays missing.
  if (!bkp) throw new Error(`BackupPolicy ${policy} not found in namespace ${ns}`);
  return releaseBackupJob(rel, bkp, name, spec.revision, ctx.migrateImage);
}

/** Patches our two weights; the patch's `test` operations fail it if the route changed since it was read. */
async function setWeight(
  client: KubeClient,
  rel: Release,
  observed: HTTPRoute | undefined,
  weight: number,
): Promise<HTTPRoute> {
  const route = observed ?? (await readRoute(client, rel));
  if (typeof route === 'string') throw new Error(route);
  const app = rel.spec.application;
  const patch = weightPatch(route, stableServiceName(app), previewServiceName(app), weight);
  if ('problem' in patch) throw new Error(patch.problem);
  return client.patch<HTTPRoute & KubernetesObject>(
    { ...HTTPROUTES, namespace: rel.metadata?.namespace, name: route.metadata?.name },
    patch.ops,
    'json',
  );
}
