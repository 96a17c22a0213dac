// Analysis: each evaluation the controller ran is folded into status.analysis;
// failureLimit breaches in a row roll the Release back; a traffic step, the
// promotion and the contract go ahead only on a passing evaluation taken after
// they became due, so nothing moves forward on data nobody saw.
//
// status.analysis is rewritten when the verdict or the count of breaches in a
// row changes, or at a decision, never merely because an interval passed: a
// thousand Releases under analysis would otherwise write a thousand times per
// interval. Conditions name triggers, not live values, for the same reason.
import { ADDRESS_MISSING_MESSAGE, PROMETHEUS_ADDRESS_MISSING } from '../../rollback/address.js';
import type { Evaluation } from '../../rollback/types.js';
import type { Builder } from './builder.js';
import { iso } from './builder.js';
import { rollBack } from './rollback.js';

export type Verdict = 'go' | 'hold' | 'stopped';

const MEASUREMENTS_LIMIT = 32;

/**
 * Folds in this reconcile's evaluation. `dueAt`: when the step (or bake)
 * ended, if it has; `final`: going on would promote or contract.
 */
export function analyse(b: Builder, { dueAt, final }: { dueAt?: number; final: boolean }): Verdict {
  if (b.obs.policyMissing) {
    const message = `RollbackPolicy ${b.obs.policyMissing} not found: the rollout holds rather than go on unjudged`;
    b.after(30_000).health({ state: 'Stalled', reason: 'RollbackPolicyNotFound', message });
    return 'hold';
  }
  const a = b.obs.analysis;
  if (a?.addressMissing) {
    // No requeue: the policy's watch or the operator's restart with the flag brings the Release back.
    const message = `RollbackPolicy ${a.policy}: ${ADDRESS_MISSING_MESSAGE}; the rollout holds rather than go on unjudged`;
    b.health({ state: 'Stalled', reason: PROMETHEUS_ADDRESS_MISSING, message });
    return 'hold';
  }
  if (!a || a.idle) return dueAt === undefined ? 'hold' : 'go';
  b.after(a.nextInMs);
  const ev = a.evaluation;
  // A decision needs an evaluation taken after the step became due.
  const fresh = ev !== undefined && dueAt !== undefined && ev.at.getTime() >= dueAt;
  const pass = ev?.verdict === 'Pass';
  const goes =
    fresh && (pass || (ev.verdict === 'Inconclusive' && a.onInconclusive === 'Continue' && !final));
  // Recorded when it changed, or when the rollout moves on (a write that happens anyway): a
  // step held on Inconclusive writes nothing per interval.
  if (ev && fold(b, ev, goes)) return 'stopped';
  if (dueAt === undefined) return 'hold';
  if (!fresh) {
    // One taken since it became due already held it; otherwise ask for one now.
    const last = a.lastAt?.getTime() ?? -Infinity;
    if (last < dueAt) b.evaluateNow();
    return 'hold';
  }
  return goes ? 'go' : 'hold';
}

/** Records the evaluation; true when it rolled the Release back. */
function fold(b: Builder, ev: Evaluation, goes: boolean): boolean {
  const a = b.obs.analysis;
  if (!a) return false;
  const prev = b.status.analysis;
  const breach = ev.verdict === 'Fail' || (ev.verdict === 'Inconclusive' && a.onInconclusive === 'Rollback');
  let failures = prev?.policy === a.policy ? (prev.consecutiveFailures ?? 0) : 0;
  if (breach) failures += 1;
  else if (ev.verdict === 'Pass') failures = 0;
  const changed =
    prev?.policy !== a.policy ||
    prev.verdict !== ev.verdict ||
    (prev.consecutiveFailures ?? 0) !== failures ||
    shapeOf(prev.lastMeasurements) !== shapeOf(ev.readings);
  if (changed || goes) {
    b.set({
      analysis: {
        policy: a.policy,
        verdict: ev.verdict,
        message: ev.message.slice(0, 1024),
        consecutiveFailures: failures,
        lastEvaluation: iso(ev.at),
        lastMeasurements: ev.readings.slice(0, MEASUREMENTS_LIMIT),
      },
    });
  }
  if (breach && failures >= a.failureLimit) {
    const failed =
      ev.readings.find((r) => r.result === 'Fail') ?? ev.readings.find((r) => r.result !== 'Pass');
    rollBack(b, {
      cause: 'AnalysisFailed',
      reason: `RollbackPolicy ${a.policy}: ${ev.message} (${failures} breaching evaluation${failures === 1 ? '' : 's'} in a row)`,
      trigger: failed?.trigger,
      value: failed?.value,
      threshold: failed?.threshold,
    });
    return true;
  }
  if (changed) {
    const names = (r: string) =>
      ev.readings
        .filter((x) => x.result === r)
        .map((x) => x.trigger)
        .join(', ');
    if (ev.verdict === 'Fail')
      b.event('Warning', 'AnalysisBreached', `${ev.message} (${failures} of ${a.failureLimit})`);
    else if (ev.verdict === 'Inconclusive')
      b.event('Normal', 'AnalysisInconclusive', `${ev.message}; onInconclusive is ${a.onInconclusive}`);
    const message =
      ev.verdict === 'Pass'
        ? `RollbackPolicy ${a.policy}: every trigger passes`
        : `RollbackPolicy ${a.policy}: ${ev.verdict === 'Fail' ? `${names('Fail')} breached (${failures} of ${a.failureLimit})` : `${names('Inconclusive')} Inconclusive`}; see status.analysis`;
    b.condition({
      type: 'Analysis',
      status: ev.verdict === 'Pass' ? 'True' : 'False',
      reason: ev.verdict === 'Pass' ? 'Passing' : ev.verdict === 'Fail' ? 'Breaching' : 'Inconclusive',
      message,
    });
  }
  return false;
}

/**
 * What the readings say, without their numbers: a new reason to be
 * Inconclusive (Prometheus went away, where traffic was low before) is worth
 * a write; the request rate moving from 0.3 to 0.4 req/s is not.
 */
function shapeOf(
  readings: ReadonlyArray<{ trigger: string; result?: string; reason?: string }> = [],
): string {
  return readings
    .map((r) => `${r.trigger}:${r.result ?? ''}:${(r.reason ?? '').replace(/[\d.]+/g, '#')}`)
    .join('|');
}
