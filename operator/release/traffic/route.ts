// Gateway API traffic: the weights of our two backendRefs (the stable Service
// <app> and <app>-preview) in the rules of a user's HTTPRoute that route to
// <app>. HTTPRoute rules and backendRefs are atomic lists, so a server-side
// apply of "our part" would replace the whole list; a JSON patch guarded by
// `test` operations changes exactly our weights and fails cleanly (conflict,
// requeue) if someone reordered the list in between.

export const HTTPROUTES = { apiVersion: 'gateway.networking.k8s.io/v1', resource: 'httproutes' } as const;

export interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
}

export interface HTTPRoute {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: { rules?: Array<{ backendRefs?: BackendRef[] }> };
}

export type JsonPatchOp =
  { op: 'test'; path: string; value: unknown } | { op: 'replace' | 'add'; path: string; value: unknown };

export const isService = (ref: BackendRef, name: string, namespace: string) =>
  ref.name === name &&
  (ref.kind ?? 'Service') === 'Service' &&
  (ref.group ?? '') === '' &&
  (ref.namespace ?? namespace) === namespace;

/** Indices of the rules that route to our stable Service; every other rule is another team's. */
export function ourRules(route: HTTPRoute, stable: string): number[] {
  const ns = route.metadata?.namespace ?? '';
  return (route.spec?.rules ?? []).flatMap((r, i) =>
    (r.backendRefs ?? []).some((b) => isService(b, stable, ns)) ? [i] : [],
  );
}

/** Weight (0-100) the preview backend gets in the first rule that routes to the stable Service. */
export function previewWeight(route: HTTPRoute, stable: string, preview: string): number | undefined {
  const ns = route.metadata?.namespace ?? '';
  const [i] = ourRules(route, stable);
  if (i === undefined) return undefined;
  const refs = route.spec?.rules?.[i]?.backendRefs ?? [];
  const s = refs.find((b) => isService(b, stable, ns));
  const p = refs.find((b) => isService(b, preview, ns));
  const sw = s?.weight ?? 1;
  const pw = p ? (p.weight ?? 1) : 0;
  return sw + pw === 0 ? 0 : Math.round((pw * 100) / (sw + pw));
}

/** The patch that gives `weight` % to the preview Service, or why the route cannot take it. */
export function weightPatch(
  route: HTTPRoute,
  stable: string,
  preview: string,
  weight: number,
): { ops: JsonPatchOp[] } | { problem: string } {
  const ns = route.metadata?.namespace ?? '';
  const rules = ourRules(route, stable);
  if (rules.length === 0) {
    return {
      problem: `HTTPRoute ${route.metadata?.name ?? ''} has no rule with a backendRef to Service ${stable}; add one so traffic can be weighted`,
    };
  }
  const ops: JsonPatchOp[] = [];
  for (const i of rules) {
    const refs = route.spec?.rules?.[i]?.backendRefs ?? [];
    const base = `/spec/rules/${i}/backendRefs`;
    const s = refs.findIndex((b) => isService(b, stable, ns));
    const p = refs.findIndex((b) => isService(b, preview, ns));
    ops.push({ op: 'test', path: `${base}/${s}/name`, value: stable });
    ops.push({
      op: refs[s]?.weight === undefined ? 'add' : 'replace',
      path: `${base}/${s}/weight`,
      value: 100 - weight,
    });
    if (p >= 0) {
      ops.push({ op: 'test', path: `${base}/${p}/name`, value: preview });
      ops.push({
        op: refs[p]?.weight === undefined ? 'add' : 'replace',
        path: `${base}/${p}/weight`,
        value: weight,
      });
    } else {
      ops.push({ op: 'test', path: `${base}/${refs.length - 1}/name`, value: refs[refs.length - 1]?.name });
      ops.push({
        op: 'add',
        path: `${base}/-`,
        value: { name: preview, port: refs[s]?.port, weight },
      });
    }
  }
  return { ops };
}
