// Notifications wired into the operator: a decision sink that routes from the
// informer caches and only enqueues, the delivery queue, its metrics, and the
// Environment status that shows each target's health.
import type { Environment, Release } from '../api/generated/index.js';
import { ENVIRONMENTS, RELEASES } from '../api/kinds.js';
import { SECRET_METADATA } from '../environment/config-source.js';
import type { Decision } from '../runtime/journal.js';
import type { Logger } from '../runtime/log.js';
import type { Manager } from '../runtime/manager.js';
import type { OperatorMetrics } from '../runtime/metrics.js';
import { notificationOf, render } from './body.js';
import { Notifier } from './deliver.js';
import { createPost } from './http.js';
import { route, type Caches } from './route.js';
import { SecretValues } from './secrets.js';

export { Notifier } from './deliver.js';

export function startNotifications(m: Manager, log: Logger, metrics: OperatorMetrics): Notifier {
  const environments = m.informer<Environment>(ENVIRONMENTS);
  const releases = m.informer<Release>(RELEASES);
  const secrets = new SecretValues(m.client, m.informer(SECRET_METADATA));
  const notifier = new Notifier({
    post: createPost(),
    target: (ref) =>
      environments.get(ref.environment, ref.namespace)?.spec.notify?.find((t) => t.name === ref.name),
    url: (namespace, target) => secrets.value(namespace, target.urlSecretRef),
    log,
    onResult: (format, result) => metrics.notifications.inc({ format, result }),
    onDepth: (format, depth) => metrics.notificationQueue.set({ format }, depth),
    onFailingTargets: (count) => metrics.notificationTargetsFailing.set(count),
    onHealth: (namespace, environment) => m.enqueue('Environment', `${namespace}/${environment}`),
  });
  m.onDecision(notificationSink(notifier, { environments, releases }));
  m.onStop(() => notifier.stop());
  return notifier;
}

/** The sink: synchronous, cache reads and an enqueue per target, nothing that waits. */
export function notificationSink(notifier: Pick<Notifier, 'enqueue'>, caches: Caches): (d: Decision) => void {
  return (d) => {
    for (const { environment, target, severity } of route(d, caches)) {
      const namespace = environment.metadata?.namespace ?? '';
      const name = environment.metadata?.name ?? '';
      const n = notificationOf(d, severity, { namespace, name, tier: environment.spec.tier });
      const format = target.format ?? 'json';
      notifier.enqueue({
        target: { namespace, environment: name, name: target.name },
        format,
        body: render(format, n),
        reason: d.reason,
        id: n.id,
      });
    }
  };
}
