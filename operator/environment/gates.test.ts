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

describe('config gate', () => {
  test('open without config facts, and open when every rule holds', () => {
    expect(evaluateGates(facts(), NOW)).toBeUndefined();
    expect(evaluateGates(facts({ config: { violations: [], hash: 'abc' } }), NOW)).toBeUndefined();
  });

  test('a missing ConfigMap or Secret stalls the rollout, naming both', () => {
    const missing = ['ConfigMap "shop-config"', 'Secret "shop-secrets"'];
    expect(evaluateGates(facts({ config: { missing, violations: [] } }), NOW)).toEqual({
      phase: 'Pending',
      reason: 'ConfigNotFound',
      message: 'ConfigMap "shop-config" and Secret "shop-secrets" not found in namespace "shop"',
      stalled: true,
    });
  });

  test('violations stall the rollout, every key in the message', () => {
    const violations = [
      { key: 'DATABASE_URL', message: 'is required but set in neither the ConfigMap nor the Secret' },
      { key: 'LOG_LEVEL', message: 'value "loud" is not one of "info"' },
    ];
    const g = evaluateGates(facts({ config: { violations } }), NOW);
    expect(g).toMatchObject({ phase: 'Pending', reason: 'ConfigInvalid', stalled: true });
    expect(g?.message).toContain('DATABASE_URL: is required');
    expect(g?.message).toContain('LOG_LEVEL: value "loud"');
  });

  test('comes right after the references: a missing Environment is named first', () => {
    const g = evaluateGates(
      facts({
        environment: { name: 'production', found: false },
        config: { violations: [{ key: 'A', message: 'bad' }] },
      }),
      NOW,
    );
    expect(g?.reason).toBe('EnvironmentNotFound');
    expect(GATES[1]?.(facts({ config: { violations: [{ key: 'A', message: 'bad' }] } }), NOW)?.reason).toBe(
      'ConfigInvalid',
    );
  });
});
