// What the drift check of one reconcile sees: the owned objects the plan
// wants unchanged right now, read from the informer caches (no API call).
//
// How managedFields are read: the caches drop managedFields to save memory,
// except, for the owned Deployments and Services and for HTTPRoutes, the
// entries of other managers that touch the spec (isForeignSpecEntry). In the
// steady state an owned object has none (only ours and the controllers'
// status entries), so the cache costs nothing more; an object someone
// changed carries the entry that names them. No read by name is needed, and
// a change reaches the check with the watch event that reports it.
import { atGate } from '../../environment/gates.js';
import type { KubernetesObject, V1Deployment, V1Service } from '@kubernetes/client-node';
import type { Release, Slot } from '../../api/generated/index.js';
import { ownedBy } from '../../runtime/apply.js';
import type { Informer } from '../../runtime/informer.js';
import { otherSlot, previewServiceName, slotName, stableServiceName } from '../names.js';
import { services, slotDeployment } from '../objects.js';
import type { RolloutSpec } from '../plan/types.js';
import { foreignChanges, type FieldChange } from './fields.js';
import { routeDrift, type ObservedRoute } from './route.js';

export type DriftKind = 'Deployment' | 'Service' | 'HTTPRoute';

/** Which owned object: the slot serving traffic, the scaled-down one, the two Services, the route. */
export type DriftRole = 'active' | 'idle' | 'stable' | 'preview' | 'route';

export interface ObjectDrift {
  kind: DriftKind;
  name: string;
  role: DriftRole;
  /** The object is gone (a managedFields trail does not survive a delete: no manager to name). */
  deleted?: boolean;
  changes: FieldChange[];
  /** Of the live object the changes were found in: a removal is guarded by it. */
  resourceVersion?: string;
}

type Cached<T> = Pick<Informer<T & KubernetesObject>, 'get'>;

export interface DriftSources {
  deployments: Cached<V1Deployment>;
  services: Cached<V1Service>;
  /** Absent when the Gateway API is not installed. */
  routes?: Cached<ObservedRoute>;
}

/**
 * Drift of what the plan wants now, or undefined in the phases where the plan
 * itself moves these objects (a rollout in flight, a rollback) or where there
 * is nothing settled to keep (Failed, RolledBack, before a first promotion).
 * Settled (Succeeded) the plan can rebuild every owned object from the spec;
 * waiting at a gate for a new revision, the serving slot still runs the
 * previous one, whose template the Release no longer holds.
 */
export function observeDrift(src: DriftSources, rel: Release, spec: RolloutSpec): ObjectDrift[] | undefined {
  const status = rel.status ?? {};
  const active = status.activeSlot;
  const settled = status.phase === 'Succeeded' && status.stableRevision === spec.revision;
  const waiting = atGate(status.phase) && status.stableRevision !== undefined;
  if (!active || (!settled && !waiting)) return undefined;
  const ns = rel.metadata?.namespace ?? '';
  const app = spec.app;
  const out: ObjectDrift[] = [];
  const push = (d: ObjectDrift) => {
    if (d.deleted || d.changes.length > 0) out.push(d);
  };
  const mine = <T extends KubernetesObject>(o: T | undefined) => (o && ownedBy(o, rel) ? o : undefined);

  const slotObj = mine(src.deployments.get(slotName(app, active), ns));
  const wantSlot = settled ? slotDeployment(rel, active, spec.replicas, spec.revision) : undefined;
  const activeDrift = objectDrift('Deployment', slotName(app, active), 'active', slotObj, wantSlot);
  const replicas = slotObj?.spec?.replicas;
  // Only zero: any other value either has a manager to name (kubectl scale,
  // an edit) or is spec.replicas changing, which the plan applies itself.
  const shrunk = replicas === 0 && spec.replicas > 0;
  if (slotObj && shrunk && !activeDrift.changes.some((c) => c.path === 'spec.replicas')) {
    // A scale to 0 through the scale subresource leaves no owner for
    // spec.replicas (0 is omitted from the Scale object the apiserver derives
    // managedFields from), so no manager can be named: the value tells.
    activeDrift.changes.unshift({
      path: 'spec.replicas',
      manager: 'an unknown manager',
      how: `set to ${replicas ?? 1}; a scale to zero records no manager`,
      ours: true,
      pointer: '/spec/replicas',
    });
  }
  push(activeDrift);

  // The previous slot, once scaled to zero: only its size is ours to keep.
  const idle: Slot = otherSlot(active);
  const idleObj = mine(src.deployments.get(slotName(app, idle), ns));
  if (idleObj && status.scaleDownAt === undefined) {
    const d = objectDrift('Deployment', slotName(app, idle), 'idle', idleObj, undefined);
    d.changes = d.changes.filter((c) => c.path === 'spec.replicas').map((c) => ({ ...c, ours: true }));
    push(d);
  }

  const previewObj = mine(src.services.get(previewServiceName(app), ns));
  const wantServices = settled ? services(rel, active, previewObj ? active : undefined) : [];
  const stableObj = mine(src.services.get(stableServiceName(app), ns));
  push(objectDrift('Service', stableServiceName(app), 'stable', stableObj, wantServices[0]));
  if (previewObj)
    push(objectDrift('Service', previewServiceName(app), 'preview', previewObj, wantServices[1]));

  const routeName = rel.spec.traffic?.httpRouteRef?.name;
  const route = spec.mode === 'GatewayAPI' && routeName ? src.routes?.get(routeName, ns) : undefined;
  if (route) {
    const changes = routeDrift(route, stableServiceName(app), previewServiceName(app));
    push({ kind: 'HTTPRoute', name: routeName ?? '', role: 'route', changes, ...rv(route) });
  }
  return out;
}

function objectDrift(
  kind: DriftKind,
  name: string,
  role: DriftRole,
  live: KubernetesObject | undefined,
  desired: object | undefined,
): ObjectDrift {
  if (!live) return { kind, name, role, deleted: true, changes: [] };
  return { kind, name, role, changes: foreignChanges(live, desired), ...rv(live) };
}

const rv = (o: KubernetesObject) =>
  o.metadata?.resourceVersion ? { resourceVersion: o.metadata.resourceVersion } : {};
