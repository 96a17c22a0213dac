// How traffic moves between the two slots, one provider per traffic mode.
// Providers are pure: from what was observed, the actions that bring the
// cluster to a weight. Each one only asks for what the cluster does not show
// yet, so re-asserting a step after someone edited a route or scaled a slot
// costs nothing when nothing changed. A new mode (a mesh, say) is one new file.
import type { Slot } from '../../api/generated/index.js';

export type TrafficAction =
  /**
   * Without `preview`, only the stable Service: a first rollout has nothing to
   * preview. Without `stable`, only the preview Service (verification).
   */
  | { type: 'ApplyServices'; stable?: Slot | 'both'; preview?: Slot }
  | { type: 'ScaleSlot'; slot: Slot; replicas: number }
  | { type: 'SetWeight'; weight: number; stable: Slot; canary: Slot };

/** What a provider needs to know of the cluster and the rollout. */
export interface TrafficView {
  /** spec.replicas: what a slot serving all traffic runs. */
  replicas: number;
  /** Slot serving the stable version. */
  stable: Slot;
  /** Slot being rolled out. */
  canary: Slot;
  /** spec.replicas of each slot's Deployment, where it exists. */
  slotReplicas: Partial<Record<Slot, number>>;
  /** Slot the stable Service selects (undefined: no such Service, or not one of ours). */
  stableSelects?: Slot | 'both';
  previewSelects?: Slot;
  /** Weight the HTTPRoute gives the preview Service, where it was read. */
  routeWeight?: number;
}

export interface TrafficProvider {
  /** Whether the mode moves traffic in steps at all (Service switches at once). */
  readonly stepped: boolean;
  /** Actions that put `weight` percent of traffic on the canary slot. */
  setWeight(v: TrafficView, weight: number): TrafficAction[];
  /**
   * Whether the cluster already carries `weight`, told apart from `current`
   * (a step whose status write was lost). Replica counts cannot always tell
   * two weights apart: 10 % and 25 % of 4 replicas are both one pod.
   */
  shows(v: TrafficView, weight: number, current: number): boolean;
  /** Actions that make the canary slot the stable one at 100 %. */
  promote(v: TrafficView): TrafficAction[];
  /** Actions that put all traffic back on the stable slot; the canary is scaled away after them. */
  rollBack(v: TrafficView): TrafficAction[];
}

/** Services pointing at `stable` and `preview`, unless they already do. */
export function services(v: TrafficView, stable: Slot | 'both', preview?: Slot): TrafficAction[] {
  const settled = v.stableSelects === stable && (preview === undefined || v.previewSelects === preview);
  if (settled) return [];
  return [
    preview === undefined ? { type: 'ApplyServices', stable } : { type: 'ApplyServices', stable, preview },
  ];
}

/** The preview Service on `slot`, leaving the stable Service as it is: verification moves no traffic. */
export function preview(v: TrafficView, slot: Slot): TrafficAction[] {
  return v.previewSelects === slot ? [] : [{ type: 'ApplyServices', preview: slot }];
}

/** Scale `slot` to `replicas`, unless its Deployment already asks for that many. */
export function scaleTo(v: TrafficView, slot: Slot, replicas: number): TrafficAction[] {
  return v.slotReplicas[slot] === replicas ? [] : [{ type: 'ScaleSlot', slot, replicas }];
}

/** Every mode rolls back the same way at its core: the stable Service on the stable slot, at full size. */
export function selectStable(v: TrafficView): TrafficAction[] {
  const short = (v.slotReplicas[v.stable] ?? 0) < v.replicas;
  return [...services(v, v.stable, v.canary), ...(short ? scaleTo(v, v.stable, v.replicas) : [])];
}

/**
 * Promotion in every mode: both Services on the new slot, which runs at full
 * size. A first rollout gets no preview Service: nothing is previewed yet, and
 * every ClusterIP Service is an allocation the apiserver makes one at a time
 * (half of what a bulk apply of new Releases waits for). The next rollout
 * creates it when it first needs it.
 */
export function selectCanary(v: TrafficView): TrafficAction[] {
  const preview = v.stable === v.canary ? undefined : v.canary;
  return [...services(v, v.canary, preview), ...scaleTo(v, v.canary, v.replicas)];
}
