// Structural builders, and the references and other shapes every kind uses.
import { CONFIG_KEY, DNS1123_SUBDOMAIN } from './patterns.js';
import { enumOf, finish, int64, str, timestamp, type Common } from './scalars.js';
import { named, type JSONSchemaProps, type JSONValue, type PrinterColumn } from './types.js';

const REQUIRED: unique symbol = Symbol('required');

export interface RequiredProp {
  [REQUIRED]: JSONSchemaProps;
}

/** Marks a property as required in the enclosing `obj`. */
export function required(schema: JSONSchemaProps): RequiredProp {
  return { [REQUIRED]: schema };
}

export type Props = Record<string, JSONSchemaProps | RequiredProp>;

function isRequired(p: JSONSchemaProps | RequiredProp): p is RequiredProp {
  return REQUIRED in p;
}

export function obj(
  description: string,
  props: Props,
  opts: Common<Record<string, never>> = {},
): JSONSchemaProps {
  const properties: Record<string, JSONSchemaProps> = {};
  const req: string[] = [];
  for (const [key, p] of Object.entries(props)) {
    if (isRequired(p)) {
      properties[key] = p[REQUIRED];
      req.push(key);
    } else {
      properties[key] = p;
    }
  }
  const s: JSONSchemaProps = { description, type: 'object', properties };
  if (req.length > 0) s.required = req;
  return finish(s, opts);
}

export interface ListOpts extends Common<JSONValue[]> {
  // Mandatory: CEL cost estimation multiplies by it, and unbounded status
  // lists grow objects without limit.
  maxItems: number;
  minItems?: number;
  listType?: 'atomic' | 'set' | 'map';
  mapKeys?: string[];
}

export function list(description: string, items: JSONSchemaProps, opts: ListOpts): JSONSchemaProps {
  const s: JSONSchemaProps = { description, type: 'array', items };
  if (opts.minItems !== undefined) s.minItems = opts.minItems;
  s.maxItems = opts.maxItems;
  if (opts.listType !== undefined) s['x-kubernetes-list-type'] = opts.listType;
  if (opts.mapKeys !== undefined) s['x-kubernetes-list-map-keys'] = opts.mapKeys;
  return finish(s, opts);
}

// ---------------------------------------------------------------------------
// References and other shapes every kind uses.

export function objectName(
  description: string,
  pattern = DNS1123_SUBDOMAIN,
  maxLength = 253,
): JSONSchemaProps {
  return str(description, { pattern, minLength: 1, maxLength });
}

/** A reference to an object of a known kind in the same namespace. */
export function ref(description: string, kind: string): JSONSchemaProps {
  return named(
    'LocalObjectReference',
    obj(description, {
      name: required(objectName(`Name of the ${kind} in the same namespace.`)),
    }),
    { doc: 'A reference by name to an object in the same namespace.' },
  );
}

export function secretKeyRef(description: string): JSONSchemaProps {
  return named(
    'SecretKeySelector',
    obj(description, {
      name: required(objectName('Name of the Secret in the same namespace.')),
      key: required(
        str('Key within the Secret whose value is used.', {
          pattern: CONFIG_KEY,
          minLength: 1,
          maxLength: 253,
        }),
      ),
    }),
    { doc: 'A key of a Secret in the same namespace.' },
  );
}

export function conditions(summary: string): JSONSchemaProps {
  return list(
    `Latest observations of the object's state (${summary}). Ready is the summary; Reconciling and Stalled follow kstatus.`,
    named(
      'Condition',
      obj('One aspect of the current state, in the shape of metav1.Condition.', {
        type: required(
          str('Type of condition in CamelCase, e.g. Ready.', {
            maxLength: 316,
            pattern:
              '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
          }),
        ),
        status: required(enumOf('Status of the condition.', ['True', 'False', 'Unknown'])),
        observedGeneration: int64(
          'metadata.generation the condition was set from; older than the current generation means stale.',
          { minimum: 0 },
        ),
        lastTransitionTime: required(timestamp('Last time the status changed.')),
        reason: required(
          str('Machine-readable CamelCase reason for the last transition.', {
            minLength: 1,
            maxLength: 1024,
            pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
          }),
        ),
        message: required(str('Human-readable details about the transition.', { maxLength: 32768 })),
      }),
      { doc: 'One aspect of the current state, in the shape of metav1.Condition.' },
    ),
    { maxItems: 16, listType: 'map', mapKeys: ['type'] },
  );
}

export function observedGeneration(): JSONSchemaProps {
  return int64('metadata.generation most recently acted on by the operator.', { minimum: 0 });
}

export function readyColumn(): PrinterColumn {
  return {
    name: 'Ready',
    type: 'string',
    jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    description: 'Status of the Ready condition.',
  };
}

export function ageColumn(): PrinterColumn {
  return { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
}
