// How loud a decision is. One table, aligned with the alert severities of
// config/prometheus/rules.yaml, so a webhook and a page agree on what matters;
// a reason not listed follows its Event type. A feature that adds a decision
// worth another severity than its Event type adds its reason here.
import type { Decision } from '../runtime/journal.js';
import type { SEVERITIES } from '../api/v1alpha1/notify.js';

export type Severity = (typeof SEVERITIES)[number];

const TABLE: Readonly<Record<string, Severity>> = {
  // critical: someone must act now (CutoverReleaseSlotUnavailable, CutoverReleaseDegraded,
  // CutoverBackupChainBroken, CutoverRestoreDrillFailed).
  SlotUnavailable: 'critical',
  ContractApplied: 'critical',
  ContractFailed: 'critical',
  NoPreviousVersion: 'critical',
  ChainBroken: 'critical',
  RestoreDrillFailed: 'critical',
  // warning: a rollback happened or something failed (CutoverRollback, CutoverRolloutFailed,
  // CutoverBackupFailed, CutoverDriftDetected). Rollbacks are recorded with their cause as reason.
  AnalysisFailed: 'warning',
  VerificationFailed: 'warning',
  Aborted: 'warning',
  AnalysisBreached: 'warning',
  BackupFailed: 'warning',
  Drifted: 'warning',
  ProgressDeadlineExceeded: 'warning',
  ExpandFailed: 'warning',
  DownMigrationFailed: 'warning',
  ContractWithoutBackup: 'warning',
  ConfigInvalid: 'warning',
  ConfigNotFound: 'warning',
  // info: news, nothing to do (CutoverRolloutSucceeded, CutoverConfigurationChanged, CutoverApprovalGiven).
  RolloutSucceeded: 'info',
  Promoted: 'info',
  DriftCorrected: 'info',
};

export function severityOf(d: Pick<Decision, 'reason' | 'type'>): Severity {
  return TABLE[d.reason] ?? (d.type === 'Warning' ? 'warning' : 'info');
}

/** The reasons with a severity of their own, for docs and tests. */
export function severityTable(): ReadonlyArray<[string, Severity]> {
  return Object.entries(TABLE);
}
