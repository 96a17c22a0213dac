// What `kubectl cutover approve` writes and says. The user is the one the
// apiserver authenticated (a SelfSubjectReview), never a name given on the
// command line: config/admission refuses an entry under anyone else's name.
import type { Release } from '../api/generated/index.js';
import { ANNOTATIONS } from '../api/annotations.js';
import { addApproval, approvalKey, approversOf } from '../environment/approvals.js';
import { revisionOf } from '../release/names.js';

export interface ApprovalPlan {
  /** The revision approved: the one of the spec that was read. */
  revision: string;
  /** What the entry binds to: the revision and the whole spec that was read. */
  key: string;
  version: string;
  user: string;
  /** The new cutover.dev/approved-by value; undefined when `user` already approved this revision. */
  annotation: string | undefined;
  /** Distinct approvers of `revision` once the plan is written. */
  approvers: string[];
}

/** Why `user` cannot be recorded in the comma-separated approved-by list, if it cannot. */
export function approverProblem(user: string): string | undefined {
  if (user.trim() === '') return 'the cluster reports an empty user name for these credentials';
  if (user !== user.trim() || user.includes(','))
    return `the user name "${user}" cannot be recorded in ${ANNOTATIONS.approvedBy}: it holds a comma or surrounding spaces`;
  return undefined;
}

/**
 * The revision to approve: the one the operator gates, once it has seen this
 * spec. With config.rolloutOnChange the revision also covers the
 * configuration, which an approver need not be able to read (a Secret), so
 * the operator's own status.revision is the authority; before the operator
 * has seen the spec, the spec's own revision (the same unless rolloutOnChange).
 */
export function revisionToApprove(release: Release): string {
  const { application, version, template } = release.spec;
  const seen = release.status?.observedGeneration === release.metadata?.generation;
  return (seen && release.status?.revision) || revisionOf(application, version, template);
}

export function planApproval(release: Release, user: string): ApprovalPlan {
  const { version } = release.spec;
  const revision = revisionToApprove(release);
  const key = approvalKey(revision, release.spec);
  const current = release.metadata?.annotations?.[ANNOTATIONS.approvedBy];
  const annotation = addApproval(current, { key, user });
  const approvers = approversOf(annotation ?? current, key);
  return { revision, key, version, user, annotation, approvers };
}

/**
 * One line, and no word about enforcement: whether the rollout waits for
 * approvals is the Environment gate's business, not the plugin's.
 */
export function renderApproval(plan: ApprovalPlan, release: string): string {
  const what = `revision ${plan.revision} (version ${plan.version}) of release ${release}`;
  const tally = `${plan.approvers.length} approval(s) of this revision: ${plan.approvers.join(', ')}.`;
  return plan.annotation === undefined
    ? `Already approved ${what} as ${plan.user}; nothing to change. ${tally}\n`
    : `Approved ${what} as ${plan.user}; ${tally}\n`;
}
