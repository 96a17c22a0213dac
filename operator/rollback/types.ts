// The contract between the analysis (rollback/) and the Release state machine:
// what one evaluation of a RollbackPolicy reads, and what it concludes.
import type { Trigger } from '../api/generated/index.js';

export type Result = 'Pass' | 'Fail' | 'Inconclusive';

/** One trigger's reading, formatted for status.analysis.lastMeasurements. */
export interface Reading {
  trigger: string;
  result: Result;
  /** Formatted like the threshold: `612ms`, `5.2%`, or the query's number. */
  value?: string;
  /** What it was compared with: `500ms`, `1%`, `> 5`, `+10% over stable`. */
  threshold?: string;
  /** The stable slot's value, for a trigger relative to it. */
  baseline?: string;
  /** Why the reading is Inconclusive (no data, too little traffic, query error). */
  reason?: string;
}

/** One evaluation of every trigger of a policy against the new slot. */
export interface Evaluation {
  at: Date;
  /** Fail when any reading failed, else Inconclusive when any was, else Pass. */
  verdict: Result;
  readings: Reading[];
  /** The verdict in one sentence: what breached, or why it is Inconclusive. */
  message: string;
  /** The numbers the readings were judged on, for the operator's gauges (release/metrics.ts). */
  measurements?: Measurement[];
}

/** What a trigger reads: its builtin signal, or `Query` for a PromQL query of its own. */
export type Signal = NonNullable<Trigger['builtin']> | 'Query';

/**
 * One number a trigger read, unformatted, in the unit its threshold is
 * compared in: seconds (LatencyP95), a ratio (ErrorRate; CPU and Memory of
 * the busiest pod's limits, else requests; DatabasePool of max_connections),
 * or what a custom query returned. Only numbers the verdict stood on: a
 * latency read from less traffic than minRequestRate is left out.
 */
export interface Measurement {
  trigger: string;
  signal: Signal;
  /** `stable`: the baseline of a trigger relative to the stable slot. */
  slot: 'new' | 'stable';
  value: number;
}

/** What the analysis is about: the new slot, and the stable slot to compare with. */
export interface AnalysisTarget {
  namespace: string;
  app: string;
  slot: string;
  version: string;
  /** Absent on a first rollout: relative triggers are then Inconclusive. */
  stable?: {
    slot: string;
    version: string;
    /** The stable slot's own pod resources; without them its CPU and Memory are shares of the new slot's. */
    resources?: { cpuCores?: number; memoryBytes?: number };
  };
  /** CPU and memory limits (else requests) of one pod of the new slot, summed over its containers. */
  resources: { cpuCores?: number; memoryBytes?: number };
  /** The PostgreSQL URL a DatabasePool trigger reads, by trigger name; never logged. */
  databaseUrls: ReadonlyMap<string, string>;
}
