// The Release state machine: a pure function from (resolved spec, status,
// observation) to the next status and a short ordered list of actions. It
// moves at most one phase per call; the controller requeues at once after a
// transition, so every phase boundary is a point where a crash can happen and
// the next call, from the persisted status and fresh observation, carries on.
import { ANNOTATIONS } from '../../api/annotations.js';
import { GATE_PHASES, atGate } from '../../environment/gates.js';
import type { ReleaseStatus } from '../../api/generated/index.js';
import { analyse } from './analysis.js';
import { Builder, TERMINAL } from './builder.js';
import { enforcement, gate, shutGate } from './gate.js';
import { drift, liveHealth } from './drift.js';
import { migrate } from './migrate.js';
import { backUp, bake, followContract, resize, retryBackup, settleOldSlot } from './promote.js';
import { abandon, finishRollback, rollBack } from './rollback.js';
import { deploy, shift } from './shift.js';
import { retry, startRollout } from './start.js';
import { verify } from './verify.js';
import type { Observation, Plan, RolloutSpec } from './types.js';

export type * from './types.js';
export { canaryReplicas, stableReplicas } from '../traffic/index.js';

const BEFORE_PROMOTION: readonly string[] = [
  ...GATE_PHASES,
  'Migrating',
  'Deploying',
  'Verifying',
  'Shifting',
];

/** The next status and actions for a Release. Pure: no I/O, no clock but `obs.now`. */
export function planRelease(spec: RolloutSpec, current: ReleaseStatus, obs: Observation): Plan {
  const b = enforcement(new Builder(spec, obs, { ...current, observedGeneration: spec.generation }));
  if (current.revision !== spec.revision) {
    const down = current.migrations?.down;
    if (current.phase === 'RollingBack' && (down?.phase === 'Pending' || down?.phase === 'Running')) {
      // The schema is still being taken back: the next expand must not race it for the lock.
      return finishRollback(b).done();
    }
    // Pending acts on nothing, so a rollout whose gates are open goes on in the
    // same call: one status write and one Event fewer per rollout.
    // A first rollout with nothing in its way is news once, when it succeeds,
    // like a new object healthy from birth: at a thousand new Releases the
    // start Events alone would be a thousand writes.
    const shut = shutGate(b);
    startRollout(b, {
      quiet: !current.stableRevision && !spec.expand && !shut,
      gates: shut ? 'blocked' : 'open',
    });
    return (b.status.phase === 'Pending' ? gate(b, { starting: true, shut }) : b).done();
  }

  const { phase = 'Pending' } = current;
  if (obs.annotations.retry) {
    b.act({ type: 'ClearAnnotation', key: ANNOTATIONS.retry });
    if (phase === 'Failed' || phase === 'RolledBack') return retry(b).done();
    // Still in flight: only the backup is taken again, by the next call, which observes the new Job's name.
    if (phase === 'BackingUp' && current.backup?.phase === 'Failed') return retryBackup(b).done();
  }
  if (obs.annotations.abort) {
    b.act({ type: 'ClearAnnotation', key: ANNOTATIONS.abort });
    const request = { cause: 'Aborted' as const, reason: `rollout of ${spec.version} aborted on request` };
    if (atGate(phase)) return abandon(b, request).done();
    if (!TERMINAL.includes(phase) && phase !== 'RollingBack') {
      return rollBack(b, {
        cause: 'Aborted',
        reason: `rollout of ${spec.version} aborted on request`,
      }).done();
    }
  }

  // A promote request means this rollout's steps; left over after them it would skip the analysis of the next one.
  if (obs.annotations.promote && !BEFORE_PROMOTION.includes(phase)) {
    b.act({ type: 'ClearAnnotation', key: ANNOTATIONS.promote });
    b.event('Normal', 'PromoteIgnored', `nothing to promote in phase ${phase}`);
  }

  switch (phase) {
    case 'Pending':
    case 'AwaitingApproval':
    case 'WaitingForWindow':
      // The serving slot runs the previous revision, whose template the Release no longer holds: reported only.
      return drift(gate(b), { correct: false }).done();
    case 'Migrating':
      return migrate(b, 'expand').done();
    case 'Deploying':
      return deploy(b).done();
    case 'Verifying':
      return verify(b).done();
    case 'Shifting':
      return shift(b).done();
    case 'Baking':
      return bake(b).done();
    case 'BackingUp':
      // Nothing irreversible ran and the previous slot is up: a breach rolls back, as in the bake.
      if (analyse(b, { final: true }) === 'stopped') return b.done();
      return backUp(b).done();
    case 'Contracting':
      // A breach now freezes the rollout instead of moving traffic (see rollBack).
      if (analyse(b, { final: true }) === 'stopped') return b.done();
      return migrate(b, 'contract').done();
    case 'RollingBack':
      return finishRollback(b).done();
    case 'Succeeded':
      return drift(liveHealth(resize(settleOldSlot(b))), { correct: true }).done();
    case 'Failed':
      return followContract(b).done();
    case 'RolledBack':
      return b.done();
  }
}
