import type { Environment, Release } from '../api/generated/index.js';
import { Downstream } from './downstream.js';

const env = (ns: string, name: string, from?: { namespace?: string; name: string }): Environment => ({
  apiVersion: 'cutover.dev/v1alpha1',
  kind: 'Environment',
  metadata: { name, namespace: ns },
  spec: { tier: 'production', ...(from ? { promotion: { from } } : {}) },
});

const rel = (ns: string, name: string, envName: string, phase: string): Release =>
  ({
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: { name, namespace: ns },
    spec: { environmentRef: { name: envName }, application: name, version: '1', template: {} },
    status: { phase },
  }) as Release;

const releases = [
  rel('a-prd', 'web', 'production', 'Pending'),
  rel('a-prd', 'api', 'production', 'Succeeded'),
  rel('a-stg', 'web', 'staging', 'Succeeded'),
  rel('b-prd', 'web', 'production', 'AwaitingApproval'),
];
const envs = [
  env('a-stg', 'staging'),
  env('a-prd', 'production', { namespace: 'a-stg', name: 'staging' }),
  env('b-prd', 'production', { namespace: 'a-stg', name: 'other' }),
];
const downstream = new Downstream(
  { list: (ns?: string) => releases.filter((r) => ns === undefined || r.metadata?.namespace === ns) },
  { list: () => envs },
);

describe('Downstream', () => {
  test('a Release in the source Environment wakes the waiting Releases that promote from it, only those', () => {
    expect(downstream.ofRelease(rel('a-stg', 'web', 'staging', 'Succeeded'))).toEqual(['a-prd/web']);
  });

  test('the source Environment appearing wakes them too', () => {
    expect(downstream.ofEnvironment(env('a-stg', 'other'))).toEqual(['b-prd/web']);
  });

  test("a namespace's tenant label: its own waiting Releases and everything promoting from it", () => {
    expect(downstream.ofNamespace({ metadata: { name: 'a-stg' } }).sort()).toEqual([
      'a-prd/web',
      'b-prd/web',
    ]);
    expect(downstream.ofNamespace({ metadata: { name: 'a-prd' } })).toEqual(['a-prd/web']);
  });
});
