// Benchmark for RollbackPolicy analysis on the local cluster, against a real
// Prometheus scraping simulated application metrics:
//  A. breach → HTTPRoute weight 0: status.rollback.at to the route's preview
//     weight at 0 seen by a watch, p50/p99/max over --breaches rollbacks
//     (target: p99 ≤ 250 ms);
//  B. --releases Releases under analysis every --interval: operator CPU,
//     evaluations and Prometheus queries per interval, lateness, status
//     writes per minute, RSS (target: ≤ 25 % of a core at 1,000 / 30 s, no
//     missed interval).
//
//   tsx bench/analysis.ts [--releases 1000] [--interval 30s] [--minutes 3] [--breaches 50]
//     [--breach-releases 5] [--metrics served|none] [--scrape 5s] [--parts breach,load] [--node-args ...]
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { installCrds, objectApi } from '../test/harness/kube.js';
import { startOperator } from '../test/harness/operator.js';
import type { PromDuration } from '../test/harness/prometheus.js';
import { measureBreaches, type BreachResult } from './lib/breach.js';
import { benchClient } from './lib/kube.js';
import { measureLoad, type LoadResult } from './lib/load.js';
import { bucketText } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    releases: { type: 'string', default: '1000' },
    interval: { type: 'string', default: '30s' },
    minutes: { type: 'string', default: '3' },
    breaches: { type: 'string', default: '50' },
    // Releases that take turns breaching in part A.
    'breach-releases': { type: 'string', default: '5' },
    // Part B: simulated traffic for every Release (evaluations Pass), or none (Inconclusive).
    metrics: { type: 'string', default: 'served' },
    // Part B's Prometheus scrape interval (part A always scrapes every second).
    scrape: { type: 'string', default: '5s' },
    parts: { type: 'string', default: 'breach,load' },
    workers: { type: 'string', default: '16' },
    // Extra flags for the operator's node, e.g. --node-args='--cpu-prof --cpu-prof-dir=/tmp/prof'.
    'node-args': { type: 'string', default: '' },
  },
});
const parts = new Set(values.parts.split(','));
if (!['served', 'none'].includes(values.metrics)) throw new Error('--metrics is served or none');

function table(title: string, rows: Array<[string, string | number]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`\n${title}`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

const pct = (x: number, target: number) => `${x} %  (target ≤ ${target} %)`;

function breachTable(a: BreachResult): string {
  const { p50, p99, max } = a.rollbackToRouteMs;
  return table('A. breach → HTTPRoute weight 0', [
    ['rollbacks measured', `${a.breaches} (${a.releases} Releases taking turns)`],
    [
      'policy',
      `interval ${a.policy.interval}, window ${a.policy.window}, failureLimit ${a.policy.failureLimit}`,
    ],
    ['canary', `${a.canary.rps} req/s at the 10 % step, ${a.canary.errorRatio * 100} % errors`],
    ['rollback.at → route weight 0', `p50 ${p50} ms, p99 ${p99} ms, max ${max} ms  (target p99 ≤ 250 ms)`],
    [
      'rollback.at → status seen',
      `p50 ${a.rollbackToStatusMs.p50} ms, p99 ${a.rollbackToStatusMs.p99} ms, max ${a.rollbackToStatusMs.max} ms`,
    ],
    ['10 % step → rollback.at', `p50 ${a.stepToRollbackMs.p50} ms, max ${a.stepToRollbackMs.max} ms`],
  ]);
}

function loadTable(b: LoadResult): string {
  const l = b.latenessSeconds;
  const byResult = Object.entries(b.evaluationsByResult)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return table(`B. ${b.releases} Releases under analysis every ${b.interval}`, [
    ['triggers / window', `${b.triggers.join(', ')} / ${b.window}`],
    ['metrics', `${b.metrics}, scraped every ${b.scrapeInterval}`],
    ['measured', `${b.measuredSeconds} s (${b.intervals} intervals)`],
    [
      'operator CPU',
      `${pct(b.operatorCpuPercentOfCore, 25)}, ${b.operatorCpuMsPerEvaluation} ms per evaluation`,
    ],
    ['evaluations / interval', `${b.evaluationsPerInterval} of ${b.expectedPerInterval} due (${byResult})`],
    [
      'lateness (bucket resolution)',
      `p50 ${bucketText(l.p50)}, p99 ${bucketText(l.p99)}, max ${bucketText(l.max)} (${l.observations} observed)`,
    ],
    [
      'Prometheus queries / interval',
      `${b.prometheusQueriesPerInterval} (${b.queriesPerEvaluation} per evaluation)`,
    ],
    ['query duration', `p50 ${bucketText(b.querySeconds.p50)}, p99 ${bucketText(b.querySeconds.p99)}`],
    [
      'Release reconcile',
      `p50 ${bucketText(b.reconcileSeconds.p50)}, p99 ${bucketText(b.reconcileSeconds.p99)}`,
    ],
    ['status writes / min', b.statusWritesPerMinute],
    ['all writes / min', JSON.stringify(b.writesPerMinuteByResource)],
    ['RSS', `${b.rssMiB} MiB at the end, peak ${b.peakRssMiB} MiB, heap used ${b.heapUsedMiB} MiB`],
  ]);
}

async function main(): Promise<void> {
  await installCrds();
  const api = objectApi();
  const client = benchClient();
  const op = await startOperator({
    leaseName: `bench-analysis-${process.pid}`,
    args: ['--workers', values.workers],
    nodeArgs: values['node-args'].split(' ').filter(Boolean),
  });
  const result: { breach?: BreachResult; load?: LoadResult } = {};
  try {
    await op.waitReady();
    if (parts.has('breach')) {
      result.breach = await measureBreaches(api, client, {
        breaches: Number(values.breaches),
        releases: Number(values['breach-releases']),
      });
      console.log(breachTable(result.breach));
    }
    if (parts.has('load')) {
      result.load = await measureLoad(api, client, op, {
        releases: Number(values.releases),
        interval: values.interval,
        minutes: Number(values.minutes),
        served: values.metrics === 'served',
        scrapeInterval: values.scrape as PromDuration,
      });
      console.log(loadTable(result.load));
    }
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/analysis.json', JSON.stringify(result, null, 2) + '\n');
  } catch (err) {
    console.error(`operator log:\n${await op.proc.logTail()}`);
    throw err;
  } finally {
    await op.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
