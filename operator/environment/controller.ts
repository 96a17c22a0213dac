// Environment reconciler. Policies and Releases come from the cache; the
// ConfigMap and Secret are known by their metadata (watched) and their data is
// read through the configuration cache the Release controller shares, so a
// change of either wakes the Environments that reference it.
import type { KubernetesObject } from '@kubernetes/client-node';
import type {
  BackupPolicy,
  Environment,
  NotificationHealth,
  Release,
  RollbackPolicy,
} from '../api/generated/index.js';
import { BACKUP_POLICIES, ENVIRONMENTS, RELEASES, ROLLBACK_POLICIES } from '../api/kinds.js';
import { keyOf, type Clock, type Controller, type Manager } from '../runtime/manager.js';
import { commitStatus } from '../runtime/reconcile.js';
import { recordEvent } from '../runtime/status.js';
import {
  CONFIGMAP_METADATA,
  SECRET_METADATA,
  environmentsReferencing,
  type ConfigCache,
  type ConfigKind,
} from './config-source.js';
import { configChange, planEnvironmentStatus, type EnvironmentObservation } from './plan.js';

export interface EnvironmentControllerOptions extends Clock {
  /** The configuration cache shared with the Release controller. */
  config: ConfigCache;
  /** Health of the notification targets (status.notifications); it wakes us when it changes. */
  notifications: { health(namespace: string, environment: string): ReadonlyMap<string, NotificationHealth> };
}

export function environmentController(
  m: Manager,
  { now = () => new Date(), config, notifications }: EnvironmentControllerOptions,
): Controller {
  const environments = m.informer<Environment>(ENVIRONMENTS);
  const rollbackPolicies = m.informer<RollbackPolicy>(ROLLBACK_POLICIES);
  const backupPolicies = m.informer<BackupPolicy>(BACKUP_POLICIES);
  const releases = m.informer<Release>(RELEASES);
  const inNamespace = (o: KubernetesObject) => environments.list(o.metadata?.namespace ?? '').map(keyOf);
  const referencing = (kind: ConfigKind) => (o: KubernetesObject) =>
    environmentsReferencing(environments, kind, o).map(keyOf);

  return {
    kind: 'Environment',
    primary: ENVIRONMENTS,
    watches: [
      { ref: ROLLBACK_POLICIES, map: inNamespace },
      { ref: BACKUP_POLICIES, map: inNamespace },
      {
        ref: RELEASES,
        map: (r) => [`${r.metadata?.namespace ?? ''}/${(r as Release).spec.environmentRef.name}`],
      },
      { ref: CONFIGMAP_METADATA, map: referencing('ConfigMap') },
      { ref: SECRET_METADATA, map: referencing('Secret') },
    ],
    async reconcile({ namespace, name }) {
      const env = environments.get(name, namespace);
      if (!env) {
        config.forget(namespace, name);
        return undefined;
      }
      const { defaults } = env.spec;
      const facts = await config.facts(env);
      const missing = facts?.missing ?? [];
      const found = (kind: string, ref: { name: string } | undefined) =>
        ref ? !missing.includes(`${kind} "${ref.name}"`) : undefined;
      const obs: EnvironmentObservation = {
        rollbackPolicyFound: defaults?.rollbackPolicyRef
          ? rollbackPolicies.get(defaults.rollbackPolicyRef.name, namespace) !== undefined
          : undefined,
        backupPolicyFound: defaults?.backupPolicyRef
          ? backupPolicies.get(defaults.backupPolicyRef.name, namespace) !== undefined
          : undefined,
        configMapFound: found('ConfigMap', env.spec.config?.configMapRef),
        secretFound: found('Secret', env.spec.config?.secretRef),
        config: facts,
        releases: releases.list(namespace).filter((r) => r.spec.environmentRef.name === name),
        notifications: notifications.health(namespace, name),
      };
      const at = now();
      const next = planEnvironmentStatus(env, obs, at);
      // Said once: only the write that records the new hash says it changed.
      const wrote = await commitStatus(m.client, ENVIRONMENTS, env, next, at);
      const change = wrote ? configChange(env, env.status, next) : undefined;
      if (change) await recordEvent(m.client, env, change, at);
      return undefined;
    },
  };
}
