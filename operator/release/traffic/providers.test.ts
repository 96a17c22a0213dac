import { gatewayApi } from './gateway-api.js';
import type { TrafficView } from './provider.js';
import { canaryReplicas, replicas, stableReplicas } from './replicas.js';
import { service } from './service.js';

/** Mid-rollout: blue is stable at 4 replicas, green is the canary. */
function view(over: Partial<TrafficView> = {}): TrafficView {
  return {
    replicas: 4,
    stable: 'blue',
    canary: 'green',
    slotReplicas: { blue: 4, green: 4 },
    stableSelects: 'blue',
    previewSelects: 'green',
    routeWeight: 0,
    ...over,
  };
}

describe('GatewayAPI', () => {
  test('a step is one route patch when the Services already point right', () => {
    expect(gatewayApi.setWeight(view(), 25)).toEqual([
      { type: 'SetWeight', weight: 25, stable: 'blue', canary: 'green' },
    ]);
  });

  test('nothing to write when the route already carries the weight', () => {
    expect(gatewayApi.setWeight(view({ routeWeight: 25 }), 25)).toEqual([]);
  });

  test('Services that point elsewhere are applied before the weight moves', () => {
    expect(gatewayApi.setWeight(view({ stableSelects: undefined, previewSelects: undefined }), 10)).toEqual([
      { type: 'ApplyServices', stable: 'blue', preview: 'green' },
      { type: 'SetWeight', weight: 10, stable: 'blue', canary: 'green' },
    ]);
  });

  test('reads the step from the route alone', () => {
    expect(gatewayApi.shows(view({ routeWeight: 50 }), 50, 25)).toBe(true);
    expect(gatewayApi.shows(view({ routeWeight: 25 }), 50, 25)).toBe(false);
  });

  test('promotion: both Services on the new slot, then the route share back to 0', () => {
    expect(gatewayApi.promote(view({ routeWeight: 100 }))).toEqual([
      { type: 'ApplyServices', stable: 'green', preview: 'green' },
      { type: 'SetWeight', weight: 0, stable: 'green', canary: 'green' },
    ]);
  });

  test('a first rollout never weighs the route, and gets no preview Service', () => {
    const first = view({
      stable: 'blue',
      canary: 'blue',
      routeWeight: undefined,
      stableSelects: undefined,
      previewSelects: undefined,
      slotReplicas: { blue: 4 },
    });
    expect(gatewayApi.promote(first)).toEqual([{ type: 'ApplyServices', stable: 'blue' }]);
  });

  test('the second rollout creates the preview Service before the first weight moves', () => {
    const second = view({ previewSelects: undefined });
    expect(gatewayApi.setWeight(second, 10)).toEqual([
      { type: 'ApplyServices', stable: 'blue', preview: 'green' },
      { type: 'SetWeight', weight: 10, stable: 'blue', canary: 'green' },
    ]);
  });

  test('rollback is the route patch first, and only that when the stable slot is intact', () => {
    expect(gatewayApi.rollBack(view({ routeWeight: 50 }))).toEqual([
      { type: 'SetWeight', weight: 0, stable: 'blue', canary: 'green' },
    ]);
    expect(gatewayApi.rollBack(view({ routeWeight: 0 }))).toEqual([]);
  });

  test('rollback grows a stable slot that was scaled down', () => {
    expect(gatewayApi.rollBack(view({ routeWeight: 0, slotReplicas: { blue: 0, green: 4 } }))).toEqual([
      { type: 'ScaleSlot', slot: 'blue', replicas: 4 },
    ]);
  });
});

describe('Replicas', () => {
  const atWeight = (w: number) =>
    view({
      stableSelects: 'both',
      slotReplicas: { blue: stableReplicas(4, w), green: canaryReplicas(4, w) },
    });

  test('the new slot gets at least one pod while its weight is above zero', () => {
    expect([0, 10, 25, 50, 100].map((w) => canaryReplicas(4, w))).toEqual([0, 1, 1, 2, 4]);
    expect([0, 10, 25, 50, 100].map((w) => stableReplicas(4, w))).toEqual([4, 3, 3, 2, 0]);
    expect(canaryReplicas(1, 10)).toBe(1);
    expect(stableReplicas(1, 10)).toBe(1);
  });

  test('a step is the stable Service over both slots and a pair of replica counts', () => {
    expect(replicas.setWeight(view({ slotReplicas: { blue: 4, green: 1 } }), 50)).toEqual([
      { type: 'ApplyServices', stable: 'both', preview: 'green' },
      { type: 'ScaleSlot', slot: 'green', replicas: 2 },
      { type: 'ScaleSlot', slot: 'blue', replicas: 2 },
    ]);
    expect(replicas.setWeight(atWeight(50), 50)).toEqual([]);
  });

  test('cannot tell two weights apart that need the same pods', () => {
    expect(replicas.shows(atWeight(25), 25, 10)).toBe(false);
    expect(replicas.shows(atWeight(50), 50, 25)).toBe(true);
    expect(replicas.shows(atWeight(25), 50, 25)).toBe(false);
  });

  test('promotion switches the selector and grows the new slot to full size', () => {
    expect(replicas.promote(atWeight(100))).toEqual([
      { type: 'ApplyServices', stable: 'green', preview: 'green' },
    ]);
    expect(replicas.promote(atWeight(50))).toEqual([
      { type: 'ApplyServices', stable: 'green', preview: 'green' },
      { type: 'ScaleSlot', slot: 'green', replicas: 4 },
    ]);
  });

  test('rollback: the selector leaves the canary at once, and the stable slot grows back', () => {
    expect(replicas.rollBack(atWeight(50))).toEqual([
      { type: 'ApplyServices', stable: 'blue', preview: 'green' },
      { type: 'ScaleSlot', slot: 'blue', replicas: 4 },
    ]);
  });
});

describe('Service', () => {
  test('has no steps: promotion is the selector switch', () => {
    expect(service.stepped).toBe(false);
    expect(service.setWeight(view(), 50)).toEqual([]);
    expect(service.shows(view(), 100, 0)).toBe(false);
    expect(service.promote(view())).toEqual([{ type: 'ApplyServices', stable: 'green', preview: 'green' }]);
  });

  test('rollback points the selector back at the stable slot', () => {
    expect(service.rollBack(view({ stableSelects: 'green', previewSelects: 'green' }))).toEqual([
      { type: 'ApplyServices', stable: 'blue', preview: 'green' },
    ]);
    expect(service.rollBack(view())).toEqual([]);
  });
});
