// What a BackupPolicy's status change is worth recording as a decision for
// the audit trail and notifications: each backup Job's outcome, each restore
// drill's, a WAL chain that broke, and the newest restore Job's start and outcome. Derived from two statuses, so each
// is said once, by the write that records it, and a restarted operator does
// not say it again.
import type { BackupPolicyStatus, BackupRecord, RestoreRecord } from '../api/generated/index.js';
import type { EventInput } from '../runtime/status.js';
import { VERIFIED, WAL_STREAMING } from './plan.js';

/** A Job of the policy (a backup, a restore), as the cluster shows it. */
export interface JobOutcome {
  name: string;
  state: 'Running' | 'Succeeded' | 'Failed';
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
  message?: string;
}

/** The newest restore Job; an older one still running is not followed. */
export function newestRestore(runs: readonly JobOutcome[]): RestoreRecord | undefined {
  const newest = [...runs].sort(
    (a, b) =>
      Date.parse(b.createdAt ?? b.startedAt ?? '') - Date.parse(a.createdAt ?? a.startedAt ?? '') ||
      b.name.localeCompare(a.name),
  )[0];
  if (!newest) return undefined;
  return {
    job: newest.name,
    phase: newest.state,
    ...(newest.startedAt ? { startedAt: newest.startedAt } : {}),
    ...(newest.finishedAt ? { finishedAt: newest.finishedAt } : {}),
    ...(newest.state === 'Failed' ? { message: (newest.message ?? 'no message').slice(0, 1024) } : {}),
  };
}

export function backupPolicyEvents(
  before: BackupPolicyStatus | undefined,
  after: BackupPolicyStatus,
): EventInput[] {
  return [
    ...backupOutcomes(before, after),
    ...drillOutcome(before, after),
    ...chainBroken(before, after),
    ...restoreEvents(before, after),
  ];
}

/** A WAL chain newly broken, or broken elsewhere than before (the message names the gap). */
function chainBroken(before: BackupPolicyStatus | undefined, after: BackupPolicyStatus): EventInput[] {
  const broken = (s: BackupPolicyStatus | undefined) =>
    s?.conditions?.find(
      (c) => c.type === WAL_STREAMING && c.status === 'False' && c.reason === 'ChainBroken',
    );
  const next = broken(after);
  if (!next || broken(before)?.message === next.message) return [];
  return [{ type: 'Warning', reason: 'ChainBroken', message: next.message }];
}

/** A backup Job that finished since the last status (records found only in storage are not news). */
function backupOutcomes(before: BackupPolicyStatus | undefined, after: BackupPolicyStatus): EventInput[] {
  const seen = new Map((before?.backups ?? []).map((r) => [r.job ?? '', r.phase]));
  return (after.backups ?? [])
    .filter((r): r is BackupRecord & { job: string } => r.job !== undefined)
    .filter((r) => (r.phase === 'Succeeded' || r.phase === 'Failed') && seen.get(r.job) !== r.phase)
    .reverse()
    .map((r) => {
      const kind = r.kind ?? 'Full';
      const details = { kind, job: r.job, ...(r.phase === 'Succeeded' ? { id: r.id } : {}) };
      return r.phase === 'Succeeded'
        ? {
            type: 'Normal' as const,
            reason: 'BackupSucceeded',
            message: `${kind} backup ${r.id}${r.size ? ` (${r.size})` : ''} taken by Job ${r.job}`,
            details: { ...details, ...(r.size ? { size: r.size } : {}) },
          }
        : {
            type: 'Warning' as const,
            reason: 'BackupFailed',
            message: `${kind} backup Job ${r.job} failed: ${r.message ?? 'no message'}`,
            details,
          };
    });
}

/** The restore drill's verdict, when a new drill gave one (its message names its Job). */
function drillOutcome(before: BackupPolicyStatus | undefined, after: BackupPolicyStatus): EventInput[] {
  const prev = before?.conditions?.find((c) => c.type === VERIFIED);
  const next = after.conditions?.find((c) => c.type === VERIFIED);
  if (!next || (next.status !== 'True' && next.status !== 'False')) return [];
  if (prev && prev.status === next.status && prev.message === next.message) return [];
  return [
    {
      type: next.status === 'True' ? 'Normal' : 'Warning',
      reason: next.reason,
      message: next.message,
    },
  ];
}

function restoreEvents(before: BackupPolicyStatus | undefined, after: BackupPolicyStatus): EventInput[] {
  const next = after.lastRestore;
  if (!next) return [];
  const prev = before?.lastRestore?.job === next.job ? before.lastRestore : undefined;
  if (prev?.phase === next.phase) return [];
  const details = { job: next.job };
  if (next.phase === 'Running' || next.phase === undefined)
    return prev
      ? []
      : [{ type: 'Normal', reason: 'RestoreStarted', message: `restore Job ${next.job} started`, details }];
  return next.phase === 'Succeeded'
    ? [{ type: 'Normal', reason: 'RestoreSucceeded', message: `restore Job ${next.job} finished`, details }]
    : [
        {
          type: 'Warning',
          reason: 'RestoreFailed',
          message: `restore Job ${next.job} failed: ${next.message ?? 'no message'}`,
          details,
        },
      ];
}
