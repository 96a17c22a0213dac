// Drift from managedFields: which fields of an owned object someone other than
// Cutover owns, who, and how they got them. Pure.
//
// Server-side apply records, per field manager, the fields it set. When
// another manager changes one of ours (kubectl scale, kubectl edit, a patch,
// another applier with force) the apiserver moves that field into the other
// manager's set; a field someone adds that we never set lands there too. So
// "drift" is exactly the spec fields in another manager's set, and the set
// names the culprit and the way (the scale subresource, an update, an apply).
// Values are never compared: defaulting and quantity normalisation by the
// apiserver would make a value comparison report our own writes as drift.
import { jsonEqual } from '../../runtime/conditions.js';
import { FIELD_MANAGER } from '../../runtime/client.js';

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  time?: string | Date;
  fieldsV1?: object;
}

/** One field (or whole list element) someone else set. */
export interface FieldChange {
  /** Readable: spec.template.spec.containers[name=app].image */
  path: string;
  manager: string;
  /** The subresource used (scale), else the operation (update, apply). */
  how: string;
  /** A field our apply sets: re-applying takes it back. Otherwise only removing it undoes it. */
  ours: boolean;
  /** JSON pointer of the field in the live object, for removing one that is not ours. */
  pointer?: string;
}

/**
 * Managers whose writes to owned objects are part of how Kubernetes works
 * (the Deployment controller's revision annotation, status). Their entries
 * hold no spec fields today; listed so that one that ever does is not drift.
 */
const SYSTEM_MANAGERS = new Set(['kube-controller-manager', 'kube-scheduler']);

/** An entry that may hold drift: another manager's writes to the spec, not to status. */
export function isForeignSpecEntry(e: ManagedFieldsEntry): boolean {
  if (!e.manager || e.manager === FIELD_MANAGER || SYSTEM_MANAGERS.has(e.manager)) return false;
  if (e.subresource === 'status') return false;
  return typeof e.fieldsV1 === 'object' && e.fieldsV1 !== null && 'f:spec' in e.fieldsV1;
}

type FieldSet = { [segment: string]: FieldSet };
type Segment = string;

const isElement = (s: Segment) => s.startsWith('k:') || s.startsWith('v:') || s.startsWith('i:');

/**
 * The leaves of a fieldsV1 set: fields with no children, and list elements
 * the manager created as a whole (marked "."), which count as one change.
 * A "." on a map (annotations, labels) only says who created the map: its
 * keys are listed instead, so a removal never takes the whole map.
 */
export function leaves(set: FieldSet, prefix: Segment[] = []): Segment[][] {
  const children = Object.keys(set).filter((k) => k !== '.');
  const last = prefix[prefix.length - 1];
  if (children.length === 0 || ('.' in set && last !== undefined && isElement(last))) return [prefix];
  return children.flatMap((k) => leaves(set[k] ?? {}, [...prefix, k]));
}

/** spec.template.spec.containers[name=app].env[name=B] */
export function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const s of path) {
    if (s.startsWith('f:')) out += `${out ? '.' : ''}${s.slice(2)}`;
    else if (s.startsWith('k:')) {
      const key = JSON.parse(s.slice(2)) as Record<string, unknown>;
      out += `[${Object.entries(key)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(',')}]`;
    } else if (s.startsWith('v:')) out += `[${JSON.stringify(JSON.parse(s.slice(2)))}]`;
    else if (s.startsWith('i:')) out += `[${s.slice(2)}]`;
  }
  return out;
}

/** Where `path` is in `obj`: the keys and indices of a JSON walk, or undefined if it is not there. */
function locate(obj: unknown, path: readonly Segment[]): Array<string | number> | undefined {
  const at: Array<string | number> = [];
  let node = obj;
  for (const s of path) {
    if (s.startsWith('f:')) {
      const key = s.slice(2);
      if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
      const next = (node as Record<string, unknown>)[key];
      if (next === undefined) return undefined;
      at.push(key);
      node = next;
      continue;
    }
    if (!Array.isArray(node)) return undefined;
    const list: unknown[] = node;
    let i = -1;
    if (s.startsWith('i:')) i = Number(s.slice(2));
    else if (s.startsWith('v:')) {
      const value: unknown = JSON.parse(s.slice(2));
      i = list.findIndex((el) => jsonEqual(el, value));
    } else if (s.startsWith('k:')) {
      const key = JSON.parse(s.slice(2)) as Record<string, unknown>;
      i = list.findIndex(
        (el) =>
          typeof el === 'object' &&
          el !== null &&
          Object.entries(key).every(([k, v]) => sameKey((el as Record<string, unknown>)[k], v)),
      );
    }
    if (i < 0 || i >= list.length) return undefined;
    at.push(i);
    node = list[i];
  }
  return at;
}

/** List keys compare by value; a port given as a string in one and a number in the other is the same key. */
const sameKey = (a: unknown, b: unknown) => a === b || (a !== undefined && String(a) === String(b));

const escape = (s: string | number) => String(s).replace(/~/g, '~0').replace(/\//g, '~1');

/** The JSON pointer (RFC 6901) of `path` in `obj`, if it is there. */
export function pointerOf(obj: unknown, path: readonly Segment[]): string | undefined {
  const at = locate(obj, path);
  return at && at.map((s) => `/${escape(s)}`).join('');
}

/**
 * Every spec field of `live` that another manager owns, oldest write first.
 * `desired`: what our apply sets, when the plan can rebuild it; without it
 * nothing counts as ours (nothing can be re-applied).
 */
export function foreignChanges(
  live: { metadata?: { managedFields?: ManagedFieldsEntry[] } },
  desired: object | undefined,
): FieldChange[] {
  const entries = (live.metadata?.managedFields ?? []).filter(isForeignSpecEntry);
  const out: FieldChange[] = [];
  for (const e of entries) {
    const set = (e.fieldsV1 ?? {}) as FieldSet;
    for (const path of leaves({ 'f:spec': set['f:spec'] ?? {} })) {
      out.push({
        path: formatPath(path),
        manager: e.manager ?? 'unknown',
        how: e.subresource || (e.operation ?? 'update').toLowerCase(),
        ours: desired !== undefined && locate(desired, path) !== undefined,
        pointer: pointerOf(live, path),
      });
    }
  }
  return out;
}

/**
 * JSON-patch remove operations for fields only others set, guarded by the
 * resourceVersion they were located in. Within a list the higher index goes
 * first, so removing one element does not move the next one's pointer.
 */
export function removals(
  resourceVersion: string,
  pointers: readonly string[],
): Array<{ op: 'test' | 'remove'; path: string; value?: string }> {
  const split = (p: string) => p.split('/').slice(1);
  const sorted = [...new Set(pointers)].sort((a, b) => {
    const x = split(a);
    const y = split(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] === y[i]) continue;
      const nx = Number(x[i]);
      const ny = Number(y[i]);
      if (Number.isInteger(nx) && Number.isInteger(ny)) return ny - nx;
      return (x[i] ?? '') < (y[i] ?? '') ? -1 : 1;
    }
    return y.length - x.length;
  });
  return [
    { op: 'test', path: '/metadata/resourceVersion', value: resourceVersion },
    ...sorted.map((path) => ({ op: 'remove' as const, path })),
  ];
}
