import { evaluateGates, GATES, type Gate, type GateFacts } from './gates.js';

const NOW = new Date('2026-12-02T10:00:00Z');

const facts = (over: Partial<GateFacts> = {}): GateFacts => ({
  namespace: 'shop',
  environment: { name: 'production', found: true },
  ...over,
});

describe('promotion gates', () => {
  test('open when every reference resolves', () => {
    expect(
      evaluateGates(
        facts({
          rollbackPolicy: { name: 'standard', found: true },
          backupPolicy: { name: 'nightly', found: true },
        }),
        NOW,
      ),
    ).toBeUndefined();
  });

  test('a missing Environment parks the rollout in Pending, stalled until it appears', () => {
    expect(evaluateGates(facts({ environment: { name: 'production', found: false } }), NOW)).toEqual({
      phase: 'Pending',
      reason: 'EnvironmentNotFound',
      message: 'Environment "production" not found in namespace "shop"',
      stalled: true,
    });
  });

  test('references are checked in order: Environment, RollbackPolicy, BackupPolicy', () => {
    const missingBoth = facts({
      rollbackPolicy: { name: 'standard', found: false },
      backupPolicy: { name: 'nightly', found: false },
    });
    expect(evaluateGates(missingBoth, NOW)?.reason).toBe('RollbackPolicyNotFound');
    const missingBackup = facts({ backupPolicy: { name: 'nightly', found: false } });
    expect(evaluateGates(missingBackup, NOW)?.message).toBe(
      'BackupPolicy "nightly" not found in namespace "shop"',
    );
  });

  test('the first gate that blocks wins, and later gates are not asked', () => {
    const asked: string[] = [];
    const shut =
      (name: string): Gate =>
      () => {
        asked.push(name);
        return { phase: 'WaitingForWindow', reason: name, message: name };
      };
    const open: Gate = () => {
      asked.push('open');
      return undefined;
    };
    expect(evaluateGates(facts(), NOW, [open, shut('window'), shut('later')])?.reason).toBe('window');
    expect(asked).toEqual(['open', 'window']);
  });

  test('the reference check comes first in the list', () => {
    expect(GATES.length).toBeGreaterThanOrEqual(1);
    expect(GATES[0]?.(facts({ environment: { name: 'x', found: false } }), NOW)?.reason).toBe(
      'EnvironmentNotFound',
    );
  });
});
