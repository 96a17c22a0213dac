// The options and results of a migration run.
import type pg from 'pg';
import type { Phase } from '../lint.js';

export interface MigrateOptions {
  phase: Phase;
  /** Run everything in one transaction and roll it back at the end. */
  dryRun?: boolean;
  /** The Release revision to record with each version applied; see REVISION. */
  revision?: string;
  /** Run the down files of the last N applied versions instead of applying. */
  down?: number;
  /**
   * Run the down files of the versions this revision applied instead of
   * applying; none is no error. Exclusive with `down`.
   */
  downRevision?: string;
  /** One human-readable progress line at a time. */
  log: (line: string) => void;
}

export interface MigrationRun {
  version: number;
  name: string;
  /** The file that ran: the up file, or the down file for a roll-back. */
  file: string;
  durationMs: number;
}

export interface MigrateSummary {
  /** Up files applied in this run (with dryRun: the ones that would apply). */
  applied: MigrationRun[];
  /** Migrations of the set that were already applied. */
  skipped: number;
  /** Down files run in this run, newest first; only with `down` or `downRevision`. */
  rolledBack?: MigrationRun[];
  dryRun: boolean;
}

export type Connection = string | pg.ClientConfig;
