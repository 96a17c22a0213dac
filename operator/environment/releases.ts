// What an Environment says about its Releases: what runs (status.releases),
// what waits at a gate (status.waiting) and whether any drifted. Pure, and
// read from the Releases' own status, so it changes only when theirs does.
import type { EnvironmentStatus, Release } from '../api/generated/index.js';
import { removeCondition, setCondition } from '../runtime/conditions.js';

export type ReleaseView = Pick<Release, 'metadata' | 'spec' | 'status'>;

export const DRIFTED = 'Drifted';

/** The schema's bound on status.releases and status.waiting. */
const LIST_MAX = 100;
const NAMES_SHOWN = 10;
const MESSAGE_MAX = 1024;

const WAITING_PHASES: ReadonlySet<string> = new Set(['Pending', 'AwaitingApproval', 'WaitingForWindow']);

const nameOf = (r: ReleaseView): string => r.metadata?.name ?? '';
const byName = (a: ReleaseView, b: ReleaseView): number => {
  const x = nameOf(a);
  const y = nameOf(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** When the Release's current version Succeeded: its newest Succeeded rollout, if that one is of this version. */
export function succeededAt(r: ReleaseView): string | undefined {
  if (r.status?.phase !== 'Succeeded') return undefined;
  const record = r.status.history?.find((h) => h.outcome === 'Succeeded');
  return record?.version === r.spec.version ? record.finishedAt : undefined;
}

/** "a, b and 3 more" */
function names(list: readonly string[]): string {
  const shown = list.slice(0, NAMES_SHOWN);
  const rest = list.length - shown.length;
  if (rest > 0) return `${shown.join(', ')} and ${rest} more`;
  if (shown.length <= 1) return shown.join('');
  return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1] ?? ''}`;
}

/**
 * status.releases and status.waiting (by name, at most 100 each) and the
 * Drifted condition: True naming the Releases whose own Drifted is True, and
 * absent otherwise (whether an owned object drifted is the Release's to say).
 */
export function releasesSummary(
  status: EnvironmentStatus,
  releases: readonly ReleaseView[],
  generation: number | undefined,
  now: Date,
): Pick<EnvironmentStatus, 'releases' | 'waiting' | 'conditions'> {
  const sorted = [...releases].sort(byName);
  const listed = sorted.filter((r) => r.status?.phase !== undefined);
  const summary: EnvironmentStatus['releases'] = listed.slice(0, LIST_MAX).map((r) => ({
    name: nameOf(r),
    application: r.spec.application,
    version: r.spec.version,
    phase: r.status?.phase,
    succeededAt: succeededAt(r),
  }));
  const waiting: EnvironmentStatus['waiting'] = listed
    .filter((r) => WAITING_PHASES.has(r.status?.phase ?? ''))
    .slice(0, LIST_MAX)
    .map((r) => {
      const ready = r.status?.conditions?.find((c) => c.type === 'Ready');
      return {
        name: nameOf(r),
        phase: r.status?.phase,
        reason: ready?.reason.slice(0, 128),
        message: ready?.message.slice(0, MESSAGE_MAX),
      };
    });
  const drifted = sorted
    .filter((r) => r.status?.conditions?.some((c) => c.type === DRIFTED && c.status === 'True'))
    .map(nameOf);
  const conditions =
    drifted.length > 0
      ? setCondition(
          status.conditions,
          {
            type: DRIFTED,
            status: 'True',
            reason: 'ReleasesDrifted',
            message: `${drifted.length === 1 ? 'Release' : 'Releases'} ${names(drifted)} drifted from what was declared`,
          },
          generation,
          now,
        )
      : removeCondition(status.conditions, DRIFTED);
  return {
    releases: summary.length > 0 ? summary : undefined,
    waiting: waiting.length > 0 ? waiting : undefined,
    conditions,
  };
}
