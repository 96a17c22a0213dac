// DatabasePool triggers: read through the injected reader, once per database.
import type { RollbackPolicySpec, Trigger } from '../api/generated/index.js';
import { createAnalyzer } from './analyze.js';
import type { PoolUsage } from './database.js';
import type { PrometheusClient } from './prometheus.js';
import type { AnalysisTarget } from './types.js';

// DatabasePool reads nothing from Prometheus.
const client: PrometheusClient = { query: () => Promise.reject(new Error('unexpected query')) };

const target: AnalysisTarget = {
  namespace: 'shop',
  app: 'shop',
  slot: 'green',
  version: 'v2',
  resources: {},
  databaseUrls: new Map(),
};

function policy(triggers: Trigger[]): RollbackPolicySpec {
  return { prometheus: { address: 'http://prometheus:9090', timeout: '2s' }, triggers };
}

describe('evaluate, DatabasePool', () => {
  const pool: Trigger = { name: 'pool', builtin: 'DatabasePool', threshold: '80%' };
  const pool2: Trigger = { ...pool, name: 'pool2' };
  const url = 'postgres://app:s3cret@db:5432/shop';
  const withUrl = {
    ...target,
    databaseUrls: new Map([
      ['pool', url],
      ['pool2', url],
    ]),
  };

  test('reads each database once, within the policy timeout', async () => {
    const reads: [string, number][] = [];
    const poolUsage = (u: string, ms: number): Promise<PoolUsage> => {
      reads.push([u, ms]);
      return Promise.resolve({ ok: true, ratio: 0.9, connections: 90, maxConnections: 100 });
    };
    const evaluation = await createAnalyzer({ prometheus: client, poolUsage }).evaluate(
      policy([pool, pool2]),
      withUrl,
    );
    expect(reads).toEqual([[url, 2000]]);
    expect(evaluation.message).toBe('pool: DatabasePool 90% > 80%; pool2: DatabasePool 90% > 80%');
  });

  test.each<[string, AnalysisTarget, ((u: string) => Promise<PoolUsage>) | undefined, string]>([
    [
      'no URL',
      target,
      () => Promise.resolve({ ok: true, ratio: 0, connections: 0, maxConnections: 1 }),
      "no database URL: set the trigger's databaseSecretRef or the Release's spec.migrations.databaseSecretRef",
    ],
    ['no reader', withUrl, undefined, 'no database reader is configured in the operator'],
    [
      'an error',
      withUrl,
      () => Promise.resolve({ ok: false, error: 'database: connection refused' }),
      'database: connection refused',
    ],
    [
      'a reader that throws',
      withUrl,
      (u) => Promise.reject(new Error(`cannot reach ${u}`)),
      'reading the database failed',
    ],
  ])('%s is Inconclusive', async (_what, t, poolUsage, reason) => {
    const evaluation = await createAnalyzer({ prometheus: client, poolUsage }).evaluate(policy([pool]), t);
    expect(evaluation.readings[0]).toEqual({
      trigger: 'pool',
      result: 'Inconclusive',
      threshold: '80%',
      reason,
    });
  });
});
