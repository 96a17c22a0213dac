// Deploying and Shifting: the target slot comes up with the new template, then
// traffic moves to it step by step, each step held for stepDuration.
import { ANNOTATIONS } from '../../api/annotations.js';
import { analyse } from './analysis.js';
import type { Builder } from './builder.js';
import { iso } from './builder.js';
import { promote } from './promote.js';
import { verifying } from './verify.js';
import { canaryReplicas } from '../traffic/index.js';

/** A first rollout has nothing to shift from; Service mode switches all at once. */
const stepped = (b: Builder) => b.hasStable && b.traffic.stepped;

/** Replicas the target slot comes up with: the first step's share when replica counts carry the weight. */
function deployReplicas(b: Builder): number {
  const { spec } = b;
  return stepped(b) && spec.mode === 'Replicas'
    ? canaryReplicas(spec.replicas, spec.steps[0] ?? 100)
    : spec.replicas;
}

// One message from the transition until the slot is available: a message that
// changed on the next reconcile would be a status write of its own, and live
// pod counts would be one per pod.
const deployingMessage = (b: Builder) =>
  `deploying ${b.spec.version} to the ${b.target} slot (${deployReplicas(b)} replicas)`;

export function deploying(b: Builder, opts: { quiet?: boolean } = {}): Builder {
  return b.phase('Deploying', 'Deploying', deployingMessage(b), opts);
}

export function deploy(b: Builder): Builder {
  const { spec, obs, target } = b;
  const want = deployReplicas(b);
  const slot = obs.slots[target];
  if (!slot || slot.revision !== spec.revision || slot.replicas !== want) {
    b.act({ type: 'ApplySlot', slot: target, replicas: want });
  }
  const ready =
    slot?.revision === spec.revision && slot.replicas === want && slot.rolledOut && slot.available >= want;
  if (!ready) {
    const elapsed = b.since(b.status.phaseStartedAt);
    if (elapsed >= spec.progressDeadlineMs) {
      const message = `the ${target} slot did not become available within the progress deadline (${slot?.available ?? 0}/${want} ready); traffic was not moved`;
      return b.record('Failed').phase('Failed', 'ProgressDeadlineExceeded', message);
    }
    b.after(spec.progressDeadlineMs - elapsed);
    return b.health({ state: 'Progressing', reason: 'Deploying', message: deployingMessage(b) });
  }
  if (spec.verify && b.status.verification?.phase !== 'Succeeded') return verifying(b);
  return firstStep(b);
}

/** The new slot is available (and verified): the first traffic step, or all at once. */
export function firstStep(b: Builder): Builder {
  const { obs } = b;
  if (!stepped(b)) return promote(b);
  if (obs.trafficProblem) {
    b.after(30_000);
    return b.health({ state: 'Stalled', reason: 'TrafficTargetInvalid', message: obs.trafficProblem });
  }
  return enterStep(b, 0);
}

function stepMessage(b: Builder, index: number): string {
  const weight = b.spec.steps[index] ?? 100;
  return `${weight}% of traffic on ${b.spec.version} (step ${index + 1}/${b.spec.steps.length})`;
}

function enterStep(b: Builder, index: number): Builder {
  const weight = b.spec.steps[index] ?? 100;
  b.set({ currentStep: index, canaryWeight: weight, stepStartedAt: iso(b.now) });
  b.act(...b.traffic.setWeight(b.view, weight));
  b.after(b.spec.stepDurationMs);
  const message = stepMessage(b, index);
  if (b.status.phase !== 'Shifting') return b.phase('Shifting', 'Shifting', message);
  return b
    .event('Normal', 'StepStarted', message)
    .health({ state: 'Progressing', reason: 'Shifting', message });
}

export function shift(b: Builder): Builder {
  const { spec, obs } = b;
  if (obs.annotations.promote) {
    b.act({ type: 'ClearAnnotation', key: ANNOTATIONS.promote });
    b.event('Normal', 'PromoteRequested', 'remaining steps skipped on request');
    return promote(b);
  }
  // The stable Service already selects the new slot: a promotion whose status write was lost.
  if (obs.stableSelects === b.target) return promote(b);
  const index = b.status.currentStep ?? 0;
  // Traffic already at a later step (its status write was lost): carry on from there, never back.
  const reached = reachedStep(b, index);
  if (reached > index) return enterStep(b, reached);
  const weight = spec.steps[index] ?? 100;
  const held = b.since(b.status.stepStartedAt);
  const over = !spec.paused && held >= spec.stepDurationMs;
  // Full traffic is a promotion in all but name: it too waits for a passing evaluation.
  const final = index + 1 >= spec.steps.length || spec.steps[index + 1] === 100;
  const dueAt = over ? b.now.getTime() - (Number.isFinite(held) ? held - spec.stepDurationMs : 0) : undefined;
  // Analysis runs while paused too: a pause holds traffic, not judgement.
  const verdict = analyse(b, { dueAt, final });
  if (verdict === 'stopped') return b;
  // Re-assert the step's weight (someone may have edited the route or scaled a
  // slot), only once the analysis did not send traffic the other way.
  b.act(...b.traffic.setWeight(b.view, weight));
  if (spec.paused) {
    return b.health({
      state: 'Progressing',
      reason: 'Paused',
      message: `paused at ${weight}% (spec.paused)`,
    });
  }
  if (!over) return b.after(spec.stepDurationMs - held);
  if (verdict === 'hold') return b;
  return index + 1 < spec.steps.length ? enterStep(b, index + 1) : promote(b);
}

/** The highest step after `from` whose traffic the cluster already shows. */
function reachedStep(b: Builder, from: number): number {
  const { steps } = b.spec;
  const current = steps[from] ?? 0;
  for (let j = steps.length - 1; j > from; j--) {
    if (b.traffic.shows(b.view, steps[j] ?? 100, current)) return j;
  }
  return from;
}
