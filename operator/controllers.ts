// Every reconciler the operator runs, in one place.
import { backupPolicyController } from './backup/controller.js';
import { CONFIGMAP_METADATA, ConfigCache, SECRET_METADATA } from './environment/config-source.js';
import { environmentController } from './environment/controller.js';
import { startNotifications } from './notify/index.js';
import { releaseController } from './release/controller.js';
import { DEFAULT_MIGRATE_IMAGE } from './release/objects.js';
import { createAnalyzer, type Analyzer } from './rollback/analyze.js';
import { rollbackPolicyController } from './rollback/controller.js';
import { poolUsage } from './rollback/database.js';
import { createPrometheusClient } from './rollback/prometheus.js';
import type { Logger } from './runtime/log.js';
import type { Manager } from './runtime/manager.js';
import type { OperatorMetrics } from './runtime/metrics.js';

export interface ControllerOptions {
  migrateImage?: string;
  /** The clock every reconciler reads; defaults to the system's. */
  now?: () => Date;
  /** Replaces the Prometheus and PostgreSQL reads of analysis (benchmarks). */
  analyzer?: Analyzer;
  /** --prometheus-address: for RollbackPolicies that leave spec.prometheus.address unset. */
  prometheusAddress?: string;
}

export function registerControllers(
  m: Manager,
  log: Logger,
  metrics: OperatorMetrics,
  opts: ControllerOptions = {},
): void {
  // One client for the whole operator: its concurrency limit bounds the sockets
  // a thousand Releases under analysis open to Prometheus.
  const analyzer =
    opts.analyzer ??
    createAnalyzer({
      prometheus: createPrometheusClient({
        onQuery: (ms, outcome) => metrics.prometheusQueries.observe({ outcome }, ms / 1000),
      }),
      poolUsage,
      now: opts.now,
    });
  // Shared: a Release and its Environment evaluate the same configuration once.
  const config = new ConfigCache(m.client, m.informer(CONFIGMAP_METADATA), m.informer(SECRET_METADATA), {
    onRead: (kind) => metrics.configReads.inc({ kind }),
  });
  // Webhooks hear of decisions through a sink; the Environment status shows how delivery goes.
  const notifications = startNotifications(m, log, metrics);
  for (const c of [
    releaseController(m, metrics, log, { ...opts, analyzer, config }),
    environmentController(m, { ...opts, config, notifications }),
    backupPolicyController(m, metrics, { now: opts.now, image: opts.migrateImage ?? DEFAULT_MIGRATE_IMAGE }),
    rollbackPolicyController(m, {
      now: opts.now,
      prometheusAddress: opts.prometheusAddress,
      probe: async (address, timeoutMs) => {
        const r = await analyzer.probe(address, timeoutMs);
        return r.ok ? { ok: true } : r;
      },
    }),
  ]) {
    m.register(c);
    log.debug({ kind: c.kind }, 'controller registered');
  }
}
