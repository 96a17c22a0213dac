// Notifications wired into the operator: a decision sink that routes from the
// informer caches and only enqueues, the delivery queue, its metrics, and the
// Environment status that shows each target's health.
import type { Environment, Release } from '../api/generated/index.js';
import { ENVIRONMENTS, RELEASES } from '../api/kinds.js';
import { SECRET_METADATA } from '../environment/config-source.js';
import type { EventHandler } from '../runtime/informer.js';
import type { Decision } from '../runtime/journal.js';
import type { Logger } from '../runtime/log.js';
import type { Manager } from '../runtime/manager.js';
import type { OperatorMetrics } from '../runtime/metrics.js';
import { watchedSecretValues, type SecretValues } from '../runtime/secret-values.js';
import { notificationOf, render } from './body.js';
import { Notifier } from './deliver.js';
import { createPost } from './http.js';
import { route, type Caches } from './route.js';

export { Notifier } from './deliver.js';

export function startNotifications(m: Manager, log: Logger, metrics: OperatorMetrics): Notifier {
  const environments = m.informer<Environment>(ENVIRONMENTS);
  const releases = m.informer<Release>(RELEASES);
  const secrets = watchedSecretValues(m.client, m.informer(SECRET_METADATA));
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
  environments.on(forgetGoneTargets(notifier, secrets, environments));
  // Only the leader sends: a replica that stops leading drops its queues and forgets its targets' health.
  m.onStoppedLeading(() => notifier.reset());
  return notifier;
}

/**
 * On every Environment event: what belongs to targets that are gone (removed
 * from spec.notify, their Environment deleted or out of the watch scope, which
 * the informer says as a deletion) is forgotten at once, so no failing health
 * outlives its target and no URL stays in memory.
 */
export function forgetGoneTargets(
  notifier: Pick<Notifier, 'retain'>,
  secrets: Pick<SecretValues, 'retain'>,
  environments: Pick<Caches['environments'], 'list'>,
): EventHandler<Environment> {
  return (type, env) => {
    const namespace = env.metadata?.namespace ?? '';
    const names = type === 'delete' ? [] : (env.spec.notify ?? []).map((t) => t.name);
    notifier.retain(namespace, env.metadata?.name ?? '', names);
    const named = environments
      .list(namespace)
      .flatMap((e) => (e.spec.notify ?? []).map((t) => t.urlSecretRef));
    secrets.retain(namespace, named);
  };
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
