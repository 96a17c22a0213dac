// What `kubectl cutover approve` writes and says. The user is the one the
// apiserver authenticated (a SelfSubjectReview), never a name given on the
// command line: config/admission refuses an entry under anyone else's name.
import type { Release } from '../api/generated/index.js';
import { ANNOTATIONS } from '../api/annotations.js';
import { addApproval, approversOf } from '../environment/approvals.js';
import { revisionOf } from '../release/names.js';

export interface ApprovalPlan {
  /** The revision approved: the one of the spec that was read. */
  revision: string;
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

export function planApproval(release: Release, user: string): ApprovalPlan {
  const { application, version, template } = release.spec;
  const revision = revisionOf(application, version, template);
  const current = release.metadata?.annotations?.[ANNOTATIONS.approvedBy];
  const annotation = addApproval(current, { revision, user });
  const approvers = approversOf(annotation ?? current, revision);
  return { revision, version, user, annotation, approvers };
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
