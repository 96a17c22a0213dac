import type { Environment, Release, SecretKeySelector } from '../api/generated/index.js';
import type { Decision } from '../runtime/journal.js';
import type { Outgoing } from './deliver.js';
import { forgetGoneTargets, notificationSink } from './index.js';
import type { Caches } from './route.js';

const environment: Environment = {
  apiVersion: 'cutover.dev/v1alpha1',
  kind: 'Environment',
  metadata: { name: 'production', namespace: 'shop' },
  spec: {
    tier: 'production',
    notify: [
      { name: 'ops', urlSecretRef: { name: 'hooks', key: 'ops' }, format: 'json' },
      {
        name: 'chat',
        urlSecretRef: { name: 'hooks', key: 'chat' },
        format: 'slack',
        reasons: ['RolloutSucceeded'],
      },
    ],
  },
};
const release = {
  apiVersion: 'cutover.dev/v1alpha1',
  kind: 'Release',
  metadata: { name: 'web', namespace: 'shop' },
  spec: { environmentRef: { name: 'production' } },
} as Release;
const caches: Caches = {
  environments: { get: () => environment, list: () => [environment] },
  releases: { get: () => release, list: () => [release] },
};

const decision = (reason: string, type: Decision['type']): Decision => ({
  id: `${reason}/${type}`,
  at: '2026-12-03T10:00:00.000Z',
  type,
  reason,
  message: 'm',
  object: { apiVersion: 'cutover.dev/v1alpha1', kind: 'Release', namespace: 'shop', name: 'web' },
});

describe('notificationSink', () => {
  test('enqueues one rendered body per selecting target, and nothing else', () => {
    const queued: Outgoing[] = [];
    const sink = notificationSink({ enqueue: (o) => queued.push(o) }, caches);
    sink(decision('AnalysisFailed', 'Warning'));
    sink(decision('RolloutSucceeded', 'Normal'));
    sink(decision('StepStarted', 'Normal'));
    expect(queued.map((q) => [q.target.name, q.format, q.reason])).toEqual([
      ['ops', 'json', 'AnalysisFailed'],
      ['chat', 'slack', 'RolloutSucceeded'],
    ]);
    expect(queued[0]?.target).toEqual({ namespace: 'shop', environment: 'production', name: 'ops' });
    expect(JSON.parse(queued[0]?.body ?? '')).toMatchObject({
      severity: 'warning',
      environment: { namespace: 'shop', name: 'production', tier: 'production' },
      reason: 'AnalysisFailed',
    });
    expect(JSON.parse(queued[1]?.body ?? '')).toHaveProperty('text');
  });
});

describe('forgetGoneTargets', () => {
  function watch(list: Environment[]) {
    const retained: Array<[string, string, readonly string[]]> = [];
    const named: Array<[string, readonly SecretKeySelector[]]> = [];
    const handler = forgetGoneTargets(
      { retain: (ns, env, names) => retained.push([ns, env, names]) },
      { retain: (ns, refs) => named.push([ns, refs]) },
      { list: () => list },
    );
    return { handler, retained, named };
  }

  test('an Environment changed: its targets now, and the Secret keys its namespace still names', () => {
    const w = watch([environment]);
    w.handler('update', environment);
    expect(w.retained).toEqual([['shop', 'production', ['ops', 'chat']]]);
    expect(w.named).toEqual([
      [
        'shop',
        [
          { name: 'hooks', key: 'ops' },
          { name: 'hooks', key: 'chat' },
        ],
      ],
    ]);
  });

  test('an Environment deleted (or out of the watch scope): none of its targets are kept', () => {
    const w = watch([]);
    w.handler('delete', environment);
    expect(w.retained).toEqual([['shop', 'production', []]]);
    expect(w.named).toEqual([['shop', []]]);
  });
});
