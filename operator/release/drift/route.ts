// Drift of the HTTPRoute: only the weights of our two backendRefs, in the
// rules that route to our stable Service. Rules without our backendRefs are
// other teams' and are never read here. Rules is an atomic list, so
// managedFields cannot say which weight changed, only who last wrote the
// rules: the weights are compared by value (they are plain integers we set
// ourselves), and the manager is the last other writer of the rules.
import { FIELD_MANAGER } from '../../runtime/client.js';
import { isService, ourRules, type HTTPRoute } from '../traffic/route.js';
import { isForeignSpecEntry, type FieldChange, type ManagedFieldsEntry } from './fields.js';

export type ObservedRoute = HTTPRoute & { metadata?: { managedFields?: ManagedFieldsEntry[] } };

/**
 * Our weights that differ from a settled route: the stable Service carries
 * the traffic (weight > 0) and the preview Service none. A missing weight is
 * 1, as Gateway API defines it.
 */
export function routeDrift(route: ObservedRoute, stable: string, preview: string): FieldChange[] {
  const ns = route.metadata?.namespace ?? '';
  const { manager, how } = lastRulesWriter(route.metadata?.managedFields ?? []);
  const out: FieldChange[] = [];
  for (const i of ourRules(route, stable)) {
    (route.spec?.rules?.[i]?.backendRefs ?? []).forEach((ref, j) => {
      const weight = ref.weight ?? 1;
      const wrong = isService(ref, stable, ns) ? weight === 0 : isService(ref, preview, ns) && weight !== 0;
      if (!wrong) return;
      const path = `spec.rules[${i}].backendRefs[${j}].weight`;
      out.push({ path, manager, how, ours: true, pointer: `/spec/rules/${i}/backendRefs/${j}/weight` });
    });
  }
  return out;
}

function lastRulesWriter(entries: readonly ManagedFieldsEntry[]): { manager: string; how: string } {
  const writers = entries
    .filter((e) => e.manager !== FIELD_MANAGER && isForeignSpecEntry(e))
    .filter((e) => 'f:rules' in ((e.fieldsV1 as { 'f:spec'?: object } | undefined)?.['f:spec'] ?? {}))
    .sort((a, b) => String(b.time ?? '').localeCompare(String(a.time ?? '')));
  const w = writers[0];
  if (!w) return { manager: 'an unknown manager', how: 'update' };
  return { manager: w.manager ?? 'unknown', how: w.subresource || (w.operation ?? 'update').toLowerCase() };
}
