import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../api/codegen.js';
import { severityOf, severityTable } from './severity.js';

describe('severityOf', () => {
  test.each([
    ['SlotUnavailable', 'Warning', 'critical'],
    ['ContractApplied', 'Warning', 'critical'],
    ['ContractFailed', 'Warning', 'critical'],
    ['ChainBroken', 'Warning', 'critical'],
    ['RestoreDrillFailed', 'Warning', 'critical'],
    ['AnalysisFailed', 'Warning', 'warning'],
    ['AnalysisBreached', 'Warning', 'warning'],
    ['BackupFailed', 'Warning', 'warning'],
    ['Drifted', 'Warning', 'warning'],
    // A gate that holds a Release on broken configuration is recorded as Normal, yet needs a person.
    ['ConfigInvalid', 'Normal', 'warning'],
    ['RolloutSucceeded', 'Normal', 'info'],
    ['DriftCorrected', 'Normal', 'info'],
  ] as const)('%s (%s) is %s', (reason, type, severity) => {
    expect(severityOf({ reason, type })).toBe(severity);
  });

  test('a reason not in the table follows its Event type', () => {
    expect(severityOf({ reason: 'SomethingNew', type: 'Warning' })).toBe('warning');
    expect(severityOf({ reason: 'SomethingNew', type: 'Normal' })).toBe('info');
  });

  test('docs/notifications.md lists every reason of the table with its severity', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/notifications.md'), 'utf8');
    const missing = severityTable().filter(
      ([reason, s]) => !new RegExp(`\\| ${s} +\\|.*\\b${reason}\\b`).test(doc),
    );
    expect(missing).toEqual([]);
  });
});
