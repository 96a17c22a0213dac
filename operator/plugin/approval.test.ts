import { describe, expect, it } from '@jest/globals';
import type { Release } from '../api/generated/index.js';
import { approvalKey } from '../environment/approvals.js';
import { revisionOf } from '../release/names.js';
import { approverProblem, planApproval, renderApproval, revisionToApprove } from './approval.js';

const TEMPLATE = { spec: { containers: [{ name: 'app', image: 'example.com/web:2' }] } };
const REV = revisionOf('web', '2.0.0', TEMPLATE);

function release(approvedBy?: string, version = '2.0.0'): Release {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: {
      name: 'web',
      namespace: 'shop',
      ...(approvedBy === undefined ? {} : { annotations: { 'cutover.dev/approved-by': approvedBy } }),
    },
    spec: { environmentRef: { name: 'production' }, application: 'web', version, template: TEMPLATE },
  };
}

const KEY = approvalKey(REV, release().spec);

describe('planApproval', () => {
  it('approves the revision of the spec it was given, as the operator computes it', () => {
    expect(planApproval(release(), 'alice')).toEqual({
      revision: REV,
      key: KEY,
      version: '2.0.0',
      user: 'alice',
      annotation: `${KEY}:alice`,
      approvers: ['alice'],
    });
  });

  it('adds to the approvals of the same revision and drops other revisions', () => {
    const plan = planApproval(release(`0123456789:carol, ${KEY}:bob`), 'system:serviceaccount:ci:deployer');
    expect(plan.annotation).toBe(`${KEY}:bob,${KEY}:system:serviceaccount:ci:deployer`);
    expect(plan.approvers).toEqual(['bob', 'system:serviceaccount:ci:deployer']);
  });

  it('changes nothing when the user already approved this revision, and counts each person once', () => {
    const plan = planApproval(release(`${KEY}:alice,${KEY}:bob,${KEY}:alice`), 'alice');
    expect(plan.annotation).toBeUndefined();
    expect(plan.approvers).toEqual(['alice', 'bob']);
  });

  it('does not carry an approval of one version to the next', () => {
    const plan = planApproval(release(`${KEY}:alice`, '3.0.0'), 'alice');
    expect(plan.revision).toBe(revisionOf('web', '3.0.0', TEMPLATE));
    expect(plan.annotation).toBe(`${plan.key}:alice`);
  });

  it('binds to the whole spec: a migration image changed after the approval needs a new one; pausing does not', () => {
    const changed = release();
    changed.spec.migrations = { databaseSecretRef: { name: 'db', key: 'url' }, expand: { image: 'evil:1' } };
    expect(planApproval(changed, 'alice').key).not.toBe(KEY);
    const paused = release();
    paused.spec.paused = true;
    expect(planApproval(paused, 'alice').key).toBe(KEY);
  });
});

describe('renderApproval', () => {
  it('names the revision, version, release and user, and tallies this revision', () => {
    expect(renderApproval(planApproval(release(), 'alice'), 'shop/web')).toBe(
      `Approved revision ${REV} (version 2.0.0) of release shop/web as alice; 1 approval(s) of this revision: alice.\n`,
    );
    expect(renderApproval(planApproval(release(`${KEY}:alice,${KEY}:bob`), 'bob'), 'shop/web')).toBe(
      `Already approved revision ${REV} (version 2.0.0) of release shop/web as bob; nothing to change. 2 approval(s) of this revision: alice, bob.\n`,
    );
  });
});

describe('approverProblem', () => {
  it('refuses names the comma-separated list cannot hold', () => {
    expect(approverProblem('alice')).toBeUndefined();
    expect(approverProblem('system:serviceaccount:ci:deployer')).toBeUndefined();
    expect(approverProblem('')).toMatch(/empty user name/);
    expect(approverProblem('doe, jane')).toMatch(/holds a comma/);
    expect(approverProblem(' alice')).toMatch(/surrounding spaces/);
  });
});

describe('revisionToApprove', () => {
  const base = {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: { name: 'web', namespace: 'shop', generation: 4 },
    spec: { environmentRef: { name: 'p' }, application: 'web', version: '2.0.0', template: {} },
  } as const;

  it("the operator's revision once it has seen this spec (it may cover the configuration too)", () => {
    expect(revisionToApprove({ ...base, status: { observedGeneration: 4, revision: 'withconfig1' } })).toBe(
      'withconfig1',
    );
  });

  it("the spec's own revision before the operator has seen it", () => {
    const stale = revisionToApprove({ ...base, status: { observedGeneration: 3, revision: 'old' } });
    expect(stale).not.toBe('old');
    expect(stale).toBe(revisionToApprove(base));
  });
});
