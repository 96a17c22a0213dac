// Every decision the operator takes passes through here before its Event is
// written. Events are best effort and expire within hours; the audit trail and
// notifications subscribe to decisions instead, so a refused Event (RBAC,
// quota) loses nothing they need.
import type { KubernetesObject } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { canonical } from './canonical.js';

export interface Decision {
  /**
   * The same each time the decision is recorded again from the same state of
   * its object (see decisionId); receivers and stores drop duplicates by it.
   */
  id: string;
  /** ISO instant on the operator's clock. */
  at: string;
  type: 'Normal' | 'Warning';
  /** The Event reason: RolloutStarted, AnalysisBreached, BackupFailed, … */
  reason: string;
  message: string;
  object: { apiVersion: string; kind: string; namespace: string; name: string; uid?: string };
  /** Structured facts a sink may need besides the message (approver, cause, job), never secrets. */
  details?: Readonly<Record<string, string | number | boolean>>;
}

export type DecisionSink = (d: Decision) => void;

interface Versioned {
  spec?: { version?: unknown };
  status?: { revision?: unknown };
}

/**
 * Where the annotations that ask for a decision live (promote, abort, retry,
 * approved-by); each request carries a fresh value (kubectl cutover writes a time).
 */
const REQUEST_PREFIX = 'cutover.dev/';

/**
 * A decision is planned from its object as read: generation, status and the
 * requests in its cutover.dev/ annotations. When a reconcile runs again from
 * that same state (its status write met a conflict after the decision was
 * recorded), it takes the same decision again at a later instant: same id.
 * The instant is not part of it. Two decisions with the same reason and
 * message taken from different states differ: a second rollback of the same
 * version after a retry is taken from a status that records the first, and a
 * second promote request carries a new time.
 */
function decisionId(obj: KubernetesObject, e: Pick<Decision, 'reason' | 'message' | 'details'>): string {
  const m = obj.metadata;
  const requests = Object.entries(m?.annotations ?? {}).filter(([k]) => k.startsWith(REQUEST_PREFIX));
  return createHash('sha256')
    .update(
      canonical({
        object: m?.uid ?? `${obj.kind ?? ''}/${m?.namespace ?? ''}/${m?.name ?? ''}`,
        generation: m?.generation,
        status: (obj as { status?: unknown }).status,
        requests: Object.fromEntries(requests),
        reason: e.reason,
        message: e.message,
        details: e.details,
      }),
    )
    .digest('hex')
    .slice(0, 32);
}

/** The decision an Event on `obj` records; a Release's version and revision travel with it. */
export function decisionOf(
  obj: KubernetesObject,
  e: { type: 'Normal' | 'Warning'; reason: string; message: string; details?: Decision['details'] },
  at: Date,
): Decision {
  const { spec, status } = obj as Versioned;
  const facts: Record<string, string | number | boolean> = {};
  if (typeof spec?.version === 'string') facts.version = spec.version;
  if (typeof status?.revision === 'string') facts.revision = status.revision;
  const details = { ...facts, ...e.details };
  return {
    id: decisionId(obj, { reason: e.reason, message: e.message, details }),
    at: at.toISOString(),
    type: e.type,
    reason: e.reason,
    message: e.message,
    object: {
      apiVersion: obj.apiVersion ?? '',
      kind: obj.kind ?? '',
      namespace: obj.metadata?.namespace ?? '',
      name: obj.metadata?.name ?? '',
      uid: obj.metadata?.uid,
    },
    ...(Object.keys(details).length ? { details } : {}),
  };
}
