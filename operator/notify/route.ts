// Which targets a decision goes to: pure functions of the decision and what
// the informer caches hold, so the sink routes without a single API call.
import type { Environment, NotificationTarget, Release } from '../api/generated/index.js';
import type { Decision } from '../runtime/journal.js';
import { severityOf, type Severity } from './severity.js';

export interface Caches {
  environments: {
    get(name: string, namespace?: string): Environment | undefined;
    list(ns?: string): readonly Environment[];
  };
  releases: {
    get(name: string, namespace?: string): Release | undefined;
    list(ns?: string): readonly Release[];
  };
}

const POLICY_FIELD = { BackupPolicy: 'backupPolicyRef', RollbackPolicy: 'rollbackPolicyRef' } as const;

/**
 * The Environments whose targets hear of a decision: an Environment's own; a
 * Release's Environment; for a policy, every Environment of its namespace
 * that uses it, as its default or through one of its Releases.
 */
export function environmentsFor(d: Decision, c: Caches): Environment[] {
  const { kind, namespace, name } = d.object;
  if (kind === 'Environment') return present(c.environments.get(name, namespace));
  if (kind === 'Release') {
    const rel = c.releases.get(name, namespace);
    return present(rel && c.environments.get(rel.spec.environmentRef.name, namespace));
  }
  if (kind === 'BackupPolicy' || kind === 'RollbackPolicy') {
    const field = POLICY_FIELD[kind];
    const viaRelease = new Set(
      c.releases
        .list(namespace)
        .filter((r) => r.spec[field]?.name === name)
        .map((r) => r.spec.environmentRef.name),
    );
    return c.environments
      .list(namespace)
      .filter((e) => e.spec.defaults?.[field]?.name === name || viaRelease.has(e.metadata?.name ?? ''));
  }
  return [];
}

const present = (e: Environment | undefined): Environment[] => (e ? [e] : []);

const DEFAULT_SEVERITIES: readonly Severity[] = ['critical', 'warning'];

/** A target takes a decision whose severity or reason it lists; by default, critical and warning. */
export function selects(t: NotificationTarget, reason: string, severity: Severity): boolean {
  if (t.severities === undefined && t.reasons === undefined) return DEFAULT_SEVERITIES.includes(severity);
  return (t.severities ?? []).includes(severity) || (t.reasons ?? []).includes(reason);
}

export interface Routed {
  environment: Environment;
  target: NotificationTarget;
  severity: Severity;
}

/** Every (Environment, target) pair a decision is sent to. */
export function route(d: Decision, c: Caches): Routed[] {
  const severity = severityOf(d);
  return environmentsFor(d, c).flatMap((environment) =>
    (environment.spec.notify ?? [])
      .filter((t) => selects(t, d.reason, severity))
      .map((target) => ({ environment, target, severity })),
  );
}
