// Status is built in memory and written once per reconcile, with the object's
// resourceVersion so a concurrent change makes the write fail with a conflict
// (the queue retries it on fresh cache data) instead of overwriting it.
// An unchanged status is not written at all.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { KubeClient } from './client.js';
import { jsonEqual, type Condition } from './conditions.js';
import { decisionOf, type Decision } from './journal.js';

export interface StatusObject<S> extends KubernetesObject {
  status?: S;
}

export interface GVR {
  apiVersion: string;
  resource: string;
}

/** Writes `next` as the status of `obj` unless it equals the current one; returns whether it wrote. */
export async function writeStatus<S>(
  client: KubeClient,
  gvr: GVR,
  obj: StatusObject<S>,
  next: S,
): Promise<boolean> {
  if (jsonEqual(obj.status, next)) return false;
  await client.replace(
    { ...gvr, namespace: obj.metadata?.namespace, name: obj.metadata?.name, subresource: 'status' },
    { ...obj, status: next },
  );
  return true;
}

export interface EventInput {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  action?: string;
  /** Facts for the audit trail and notifications only; the Event carries the message. */
  details?: Decision['details'];
}

/**
 * Records a decision: first to the journal (audit, notifications), then as a
 * core/v1 Event on `obj`. A failure to write the Event is not worth failing the
 * reconcile for.
 */
export async function recordEvent(
  client: KubeClient,
  obj: KubernetesObject,
  e: EventInput,
  now = new Date(),
): Promise<void> {
  const ns = obj.metadata?.namespace ?? 'default';
  const time = now.toISOString();
  client.decided(decisionOf(obj, e, now));
  try {
    await client.create({ apiVersion: 'v1', resource: 'events', namespace: ns }, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${obj.metadata?.name ?? 'cutover'}.`, namespace: ns },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata?.name,
        namespace: ns,
        uid: obj.metadata?.uid,
        resourceVersion: obj.metadata?.resourceVersion,
      },
      type: e.type,
      reason: e.reason,
      message: e.message.slice(0, 1024),
      action: e.action ?? e.reason,
      source: { component: 'cutover' },
      reportingComponent: 'cutover.dev/operator',
      reportingInstance: process.env.HOSTNAME ?? 'cutover',
      firstTimestamp: time,
      lastTimestamp: time,
      count: 1,
    } as KubernetesObject);
  } catch {
    // Events are best effort (RBAC, quota, a non-leader); the status carries the truth.
  }
}

/** The Event that a change of the Ready condition deserves, if any. */
export function readyTransition(
  before: readonly Condition[] | undefined,
  after: readonly Condition[],
): EventInput | undefined {
  const prev = before?.find((c) => c.type === 'Ready');
  const next = after.find((c) => c.type === 'Ready');
  if (!next || (prev && prev.status === next.status && prev.reason === next.reason)) return undefined;
  // A new object that is fine from its first reconcile is not news; at a
  // thousand objects these Events would double the writes of a bulk apply.
  if (!prev && next.status === 'True') return undefined;
  return {
    type: next.status === 'True' ? 'Normal' : 'Warning',
    reason: next.reason,
    message: next.message || (next.status === 'True' ? 'ready' : 'not ready'),
  };
}
