import type { Environment } from '../api/generated/index.js';
import {
  countedApprovers,
  evaluateGates,
  GATES,
  type ApprovalFacts,
  type Gate,
  type GateFacts,
  type PromotionFacts,
} from './gates.js';

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
      gate: 'references',
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

  test('a RollbackPolicy found but unusable parks the rollout with its own reason', () => {
    const problem = { reason: 'PrometheusAddressMissing', message: 'no Prometheus address: set it' };
    expect(evaluateGates(facts({ rollbackPolicy: { name: 'standard', found: true, problem } }), NOW)).toEqual(
      {
        gate: 'references',
        phase: 'Pending',
        reason: 'PrometheusAddressMissing',
        message: 'RollbackPolicy "standard": no Prometheus address: set it',
        stalled: true,
      },
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
    const gates = [
      ['config', open],
      ['window', shut('window')],
      ['approvals', shut('later')],
    ] as const;
    expect(evaluateGates(facts(), NOW, gates)?.reason).toBe('window');
    expect(asked).toEqual(['open', 'window']);
  });

  test('the reference check comes first in the list', () => {
    expect(GATES.length).toBeGreaterThanOrEqual(1);
    expect(GATES[0]?.[1](facts({ environment: { name: 'x', found: false } }), NOW)?.reason).toBe(
      'EnvironmentNotFound',
    );
  });
});

describe('promotion.from and soak', () => {
  const source = { namespace: 'shop-staging', name: 'staging' };
  const promoted = (over: Partial<PromotionFacts> = {}): GateFacts =>
    facts({ promotion: { source, wanted: 'version 2.0.0', soakMs: 30 * 60_000, ...over } });

  test('not yet Succeeded in the source: waits, naming what runs there', () => {
    expect(evaluateGates(promoted({ runningThere: '1.9.0' }), NOW)).toEqual({
      gate: 'promotion',
      phase: 'Pending',
      reason: 'NotPromoted',
      message: 'version 2.0.0 has not Succeeded in Environment shop-staging/staging (it runs 1.9.0 there)',
    });
  });

  test('Succeeded but soaking: waits for the rest of the soak, naming instants, and comes back then', () => {
    const result = evaluateGates(promoted({ succeededAt: new Date(NOW.getTime() - 12 * 60_000) }), NOW);
    expect(result).toEqual({
      gate: 'promotion',
      phase: 'Pending',
      reason: 'Soaking',
      message:
        'version 2.0.0 Succeeded in Environment shop-staging/staging at 2026-12-02T09:48:00.000Z; its 30m soak ends at 2026-12-02T10:18:00.000Z',
      recheckAfterMs: 18 * 60_000,
    });
  });

  test('soaked for exactly the soak: open', () => {
    expect(
      evaluateGates(promoted({ succeededAt: new Date(NOW.getTime() - 30 * 60_000) }), NOW),
    ).toBeUndefined();
  });

  test('an unusable source stalls with its own reason', () => {
    const problem = { reason: 'CrossTenantPromotion', message: 'different tenants' };
    expect(evaluateGates(promoted({ problem }), NOW)).toEqual({
      gate: 'promotion',
      phase: 'Pending',
      ...problem,
      stalled: true,
    });
  });
});

describe('approvals', () => {
  const approvals = (over: Partial<ApprovalFacts> = {}): GateFacts =>
    facts({ approvals: { required: 2, approvers: [], forbidSelfApproval: false, ...over } });

  test('fewer distinct approvers than required: AwaitingApproval, naming who approved', () => {
    expect(evaluateGates(approvals({ approvers: ['alice'] }), NOW)).toEqual({
      gate: 'approvals',
      phase: 'AwaitingApproval',
      reason: 'AwaitingApproval',
      message: '1 of 2 approvals (alice); approve with kubectl cutover approve',
    });
    expect(evaluateGates(approvals({ approvers: ['alice', 'bob'] }), NOW)).toBeUndefined();
  });

  test("the author's own approval does not count when the Environment forbids it", () => {
    const own = approvals({ approvers: ['alice', 'bob'], author: 'alice', forbidSelfApproval: true });
    expect(evaluateGates(own, NOW)?.message).toBe(
      '1 of 2 approvals (bob); alice changed it and cannot approve it; approve with kubectl cutover approve',
    );
    expect(
      countedApprovers({
        required: 2,
        approvers: ['alice', 'bob'],
        author: 'alice',
        forbidSelfApproval: false,
      }),
    ).toEqual(['alice', 'bob']);
  });

  test('an unknown author blocks when self-approval is forbidden', () => {
    expect(evaluateGates(approvals({ approvers: ['a', 'b'], forbidSelfApproval: true }), NOW)?.reason).toBe(
      'AuthorUnknown',
    );
  });

  test('gates run in the documented order: promotion before approvals', () => {
    const both = facts({
      promotion: { source: { namespace: 'shop', name: 'staging' }, wanted: 'version 2.0.0', soakMs: 0 },
      approvals: { required: 1, approvers: [], forbidSelfApproval: false },
    });
    expect(evaluateGates(both, NOW)?.reason).toBe('NotPromoted');
  });
});

describe('windows', () => {
  const withWindows = (
    windows: NonNullable<NonNullable<Environment['spec']['promotion']>['windows']>,
  ): GateFacts =>
    facts({
      environment: {
        name: 'production',
        found: true,
        object: {
          apiVersion: 'cutover.dev/v1alpha1',
          kind: 'Environment',
          metadata: { name: 'production', namespace: 'shop' },
          spec: { tier: 'production', promotion: { windows } },
        },
      },
    });
  const berlin = { days: ['Mon' as const], start: '09:00', end: '16:00', timeZone: 'Europe/Berlin' };

  test('outside every window: WaitingForWindow until the next opening', () => {
    // Wednesday 10:00 UTC: the next Monday 09:00 Berlin is 2026-12-07T08:00Z.
    expect(evaluateGates(withWindows([berlin]), NOW)).toEqual({
      gate: 'window',
      phase: 'WaitingForWindow',
      reason: 'WaitingForWindow',
      message: 'next window opens Mon 09:00 Europe/Berlin',
      recheckAfterMs: Date.parse('2026-12-07T08:00:00Z') - NOW.getTime(),
    });
  });

  test('inside a window: open', () => {
    expect(evaluateGates(withWindows([{ ...berlin, days: ['Wed'] }]), NOW)).toBeUndefined();
  });

  test('a time zone Intl does not know stalls with the window named', () => {
    expect(evaluateGates(withWindows([{ ...berlin, timeZone: 'Europe/Berln' }]), NOW)).toMatchObject({
      phase: 'WaitingForWindow',
      reason: 'InvalidWindow',
      stalled: true,
    });
  });

  test('the window is asked last: approvals first', () => {
    const f = withWindows([berlin]);
    f.approvals = { required: 1, approvers: [], forbidSelfApproval: false };
    expect(evaluateGates(f, NOW)?.reason).toBe('AwaitingApproval');
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
      gate: 'config',
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
    expect(
      GATES[1]?.[1](facts({ config: { violations: [{ key: 'A', message: 'bad' }] } }), NOW)?.reason,
    ).toBe('ConfigInvalid');
  });
});
