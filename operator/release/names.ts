// Names and labels of everything a Release owns. Deterministic, so a restarted
// operator finds (and never duplicates) what an earlier run created.
import { createHash } from 'node:crypto';
import { canonical } from '../runtime/canonical.js';
import type { Slot } from '../api/generated/index.js';

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'cutover' } as const;

export const otherSlot = (s: Slot): Slot => (s === 'blue' ? 'green' : 'blue');

export const slotName = (app: string, slot: Slot): string => `${app}-${slot}`;
export const stableServiceName = (app: string): string => app;
export const previewServiceName = (app: string): string => `${app}-preview`;

/**
 * One rollout of one revision: the revision and when the rollout (or its
 * retry) started. A revision rolled out again later (a revert) is a new run:
 * its Jobs get new names, and its down migration undoes only what this run's
 * expand applied, never what an earlier run of the same revision did.
 */
export function runOf(revision: string, startedAt: string | undefined): string {
  const seconds = Math.floor((startedAt ? Date.parse(startedAt) : 0) / 1000);
  return `${revision.slice(0, 8)}-${seconds.toString(36)}`;
}

/** Job names fit the 63-character label value the Job controller copies onto pods. */
export function jobName(
  app: string,
  kind: 'expand' | 'contract' | 'down' | 'verify' | 'backup',
  run: string,
  attempt: number,
): string {
  return `${app.slice(0, 28)}-${kind}-${run}${attempt > 0 ? `-r${attempt}` : ''}`;
}

/**
 * Identifies a rollout: a change of version or pod template makes a new one,
 * and so does a change of configuration when `configHash` is given (the
 * Environment's config.rolloutOnChange). Without it the revision is what it
 * always was.
 */
export function revisionOf(app: string, version: string, template: unknown, configHash?: string): string {
  return createHash('sha256')
    .update(canonical({ app, version, template, config: configHash }))
    .digest('hex')
    .slice(0, 10);
}

/** On the slot's pod template when config.rolloutOnChange: a new configuration restarts the pods. */
export const CONFIG_HASH_ANNOTATION = 'cutover.dev/config-hash';

export function podLabels(
  app: string,
  slot: Slot,
  version: string,
  revision: string,
): Record<string, string> {
  return { app, slot, version, 'cutover.dev/revision': revision };
}
