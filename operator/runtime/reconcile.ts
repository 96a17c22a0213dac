// The act step shared by every kind: write the status built in memory (or
// nothing, when it did not change) and record an Event when Ready moves.
import type { KubeClient } from './client.js';
import type { Condition } from './conditions.js';
import { readyTransition, recordEvent, writeStatus, type GVR, type StatusObject } from './status.js';

export async function commitStatus<S extends { conditions?: Condition[] }>(
  client: KubeClient,
  gvr: GVR,
  obj: StatusObject<S>,
  next: S,
  /** The operator's clock, which the Event's decision is recorded on. */
  now = new Date(),
): Promise<boolean> {
  const wrote = await writeStatus(client, gvr, obj, next);
  if (wrote) {
    const event = readyTransition(obj.status?.conditions, next.conditions ?? []);
    if (event) await recordEvent(client, obj, event, now);
  }
  return wrote;
}
