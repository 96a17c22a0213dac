// Reference checks as data: an ordered list of small checks, evaluated until
// the first one that fails. GitOps tools apply objects in any order, so a
// missing reference is a condition the user can read, never an error to retry
// hot: the watch on the referenced kind brings the object back to the queue
// when the reference appears.
import type { Health } from './conditions.js';

export interface RefCheck {
  /** Kind of the referenced object, e.g. "Environment". */
  kind: string;
  name: string;
  namespace: string;
  found: boolean;
  /** Extra detail when found but unusable (a Secret without the key, say). */
  problem?: string;
  /** The condition's reason for `problem`; Invalid<Kind>Reference unless said. */
  problemReason?: string;
}

export function firstBrokenRef(checks: readonly RefCheck[]): Health | undefined {
  for (const c of checks) {
    if (!c.found) {
      return {
        state: 'Stalled',
        reason: `${c.kind}NotFound`,
        message: `${c.kind} "${c.name}" not found in namespace "${c.namespace}"`,
      };
    }
    if (c.problem) {
      return {
        state: 'Stalled',
        reason: c.problemReason ?? `Invalid${c.kind}Reference`,
        message: `${c.kind} "${c.name}": ${c.problem}`,
      };
    }
  }
  return undefined;
}
