// A settled Release keeps watching what it owns: the serving slot's health
// (Ready follows it) and drift, the changes others made to the owned objects
// (the Drifted condition; in Correct mode, restored).
import type { Action } from './types.js';
import type { Builder } from './builder.js';
import type { ObjectDrift } from '../drift/observe.js';
import type { FieldChange } from '../drift/fields.js';
import { slotName } from '../names.js';

export const DRIFTED = 'Drifted';
export const SLOT_UNAVAILABLE = 'SlotUnavailable';
/** Status.message and condition messages stay within the schema's limit. */
const MESSAGE_LIMIT = 4096;

/**
 * Succeeded: Ready says whether the active slot serves, from its live
 * Deployment (deleted, scaled below spec.replicas, or short of available
 * pods), in both drift modes. Once it serves again, Ready=True comes back.
 */
export function liveHealth(b: Builder): Builder {
  const { spec } = b;
  const slot = b.stable;
  const live = b.obs.slots[slot];
  const name = `Deployment ${slotName(spec.app, slot)} of the active ${slot} slot`;
  let problem: string | undefined;
  let heals = false;
  if (!live) problem = `${name} is gone`;
  // Being resized in this very plan (spec.replicas changed): judged once it is.
  else if (live.replicas < spec.replicas && !b.actions.some((a) => a.type === 'ScaleSlot' && a.slot === slot))
    problem = `${name} is scaled to ${live.replicas} of ${spec.replicas} replicas`;
  else if (live.available < spec.replicas) {
    problem = `${name} has ${live.available} of ${spec.replicas} replicas available`;
    // Pods come back by themselves; a missing or shrunk Deployment only in Correct mode.
    heals = true;
  }
  const ready = b.status.conditions?.find((c) => c.type === 'Ready');
  if (problem) {
    const message = `${problem}: ${spec.version} is not fully served`;
    const correcting = heals || spec.driftMode === 'Correct';
    return b.health({ state: correcting ? 'Progressing' : 'Stalled', reason: SLOT_UNAVAILABLE, message });
  }
  if (ready?.reason !== SLOT_UNAVAILABLE) return b;
  return b.health({
    state: 'Ready',
    reason: 'RolloutSucceeded',
    message: `${spec.version} serves all traffic from the ${slot} slot`,
  });
}

/**
 * Drifted=True names each changed field and who changed it; a Warning Event
 * and the counter mark each new finding (not every reconcile that still sees
 * it). Correct mode restores, where `correct` allows (settled: the plan can
 * rebuild every object), and Drifted goes back to False once the live
 * objects match. Absent until drift is first seen: a Release nobody touched
 * costs no status write.
 */
export function drift(b: Builder, { correct }: { correct: boolean }): Builder {
  const found = b.obs.drift;
  if (!found) return b;
  const prev = b.status.conditions?.find((c) => c.type === DRIFTED);
  const correcting = correct && b.spec.driftMode === 'Correct';
  if (found.length === 0) {
    if (prev?.status !== 'True') return b;
    const corrected = b.spec.driftMode === 'Correct';
    return b.condition({
      type: DRIFTED,
      status: 'False',
      reason: corrected ? 'Corrected' : 'NoDrift',
      message: corrected
        ? 'drift corrected: the owned objects match the Release'
        : 'the owned objects match the Release again',
    });
  }
  const message = clip(found.map(describe).join('; '));
  const fresh = prev?.status !== 'True' || prev.message !== message;
  if (fresh) {
    b.event('Warning', DRIFTED, message);
    const before = prev?.status === 'True' ? prev.message : '';
    for (const d of found) if (!before.includes(describe(d))) b.drifted.push(d.kind);
  }
  b.condition({ type: DRIFTED, status: 'True', reason: DRIFTED, message });
  if (!correcting) return b;
  const actions = corrections(b, found);
  if (actions.length === 0) return b;
  b.act(...actions);
  if (fresh) b.event('Normal', 'DriftCorrected', clip(`restored: ${found.map(restored).join('; ')}`));
  return b;
}

/** `Deployment shop-blue spec.replicas changed by kubectl (scale)` */
export function describe(d: ObjectDrift): string {
  const head = `${d.kind} ${d.name}`;
  if (d.deleted) return `${head} was deleted`;
  const shown = d.changes.slice(0, 3).map(changeText).join(', ');
  const more = d.changes.length > 3 ? ` and ${d.changes.length - 3} more` : '';
  return `${head} ${shown}${more}`;
}

const changeText = (c: FieldChange) => `${c.path} changed by ${c.manager} (${c.how})`;

function restored(d: ObjectDrift): string {
  if (d.deleted) return `${d.kind} ${d.name} recreated`;
  const ours = d.changes.filter((c) => c.ours).map((c) => c.path);
  const removed = d.changes.filter((c) => !c.ours && c.pointer).map((c) => c.path);
  return [
    ours.length > 0 ? `${d.kind} ${d.name} ${ours.join(', ')} re-applied` : '',
    removed.length > 0 && ours.length === 0 ? `${d.kind} ${d.name} ${removed.join(', ')} removed` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/**
 * Our fields come back by re-applying (server-side apply with force takes
 * them back from whoever holds them); fields only others set are removed,
 * in a later call, once the re-apply has landed and they are all that is left.
 */
function corrections(b: Builder, found: readonly ObjectDrift[]): Action[] {
  const out: Action[] = [];
  const reapply = (d: ObjectDrift) => d.deleted || d.changes.some((c) => c.ours);
  let services = false;
  for (const d of found) {
    if (d.role === 'route') {
      out.push({ type: 'SetWeight', weight: 0, stable: b.stable, canary: b.stable });
      continue;
    }
    if (d.role === 'idle') {
      out.push({ type: 'ScaleSlot', slot: b.idle, replicas: 0 });
      continue;
    }
    if (reapply(d)) {
      if (d.role === 'active') out.push({ type: 'ApplySlot', slot: b.stable, replicas: b.spec.replicas });
      else if (!services) {
        services = true;
        const hasPreview = b.obs.previewSelects !== undefined || found.some((f) => f.role === 'preview');
        const preview = hasPreview ? b.stable : undefined;
        out.push({ type: 'ApplyServices', stable: b.stable, preview });
      }
      continue;
    }
    const pointers = d.changes.flatMap((c) => (c.pointer ? [c.pointer] : []));
    if (pointers.length > 0 && d.resourceVersion && d.kind !== 'HTTPRoute') {
      out.push({
        type: 'RemoveFields',
        kind: d.kind,
        name: d.name,
        resourceVersion: d.resourceVersion,
        pointers,
      });
    }
  }
  return out;
}

const clip = (s: string) => (s.length > MESSAGE_LIMIT ? `${s.slice(0, MESSAGE_LIMIT - 1)}…` : s);
