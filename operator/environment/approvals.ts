// Approvals as the cluster recorded them. The annotation cutover.dev/approved-by
// holds comma-separated entries `<key>:<user>`; a ValidatingAdmissionPolicy
// (config/admission) admits a new entry only when its user is the one making
// the request, so a name here is an identity, not a claim. The key comes
// first because it never holds a colon, while user names often do
// (system:serviceaccount:ns:name).
import { createHash } from 'node:crypto';
import { canonical } from '../runtime/canonical.js';

/**
 * What an approval binds to: the rollout's revision and the whole spec, so
 * nothing can change after an approval and keep it (a migration image, the
 * verification, a policy reference), only `paused`, which holds a rollout
 * and runs nothing. Sixteen hex digits: no second preimage within reach.
 */
export function approvalKey(revision: string, spec: object): string {
  const { paused: _paused, ...rest } = spec as Record<string, unknown>;
  return createHash('sha256')
    .update(canonical({ revision, spec: rest }))
    .digest('hex')
    .slice(0, 16);
}

/** One approval: who, for which approval key. */
export interface Approval {
  key: string;
  user: string;
}

export function parseApprovals(annotation: string | undefined): Approval[] {
  const out: Approval[] = [];
  for (const raw of (annotation ?? '').split(',')) {
    const entry = raw.trim();
    const colon = entry.indexOf(':');
    if (colon <= 0 || colon === entry.length - 1) continue;
    out.push({ key: entry.slice(0, colon), user: entry.slice(colon + 1) });
  }
  return out;
}

export const formatApproval = (a: Approval): string => `${a.key}:${a.user}`;

/** Distinct users who approved `key`, in the order they approved it. */
export function approversOf(annotation: string | undefined, key: string): string[] {
  const users = parseApprovals(annotation)
    .filter((a) => a.key === key)
    .map((a) => a.user);
  return [...new Set(users)];
}

/**
 * The annotation with `user`'s approval of `key` added, or undefined when it
 * is already there. Entries for other keys are dropped: they can never count
 * again, and the list stays short.
 */
export function addApproval(annotation: string | undefined, approval: Approval): string | undefined {
  const current = parseApprovals(annotation).filter((a) => a.key === approval.key);
  if (current.some((a) => a.user === approval.user)) return undefined;
  return [...current, approval].map(formatApproval).join(',');
}

/** Who changed the Release's version or template last, as the cluster recorded it (cutover.dev/changed-by). */
export function authorOf(annotation: string | undefined): string | undefined {
  const user = annotation?.trim();
  return user ? user : undefined;
}
