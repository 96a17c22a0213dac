import type { Condition } from '../runtime/conditions.js';
import { backupEvents } from './events.js';

const c = (type: string, status: Condition['status'], reason: string, message = 'm'): Condition => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: '2026-12-03T10:00:00Z',
});

describe('backupEvents', () => {
  test('a backup that fails: one Warning BackupFailed with the condition message', () => {
    const before = [c('LastBackupSucceeded', 'True', 'BackupSucceeded')];
    const after = [c('LastBackupSucceeded', 'False', 'BackupFailed', 'full backup Job j1 failed: refused')];
    expect(backupEvents(before, after)).toEqual([
      { type: 'Warning', reason: 'BackupFailed', message: 'full backup Job j1 failed: refused' },
    ]);
  });

  test('the same failure again is not news; the next failed Job is', () => {
    const failed = [c('LastBackupSucceeded', 'False', 'BackupFailed', 'Job j1 failed')];
    expect(backupEvents(failed, failed)).toEqual([]);
    expect(
      backupEvents(failed, [c('LastBackupSucceeded', 'False', 'BackupFailed', 'Job j2 failed')]).map(
        (e) => e.reason,
      ),
    ).toEqual(['BackupFailed']);
  });

  test('a failed restore drill and a broken WAL chain; other conditions and reasons say nothing', () => {
    expect(
      backupEvents(undefined, [
        c('Verified', 'False', 'RestoreDrillFailed'),
        c('WalStreaming', 'False', 'ChainBroken'),
        c('WalStreaming', 'False', 'Behind'),
        c('Ready', 'False', 'StorageUnreadable'),
        c('LastBackupSucceeded', 'True', 'BackupSucceeded'),
      ]).map((e) => e.reason),
    ).toEqual(['RestoreDrillFailed', 'ChainBroken']);
    expect(backupEvents(undefined, [c('WalStreaming', 'False', 'Behind')])).toEqual([]);
  });
});
