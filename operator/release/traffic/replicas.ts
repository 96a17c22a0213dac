// Replicas mode: the stable Service selects both slots and traffic follows the
// ratio of ready pods, so a weight is a pair of replica counts.
import type { TrafficProvider } from './provider.js';
import { scaleTo, selectCanary, selectStable, services } from './provider.js';

/** Replicas for the new slot at `weight` percent: at least one pod while its weight is above zero. */
export function canaryReplicas(total: number, weight: number): number {
  if (weight <= 0 || total <= 0) return 0;
  return Math.min(total, Math.max(1, Math.round((total * weight) / 100)));
}

export function stableReplicas(total: number, weight: number): number {
  if (weight >= 100) return 0;
  return Math.max(1, total - canaryReplicas(total, weight));
}

export const replicas: TrafficProvider = {
  stepped: true,

  setWeight: (v, weight) => [
    ...services(v, 'both', v.canary),
    ...scaleTo(v, v.canary, canaryReplicas(v.replicas, weight)),
    ...scaleTo(v, v.stable, stableReplicas(v.replicas, weight)),
  ],

  shows: (v, weight, current) =>
    v.slotReplicas[v.canary] === canaryReplicas(v.replicas, weight) &&
    v.slotReplicas[v.stable] === stableReplicas(v.replicas, weight) &&
    canaryReplicas(v.replicas, weight) !== canaryReplicas(v.replicas, current),

  promote: selectCanary,

  // The selector leaves the canary at once; the stable slot grows back to full size.
  rollBack: selectStable,
};
