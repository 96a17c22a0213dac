import type { KubernetesObject } from '@kubernetes/client-node';
import type { Release } from '../api/generated/index.js';
import { claimApplication, heldStatus } from './ownership.js';

const rel = (name: string, created: string, extra: Partial<NonNullable<Release['metadata']>> = {}): Release =>
  ({
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, creationTimestamp: created, ...extra },
    spec: { application: 'shop', environmentRef: { name: 'dev' }, version: '1.0.0', template: {} },
  }) as unknown as Release;

const ownedBy = (owner: string): KubernetesObject => ({
  metadata: {
    name: 'shop-blue',
    ownerReferences: [
      {
        apiVersion: 'cutover.dev/v1alpha1',
        kind: 'Release',
        name: owner,
        uid: `uid-${owner}`,
        controller: true,
      },
    ],
  },
});

const a = rel('a', '2026-03-02T09:00:00Z');
const b = rel('b', '2026-03-02T08:00:00Z');

describe('claimApplication', () => {
  test('objects that are ours: no need to read the other Releases', () => {
    let read = false;
    const contenders = () => {
      read = true;
      return [a, b];
    };
    expect(claimApplication(a, [ownedBy('a'), undefined], contenders)).toEqual({ held: false });
    expect(read).toBe(false);
  });

  test('the owner of the objects keeps them, even against an older Release', () => {
    const claim = claimApplication(b, [ownedBy('a')], () => [a, b]);
    expect(claim).toMatchObject({ held: true, health: { state: 'Stalled', reason: 'ApplicationTaken' } });
    expect(claim.held && claim.health.message).toContain('belongs to Release a');
  });

  test('before any object exists, the oldest Release wins; same time: by name', () => {
    expect(claimApplication(a, [], () => [a, b])).toMatchObject({ held: true });
    expect(claimApplication(b, [], () => [a, b])).toEqual({ held: false });
    const a2 = rel('a2', '2026-03-02T09:00:00Z');
    expect(claimApplication(a2, [], () => [a, a2])).toMatchObject({ held: true });
    expect(claimApplication(a, [], () => [a, a2])).toEqual({ held: false });
  });

  test('a Release being deleted is no contender for objects not yet created', () => {
    const leaving = rel('b', '2026-03-02T08:00:00Z', { deletionTimestamp: '2026-03-02T10:00:00Z' } as never);
    expect(claimApplication(a, [], () => [a, leaving])).toEqual({ held: false });
  });

  test('objects of a deleted owner: wait for the garbage collector, briefly, not Stalled', () => {
    const claim = claimApplication(a, [ownedBy('gone')], () => [a]);
    expect(claim).toMatchObject({
      held: true,
      requeueAfterMs: 2000,
      health: { state: 'Progressing', reason: 'WaitingForGarbageCollection' },
    });
  });

  test('objects split between two Releases (an old fight): the older owner keeps the application', () => {
    const objs = [ownedBy('a'), ownedBy('b')];
    expect(claimApplication(b, objs, () => [a, b])).toEqual({ held: false });
    expect(claimApplication(a, objs, () => [a, b])).toMatchObject({ held: true });
  });
});

describe('heldStatus', () => {
  test('Pending with the claim health, rest of the status kept; unchanged when held again', () => {
    const claim = claimApplication(b, [ownedBy('a')], () => [a, b]);
    if (!claim.held) throw new Error('expected held');
    const now = new Date('2026-03-02T10:00:00Z');
    const s = heldStatus({ history: [] }, claim, 1, now);
    expect(s).toMatchObject({
      phase: 'Pending',
      phaseStartedAt: now.toISOString(),
      observedGeneration: 1,
      history: [],
    });
    expect(s.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual(['Ready=False', 'Stalled=True']);
    expect(heldStatus(s, claim, 1, new Date('2026-03-02T11:00:00Z'))).toEqual(s);
  });
});
