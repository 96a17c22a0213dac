// The audit record: one decision in a stable shape that outlives Events (which
// expire within hours). docs/audit.md documents it; fields may be added, never
// renamed or removed, so stored rows and log pipelines keep parsing.
import { randomUUID } from 'node:crypto';
import type { Decision } from '../runtime/journal.js';

export type AuditDetails = Readonly<Record<string, string | number | boolean>>;

export interface AuditRecord {
  /** Unique per record: a batch written twice after a lost acknowledgement lands once. */
  id: string;
  /** When the operator decided, on its clock (ISO 8601, milliseconds, UTC). */
  time: string;
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  /** The Event reason: RolloutStarted, Approved, AnalysisFailed, … */
  action: string;
  type: 'Normal' | 'Warning';
  message: string;
  /** A Release's spec.version when it decided. */
  version?: string;
  /** A Release's status.revision when it decided. */
  revision?: string;
  /** Structured facts (approver, cause, job, …); never a secret. */
  details: AuditDetails;
  /** The operator replica that decided (its leader identity). */
  operator?: string;
}

/**
 * NUL, and a surrogate without its pair: PostgreSQL refuses both (NUL in
 * text, the escapes in jsonb), and a record it refuses must not hold up the
 * ones behind it. Messages quote what users wrote (a migration's output, an
 * annotation), so they can hold anything.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** The text with what PostgreSQL cannot store replaced by U+FFFD, so stdout and the table say the same. */
function storable(text: string): string {
  return text.replace(UNSTORABLE, '\uFFFD');
}

function storableDetails(details: Readonly<Record<string, string | number | boolean>>): AuditDetails {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(details)) out[storable(k)] = typeof v === 'string' ? storable(v) : v;
  return out;
}

/** The record of a decision; version and revision are lifted out of its details. */
export function auditRecordOf(d: Decision, operator?: string, id: string = randomUUID()): AuditRecord {
  const { version, revision, ...rest } = d.details ?? {};
  const uid = d.object.uid;
  return {
    id,
    time: d.at,
    apiVersion: storable(d.object.apiVersion),
    kind: storable(d.object.kind),
    namespace: storable(d.object.namespace),
    name: storable(d.object.name),
    ...(uid ? { uid: storable(uid) } : {}),
    action: storable(d.reason),
    type: d.type,
    message: storable(d.message),
    ...(version !== undefined ? { version: storable(String(version)) } : {}),
    ...(revision !== undefined ? { revision: storable(String(revision)) } : {}),
    details: storableDetails(rest),
    ...(operator ? { operator: storable(operator) } : {}),
  };
}

/**
 * The stdout line: the record with `"audit": true`, and the level, component
 * and msg every other log line has, so one log pipeline parses both and a
 * filter on `audit` finds exactly the records. Written whatever LOG_LEVEL says.
 */
export function auditLine(r: AuditRecord): string {
  return `${JSON.stringify({ level: 'info', component: 'cutover', audit: true, ...r, msg: 'audit' })}\n`;
}

/** The record an audit line holds, or undefined for any other log line. */
export function parseAuditLine(line: string): AuditRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || (value as { audit?: unknown }).audit !== true)
    return undefined;
  const { level: _l, component: _c, audit: _a, msg: _m, ...record } = value as Record<string, unknown>;
  return record as unknown as AuditRecord;
}
