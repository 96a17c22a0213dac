// One evaluation of a RollbackPolicy: read what its triggers need, all at
// once, and conclude with verdict.ts. No Kubernetes I/O: the Release
// controller hands in the target, with resources and database URLs resolved.
import type { RollbackPolicySpec, Trigger } from '../api/generated/index.js';
import { parseDuration } from '../runtime/duration.js';
import { ADDRESS_MISSING_MESSAGE } from './address.js';
import type { PoolUsageReader } from './database.js';
import type { PrometheusClient, QueryResult } from './prometheus.js';
import {
  cpuQuery,
  customQuery,
  DEFAULT_WINDOW,
  errorRateQuery,
  latencyP95Query,
  memoryQuery,
  rangeOf,
  requestRateQuery,
  type SlotSelector,
} from './queries.js';
import type { AnalysisTarget, Evaluation } from './types.js';
import { evaluationOf, gatedByTraffic, judge, sampleOf, type Sample, type TriggerInput } from './verdict.js';

export interface AnalyzerOptions {
  prometheus: PrometheusClient;
  /** Reads DatabasePool; without it those triggers are Inconclusive. */
  poolUsage?: PoolUsageReader;
  now?: () => Date;
}

export interface EvaluateOptions {
  /** Range of the rate() and histogram queries, as the CRDs write durations. Default `1m`. */
  window?: string;
}

export type ProbeResult = { ok: true; ms: number } | { ok: false; error: string };

export interface Analyzer {
  evaluate(
    policy: RollbackPolicySpec,
    target: AnalysisTarget,
    options?: EvaluateOptions,
  ): Promise<Evaluation>;
  /** Whether Prometheus at `address` answers a trivial query, for the RollbackPolicy's Ready condition. */
  probe(address: string, timeoutMs: number): Promise<ProbeResult>;
}

// The CRD defaults, for a spec that was not read back through the API server.
const DEFAULT_TIMEOUT = '5s';
const DEFAULT_MIN_REQUEST_RATE = 1;

type Resources = AnalysisTarget['resources'];

export function createAnalyzer({ prometheus, poolUsage, now = () => new Date() }: AnalyzerOptions): Analyzer {
  return {
    async evaluate(policy, target, { window = DEFAULT_WINDOW } = {}) {
      const at = now();
      // A malformed window is the caller's bug: refuse it before anything is sent.
      rangeOf(window);
      const timeoutMs = parseDuration(policy.prometheus?.timeout ?? DEFAULT_TIMEOUT);
      // The caller fills in the operator's address (withPrometheusAddress); without one
      // every reading is Inconclusive, which never promotes.
      const address = policy.prometheus?.address;
      const minRequestRate = policy.minRequestRate ?? DEFAULT_MIN_REQUEST_RATE;

      // Identical reads are shared: the request rate of a slot is asked once
      // however many triggers depend on it, and so is each database.
      const queries = new Map<string, Promise<QueryResult>>();
      const query = (promql: string): Promise<QueryResult> => {
        let pending = queries.get(promql);
        if (!pending) {
          pending =
            address === undefined
              ? Promise.resolve({ ok: false, error: ADDRESS_MISSING_MESSAGE })
              : prometheus.query(address, promql, timeoutMs);
          queries.set(promql, pending);
        }
        return pending;
      };
      const pools = new Map<string, Promise<Sample>>();
      const pool = (url: string, read: PoolUsageReader): Promise<Sample> => {
        let pending = pools.get(url);
        if (!pending) {
          pending = read(url, timeoutMs).then(
            (u): Sample => (u.ok ? { ok: true, value: u.ratio } : { ok: false, reason: u.error }),
            // The reader promises to scrub its errors; an exception it let
            // through may still quote the URL, so none of it is repeated.
            (): Sample => ({ ok: false, reason: 'reading the database failed' }),
          );
          pools.set(url, pending);
        }
        return pending;
      };

      const signal = (trigger: Trigger, slot: SlotSelector, resources: Resources): Promise<Sample> => {
        switch (trigger.builtin) {
          case 'LatencyP95':
            return query(latencyP95Query(slot, window)).then(sampleOf);
          case 'ErrorRate':
            return query(errorRateQuery(slot, window)).then(sampleOf);
          case 'CPU':
            if (resources.cpuCores === undefined) return unavailable(noLimit('CPU', slot.slot));
            return query(cpuQuery(slot, window, resources.cpuCores)).then(sampleOf);
          case 'Memory':
            if (resources.memoryBytes === undefined) return unavailable(noLimit('memory', slot.slot));
            return query(memoryQuery(slot, resources.memoryBytes)).then(sampleOf);
          case 'DatabasePool': {
            const url = target.databaseUrls.get(trigger.name);
            if (url === undefined) return unavailable(NO_DATABASE);
            if (!poolUsage) return unavailable('no database reader is configured in the operator');
            return pool(url, poolUsage);
          }
          case undefined:
            return query(customQuery(trigger.query ?? '', slot)).then(sampleOf);
        }
      };
      const requestRate = (slot: SlotSelector): Promise<Sample> =>
        query(requestRateQuery(slot, window)).then((r) =>
          // No series at all: the slot has served nothing in the window.
          r.ok && r.series.length === 0 ? { ok: true, value: 0 } : sampleOf(r),
        );

      const fresh: SlotSelector = {
        namespace: target.namespace,
        app: target.app,
        slot: target.slot,
        version: target.version,
      };
      const old = target.stable;
      const stable: SlotSelector | undefined = old && { ...fresh, slot: old.slot, version: old.version };
      const gateRate = (t: Trigger): boolean => gatedByTraffic(t) && minRequestRate > 0;

      // Every read starts before the first is awaited: one evaluation is
      // as slow as its slowest query, not the sum of them.
      const pending = policy.triggers.map((trigger) => {
        const value = signal(trigger, fresh, target.resources);
        const rate = gateRate(trigger) ? requestRate(fresh) : undefined;
        const relative = trigger.relativeTo !== undefined && stable !== undefined;
        const baseline = relative ? signal(trigger, stable, old?.resources ?? target.resources) : undefined;
        const baselineRate = relative && gateRate(trigger) ? requestRate(stable) : undefined;
        return (async (): Promise<TriggerInput> => ({
          trigger,
          value: await value,
          requestRate: await rate,
          stable: baseline && { value: await baseline, requestRate: await baselineRate },
        }))();
      });
      const inputs = await Promise.all(pending);
      return evaluationOf(
        inputs.map((input) => judge(input, minRequestRate)),
        at,
      );
    },

    async probe(address, timeoutMs) {
      const started = performance.now();
      const result = await prometheus.query(address, 'vector(1)', timeoutMs);
      const ms = Math.round(performance.now() - started);
      if (!result.ok) return { ok: false, error: result.error };
      const sample = sampleOf(result);
      if (!sample.ok || sample.value !== 1)
        return { ok: false, error: 'Prometheus answered vector(1) with something other than 1' };
      return { ok: true, ms };
    },
  };
}

const NO_DATABASE =
  "no database URL: set the trigger's databaseSecretRef or the Release's spec.migrations.databaseSecretRef";

function noLimit(resource: string, slot: string): string {
  return `a container of slot ${slot} has neither a ${resource} limit nor a ${resource} request to measure its use against`;
}

function unavailable(reason: string): Promise<Sample> {
  return Promise.resolve({ ok: false, reason });
}
