// Every decision the operator takes passes through here before its Event is
// written. Events are best effort and expire within hours; the audit trail and
// notifications subscribe to decisions instead, so a refused Event (RBAC,
// quota) loses nothing they need.
import type { KubernetesObject } from '@kubernetes/client-node';

export interface Decision {
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
