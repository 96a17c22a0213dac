// CRD assembly.
import { PATH } from './patterns.js';
import { str } from './scalars.js';
import { obj, required } from './structures.js';
import {
  carryHint,
  type CustomResourceDefinition,
  type JSONSchemaProps,
  type PrinterColumn,
  type ValidationRule,
} from './types.js';

export const GROUP = 'cutover.dev';
export const VERSION = 'v1alpha1';

export interface KindDefinition {
  kind: string;
  plural: string;
  shortName: string;
  description: string;
  printerColumns: PrinterColumn[];
  spec: JSONSchemaProps;
  status: JSONSchemaProps;
}

// Copies the schema, resolving `{path}` placeholders, and carries type
// hints over to the copies so the emitter still sees them.
function place(schema: JSONSchemaProps, path: string): JSONSchemaProps {
  const out: JSONSchemaProps = { ...schema };
  carryHint(schema, out);
  if (schema.properties !== undefined) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([k, v]) => [k, place(v, path === '' ? k : `${path}.${k}`)]),
    );
  }
  if (schema.items !== undefined) out.items = place(schema.items, `${path}[*]`);
  if (schema.additionalProperties !== undefined) {
    out.additionalProperties = place(schema.additionalProperties, `${path}[*]`);
  }
  if (schema['x-kubernetes-validations'] !== undefined) {
    out['x-kubernetes-validations'] = schema['x-kubernetes-validations'].map((r) => {
      const placed: ValidationRule = { ...r };
      if (r.message !== undefined) placed.message = r.message.replaceAll(PATH, path);
      if (r.messageExpression !== undefined) {
        placed.messageExpression = r.messageExpression.replaceAll(PATH, path);
      }
      return placed;
    });
  }
  return out;
}

export function customResourceDefinition(def: KindDefinition): CustomResourceDefinition {
  const root = obj(def.description, {
    apiVersion: str(
      'Versioned schema of this representation of an object; servers convert recognized schemas to the latest internal value.',
    ),
    kind: str('REST resource this object represents, in CamelCase; servers infer it from the endpoint.'),
    // The apiserver forbids anything but type here (ObjectMeta is implied,
    // and kubectl explain shows its documentation).
    metadata: { type: 'object' },
    spec: required(def.spec),
    status: def.status,
  });
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.kind.toLowerCase(),
        shortNames: [def.shortName],
        categories: ['cutover'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
          schema: { openAPIV3Schema: place(root, '') },
        },
      ],
    },
  };
}
