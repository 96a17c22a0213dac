// The decisions a BackupPolicy's status holds: a backup that failed, a
// restore drill that failed, a WAL chain that broke. Each is recorded once,
// when the status that says it is first written, so the audit trail and
// notifications hear of it (the alerts read the same conditions as metrics).
import type { Condition } from '../runtime/conditions.js';
import type { EventInput } from '../runtime/status.js';
import { LAST_BACKUP_SUCCEEDED, VERIFIED, WAL_STREAMING } from './plan.js';

const FAILURES: ReadonlyArray<{ type: string; reason: string }> = [
  { type: LAST_BACKUP_SUCCEEDED, reason: 'BackupFailed' },
  { type: VERIFIED, reason: 'RestoreDrillFailed' },
  { type: WAL_STREAMING, reason: 'ChainBroken' },
];

/** The Warnings a status change from `before` to `after` deserves: a failure that is new (another Job, another message). */
export function backupEvents(
  before: readonly Condition[] | undefined,
  after: readonly Condition[],
): EventInput[] {
  return FAILURES.flatMap(({ type, reason }) => {
    const next = after.find((c) => c.type === type);
    if (next?.status !== 'False' || next.reason !== reason) return [];
    const prev = before?.find((c) => c.type === type);
    if (prev?.status === 'False' && prev.reason === reason && prev.message === next.message) return [];
    return [{ type: 'Warning' as const, reason, message: next.message }];
  });
}
