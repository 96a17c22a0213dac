// Approvals as the cluster recorded them. The annotation cutover.dev/approved-by
// holds comma-separated entries `<revision>:<user>`; a ValidatingAdmissionPolicy
// (config/admission) admits a new entry only when its user is the one making
// the request, so a name here is an identity, not a claim. The revision comes
// first because it never holds a colon, while user names often do
// (system:serviceaccount:ns:name).

/** One approval: who, for which revision. */
export interface Approval {
  revision: string;
  user: string;
}

export function parseApprovals(annotation: string | undefined): Approval[] {
  const out: Approval[] = [];
  for (const raw of (annotation ?? '').split(',')) {
    const entry = raw.trim();
    const colon = entry.indexOf(':');
    if (colon <= 0 || colon === entry.length - 1) continue;
    out.push({ revision: entry.slice(0, colon), user: entry.slice(colon + 1) });
  }
  return out;
}

export const formatApproval = (a: Approval): string => `${a.revision}:${a.user}`;

/** Distinct users who approved `revision`, in the order they approved it. */
export function approversOf(annotation: string | undefined, revision: string): string[] {
  const users = parseApprovals(annotation)
    .filter((a) => a.revision === revision)
    .map((a) => a.user);
  return [...new Set(users)];
}

/**
 * The annotation with `user`'s approval of `revision` added, or undefined when
 * it is already there. Entries for other revisions are dropped: they can never
 * count again, and the list stays short.
 */
export function addApproval(annotation: string | undefined, approval: Approval): string | undefined {
  const current = parseApprovals(annotation).filter((a) => a.revision === approval.revision);
  if (current.some((a) => a.user === approval.user)) return undefined;
  return [...current, approval].map(formatApproval).join(',');
}

/** Who changed the Release's version or template last, as the cluster recorded it (cutover.dev/changed-by). */
export function authorOf(annotation: string | undefined): string | undefined {
  const user = annotation?.trim();
  return user ? user : undefined;
}
