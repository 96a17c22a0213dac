// Names and labels of everything a Release owns. Deterministic, so a restarted
// operator finds (and never duplicates) what an earlier run created.
import { createHash } from 'node:crypto';
import type { Slot } from '../api/generated/index.js';

export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'cutover' } as const;

export const otherSlot = (s: Slot): Slot => (s === 'blue' ? 'green' : 'blue');

export const slotName = (app: string, slot: Slot): string => `${app}-${slot}`;
export const stableServiceName = (app: string): string => app;
export const previewServiceName = (app: string): string => `${app}-preview`;

/** Job names fit the 63-character label value the Job controller copies onto pods. */
export function jobName(
  app: string,
  phase: 'expand' | 'contract' | 'down' | 'verify',
  revision: string,
  attempt: number,
): string {
  return `${app.slice(0, 28)}-${phase}-${revision.slice(0, 8)}${attempt > 0 ? `-r${attempt}` : ''}`;
}

/** Key order must not change the hash: JSON with sorted keys. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Identifies a rollout: a change of version or pod template makes a new one. */
export function revisionOf(app: string, version: string, template: unknown): string {
  return createHash('sha256').update(canonical({ app, version, template })).digest('hex').slice(0, 10);
}

export function podLabels(
  app: string,
  slot: Slot,
  version: string,
  revision: string,
): Record<string, string> {
  return { app, slot, version, 'cutover.dev/revision': revision };
}
