import type { CustomResourceDefinition, JSONSchemaProps } from './schema.js';
import { customResourceDefinitions } from './v1alpha1/index.js';

interface Node {
  path: string;
  schema: JSONSchemaProps;
}

// Every schema node with the path kubectl explain would show for it.
function walk(schema: JSONSchemaProps, path: string): Node[] {
  const children: Node[] = [
    ...Object.entries(schema.properties ?? {}).flatMap(([k, v]) => walk(v, path === '' ? k : `${path}.${k}`)),
    ...(schema.items === undefined ? [] : walk(schema.items, `${path}[*]`)),
    ...(schema.additionalProperties === undefined ? [] : walk(schema.additionalProperties, `${path}{*}`)),
  ];
  return [{ path, schema }, ...children];
}

function rootOf(crd: CustomResourceDefinition): JSONSchemaProps {
  const root = crd.spec.versions[0]?.schema.openAPIV3Schema;
  if (root === undefined) throw new Error(`${crd.metadata.name} has no schema`);
  return root;
}

const cases = customResourceDefinitions.map((crd) => [crd.spec.names.kind, crd] as const);

describe.each(cases)('%s CRD', (_kind, crd) => {
  const nodes = walk(rootOf(crd), '');
  // metadata is ObjectMeta, documented by the apiserver, which refuses a
  // description there.
  const properties = nodes.filter((n) => !n.path.endsWith('[*]') && n.path !== 'metadata');
  const rules = nodes.flatMap((n) => (n.schema['x-kubernetes-validations'] ?? []).map((r) => ({ ...n, r })));

  test('every property has a description', () => {
    const missing = properties.filter((n) => (n.schema.description ?? '').trim() === '').map((n) => n.path);
    expect(missing).toEqual([]);
  });

  test('every list is bounded', () => {
    const unbounded = nodes.filter((n) => n.schema.type === 'array' && n.schema.maxItems === undefined);
    expect(unbounded.map((n) => n.path)).toEqual([]);
  });

  test('every validation message names the field it is about', () => {
    const vague = rules.filter(({ r }) => !(r.message ?? r.messageExpression ?? '').includes('spec.'));
    expect(vague.map(({ path, r }) => `${path}: ${r.rule}`)).toEqual([]);
  });

  test('no {path} placeholder survives assembly', () => {
    expect(JSON.stringify(crd)).not.toContain('{path}');
  });

  test('strings that CEL reads are bounded, so the cost estimate stays within budget', () => {
    const unbounded = nodes.filter(
      (n) =>
        n.schema.type === 'string' &&
        n.schema.enum === undefined &&
        n.schema.maxLength === undefined &&
        (n.schema['x-kubernetes-validations'] ?? []).length > 0,
    );
    expect(unbounded.map((n) => n.path)).toEqual([]);
  });

  test('is namespaced, served and stored once, with a status subresource', () => {
    expect(crd.spec.group).toBe('cutover.dev');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names.categories).toEqual(['cutover']);
    expect(crd.spec.versions).toHaveLength(1);
    const [version] = crd.spec.versions;
    expect(version).toMatchObject({
      name: 'v1alpha1',
      served: true,
      storage: true,
      subresources: { status: {} },
    });
  });

  test('status carries observedGeneration and list-map conditions', () => {
    const status = rootOf(crd).properties?.status;
    expect(status?.properties?.observedGeneration?.type).toBe('integer');
    const conditions = status?.properties?.conditions;
    expect(conditions?.['x-kubernetes-list-type']).toBe('map');
    expect(conditions?.['x-kubernetes-list-map-keys']).toEqual(['type']);
    expect(Object.keys(conditions?.items?.properties ?? {}).sort()).toEqual(
      ['lastTransitionTime', 'message', 'observedGeneration', 'reason', 'status', 'type'].sort(),
    );
  });
});

test('short names are rel, env, bkp and rbp', () => {
  expect(Object.fromEntries(cases.map(([kind, crd]) => [kind, crd.spec.names.shortNames]))).toEqual({
    Release: ['rel'],
    Environment: ['env'],
    BackupPolicy: ['bkp'],
    RollbackPolicy: ['rbp'],
  });
});

test('Release prints APP, ENV, VERSION, STABLE, PHASE, WEIGHT, AGE', () => {
  const release = customResourceDefinitions.find((c) => c.spec.names.kind === 'Release');
  const columns = release?.spec.versions[0]?.additionalPrinterColumns ?? [];
  expect(columns.map((c) => [c.name.toUpperCase(), c.jsonPath, c.type])).toEqual([
    ['APP', '.spec.application', 'string'],
    ['ENV', '.spec.environmentRef.name', 'string'],
    ['VERSION', '.spec.version', 'string'],
    ['STABLE', '.status.stableVersion', 'string'],
    ['PHASE', '.status.phase', 'string'],
    ['WEIGHT', '.status.canaryWeight', 'integer'],
    ['AGE', '.metadata.creationTimestamp', 'date'],
  ]);
});
