// GatewayAPI mode: the stable Service <app> serves the stable slot, <app>-preview
// the canary, and the user's HTTPRoute weighs the two backends. The route is
// read fresh while a rollout moves traffic (route.ts has the guarded patch).
import {
  selectCanary,
  selectStable,
  services,
  type TrafficAction,
  type TrafficProvider,
  type TrafficView,
} from './provider.js';

const routeWeight = (v: TrafficView, weight: number): TrafficAction[] =>
  v.routeWeight === weight ? [] : [{ type: 'SetWeight', weight, stable: v.stable, canary: v.canary }];

export const gatewayApi: TrafficProvider = {
  stepped: true,

  setWeight: (v, weight) => [...services(v, v.stable, v.canary), ...routeWeight(v, weight)],

  shows: (v, weight) => v.routeWeight === weight,

  promote: (v) => [
    ...selectCanary(v),
    // The stable Service now selects the new slot: the route's preview share goes back to 0.
    // A first rollout has no other slot and never weighed the route.
    ...(v.stable === v.canary || v.routeWeight === 0
      ? []
      : [{ type: 'SetWeight' as const, weight: 0, stable: v.canary, canary: v.canary }]),
  ],

  // While shifting, the Services are already right and one route patch takes the
  // traffic back. During the bake the preview weight is already 0 and the stable
  // Service's selector is what moves back: a route that cannot be read must not stop it.
  rollBack: (v) => [...selectStable(v), ...routeWeight(v, 0)],
};
