// `cutover operator`: health server first (so probes answer while we wait for
// a kubeconfig or an API server), then informers, leader election and queues.
// SIGTERM finishes the items in flight and hands the lease back.
import { hostname } from 'node:os';
import { startAuditTrail, type AuditConfig } from './audit/index.js';
import { registerControllers } from './controllers.js';
import { KubeClient } from './runtime/client.js';
import { serveHealth } from './runtime/health.js';
import { loadKubeconfig } from './runtime/kubeconfig.js';
import { LeaderElector } from './runtime/leader.js';
import { createLogger } from './runtime/log.js';
import { Manager } from './runtime/manager.js';
import { OperatorMetrics } from './runtime/metrics.js';
import { describeScope, type WatchScope } from './runtime/scope.js';

export interface OperatorOptions {
  kubeconfig?: string;
  port: number;
  host: string;
  workers: number;
  leaderElect: boolean;
  leaseNamespace: string;
  leaseName: string;
  identity?: string;
  migrateImage?: string;
  /** The clock the reconcilers read (--clock-start); the system's when unset. Leases keep real time. */
  now?: () => Date;
  /** --namespaces / --namespace-selector. */
  scope: WatchScope;
  /** The audit trail: stdout always, PostgreSQL when a URL is set (--audit-*). */
  audit: AuditConfig;
  /** --prometheus-address: for RollbackPolicies that leave spec.prometheus.address unset. */
  prometheusAddress?: string;
}

export async function runOperator(opts: OperatorOptions): Promise<number> {
  const log = createLogger();
  const metrics = new OperatorMetrics();
  // The probes exist before the manager does: not ready until it is.
  const state: { manager?: Manager } = {};
  const stopping = signalled();
  const server = await serveHealth(opts.port, opts.host, metrics.registry, {
    ready: () => state.manager?.ready ?? false,
  });
  log.info({ port: opts.port }, 'serving /metrics, /healthz and /readyz');

  let lastError = '';
  const kc = await retryUntil(
    stopping.promise,
    () => loadKubeconfig(opts.kubeconfig),
    (err, delay) => {
      // Said once; retries of the same failure stay quiet.
      if (err.message !== lastError)
        log.error({ err: err.message, retryInMs: delay }, 'cannot load a kubeconfig');
      lastError = err.message;
    },
  );
  if (!kc) {
    server.close();
    return 0;
  }
  log.info({ source: kc.source, server: kc.access.server }, 'kubeconfig loaded');

  log.info({ scope: describeScope(opts.scope) }, 'watch scope');
  const manager = new Manager(kc.access, log, metrics, { workers: opts.workers, scope: opts.scope });
  state.manager = manager;
  // The pod name: a container restarted in the same pod takes its own lease back at once,
  // while a new pod waits for the old one's lease to expire.
  const identity = opts.identity ?? process.env.POD_NAME ?? hostname();
  const audit = startAuditTrail(opts.audit, {
    log,
    metrics,
    now: opts.now,
    identity,
    installation: `${opts.leaseNamespace}/${opts.leaseName}`,
  });
  manager.onDecision(audit.record);
  registerControllers(manager, log, metrics, {
    migrateImage: opts.migrateImage,
    now: opts.now,
    prometheusAddress: opts.prometheusAddress,
  });
  let leader: LeaderElector | undefined;
  if (opts.leaderElect) {
    leader = new LeaderElector(
      new KubeClient(kc.access),
      { namespace: opts.leaseNamespace, name: opts.leaseName, identity },
      log,
      {
        onStartedLeading: () => {
          metrics.leader.set(1);
          manager.resync();
        },
        onStoppedLeading: () => {
          metrics.leader.set(0);
          manager.stoppedLeading();
        },
      },
    );
    manager.setLeaderElector(leader);
  } else {
    metrics.leader.set(1);
  }
  await manager.start();
  leader?.start();
  // SIGHUP: a full resync on demand (every key through the queue once more).
  const onHangup = () => {
    log.info('SIGHUP: resyncing every object');
    manager.resync();
  };
  process.on('SIGHUP', onHangup);

  const signal = await stopping.promise;
  process.off('SIGHUP', onHangup);
  log.info({ signal }, 'shutting down: finishing reconciles in flight');
  await stopInOrder({ manager, leader, audit });
  await new Promise((resolve) => server.close(resolve));
  log.info('stopped');
  return 0;
}

/** What the audit trail may spend writing out its queue at shutdown. */
export const AUDIT_FLUSH_GRACE_MS = 5_000;

/**
 * The shutdown, within the pod's 30 s termination grace period: the last
 * reconciles finish, then the lease goes back so a standby takes over at
 * once, then the trail writes what those reconciles decided (it needs no
 * lease, and a database that hangs must not hold up the handover).
 */
export async function stopInOrder(parts: {
  manager: { stop(): Promise<void> };
  leader?: { stop(): Promise<void> };
  audit: { stop(graceMs: number): Promise<void> };
}): Promise<void> {
  await parts.manager.stop();
  await parts.leader?.stop();
  await parts.audit.stop(AUDIT_FLUSH_GRACE_MS);
}

function signalled(): { promise: Promise<string> } {
  let resolve!: (s: string) => void;
  const promise = new Promise<string>((r) => (resolve = r));
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => resolve(s));
  return { promise };
}

/** Calls fn until it succeeds (backoff 1 s → 60 s) or `until` settles first. */
async function retryUntil<T>(
  until: Promise<unknown>,
  fn: () => Promise<T>,
  onError: (err: Error, delayMs: number) => void,
): Promise<T | undefined> {
  let stop = false;
  void until.then(() => (stop = true));
  for (let delay = 1000; !stop; delay = Math.min(60_000, delay * 2)) {
    try {
      return await fn();
    } catch (err) {
      onError(err instanceof Error ? err : new Error(String(err)), delay);
      await Promise.race([new Promise((r) => setTimeout(r, delay)), until]);
    }
  }
  return undefined;
}
