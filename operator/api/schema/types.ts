// The shapes of apiextensions.k8s.io/v1 CustomResourceDefinitions and their
// structural schemas, and the type-name hints the TypeScript emitter reads
// beside them.

export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };

export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  fieldPath?: string;
}

export interface JSONSchemaProps {
  description?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  enum?: JSONValue[];
  default?: JSONValue;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  minItems?: number;
  maxItems?: number;
  items?: JSONSchemaProps;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  additionalProperties?: JSONSchemaProps;
  anyOf?: JSONSchemaProps[];
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: ValidationRule[];
}

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames: string[];
      categories: string[];
    };
    scope: 'Namespaced';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: JSONSchemaProps };
    }[];
  };
}

// ---------------------------------------------------------------------------
// Type-name hints for the TypeScript emitter. They live beside the schema
// rather than in it (the apiserver would keep a `title` forever) and are keyed
// by object identity, so builders must not copy a schema they hand out.

export interface TypeHint {
  name: string;
  // Set when the type already exists in a package; the emitter imports it
  // instead of declaring it.
  from?: string;
  // Doc comment of the shared type; each use keeps its own description.
  doc?: string;
}

const hints = new WeakMap<JSONSchemaProps, TypeHint>();

export function named<S extends JSONSchemaProps>(
  name: string,
  schema: S,
  opts: Omit<TypeHint, 'name'> = {},
): S {
  hints.set(schema, { name, ...opts });
  return schema;
}

export function typeHint(schema: JSONSchemaProps): TypeHint | undefined {
  return hints.get(schema);
}

// For the CRD assembly, which copies every schema: the copy keeps the hint
// of its original.
export function carryHint(from: JSONSchemaProps, to: JSONSchemaProps): void {
  const hint = hints.get(from);
  if (hint !== undefined) hints.set(to, hint);
}
