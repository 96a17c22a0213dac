import { foreignChanges, formatPath, isForeignSpecEntry, leaves, pointerOf, removals } from './fields.js';

// managedFields as the apiserver wrote them after: cutover applied, `kubectl
// scale --replicas=3`, and a patch by field manager kubectl-edit that changed
// the image and added an env var.
const cutoverApply = {
  manager: 'cutover',
  operation: 'Apply',
  fieldsV1: {
    'f:spec': {
      'f:selector': {},
      'f:template': {
        'f:metadata': { 'f:labels': { 'f:app': {} } },
        'f:spec': {
          'f:containers': {
            'k:{"name":"app"}': {
              '.': {},
              'f:env': { 'k:{"name":"A"}': { '.': {}, 'f:name': {}, 'f:value': {} } },
              'f:name': {},
            },
          },
        },
      },
    },
  },
};
const scaled = {
  manager: 'kubectl',
  operation: 'Update',
  subresource: 'scale',
  fieldsV1: { 'f:spec': { 'f:replicas': {} } },
};
const edited = {
  manager: 'kubectl-edit',
  operation: 'Update',
  time: '2026-03-02T09:00:00Z',
  fieldsV1: {
    'f:spec': {
      'f:template': {
        'f:spec': {
          'f:containers': {
            'k:{"name":"app"}': {
              'f:env': { 'k:{"name":"B"}': { '.': {}, 'f:name': {}, 'f:value': {} } },
              'f:image': {},
            },
          },
        },
      },
    },
  },
};
const controllerStatus = {
  manager: 'kube-controller-manager',
  operation: 'Update',
  subresource: 'status',
  fieldsV1: {
    'f:metadata': { 'f:annotations': { '.': {}, 'f:deployment.kubernetes.io/revision': {} } },
    'f:status': { 'f:replicas': {} },
  },
};

const template = (env: Array<{ name: string; value: string }>, image: string) => ({
  metadata: { labels: { app: 'x' } },
  spec: { containers: [{ name: 'app', image, env }] },
});
const live = {
  metadata: { managedFields: [cutoverApply, scaled, edited, controllerStatus] },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'x' } },
    template: template(
      [
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ],
      'nginx:2',
    ),
  },
};
const desired = {
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'x' } },
    template: template([{ name: 'A', value: '1' }], 'nginx'),
  },
};

describe('isForeignSpecEntry', () => {
  test('our own writes, status writes and the controllers are not drift', () => {
    expect(isForeignSpecEntry(cutoverApply)).toBe(false);
    expect(isForeignSpecEntry(controllerStatus)).toBe(false);
    expect(isForeignSpecEntry({ ...scaled, manager: 'cutover' })).toBe(false);
    expect(
      isForeignSpecEntry({
        manager: 'kube-controller-manager',
        operation: 'Update',
        fieldsV1: { 'f:spec': {} },
      }),
    ).toBe(false);
  });

  test('another manager writing the spec is, whatever the operation', () => {
    expect(isForeignSpecEntry(scaled)).toBe(true);
    expect(isForeignSpecEntry(edited)).toBe(true);
    expect(
      isForeignSpecEntry({
        manager: 'argocd',
        operation: 'Apply',
        fieldsV1: { 'f:spec': { 'f:replicas': {} } },
      }),
    ).toBe(true);
  });

  test('metadata alone (a label someone added) is not spec drift', () => {
    expect(
      isForeignSpecEntry({ manager: 'kubectl-label', operation: 'Update', fieldsV1: { 'f:metadata': {} } }),
    ).toBe(false);
  });
});

describe('leaves and paths', () => {
  test('a list element created as a whole is one change; a changed field inside ours is its own', () => {
    const paths = leaves(edited.fieldsV1).map(formatPath);
    expect(paths).toEqual([
      'spec.template.spec.containers[name=app].env[name=B]',
      'spec.template.spec.containers[name=app].image',
    ]);
  });

  test('a map created by someone lists its keys, never the whole map', () => {
    expect(leaves(controllerStatus.fieldsV1).map(formatPath)).toEqual([
      'metadata.annotations.deployment.kubernetes.io/revision',
      'status.replicas',
    ]);
  });

  test('set and index elements', () => {
    expect(formatPath(['f:spec', 'f:ports', 'k:{"port":80,"protocol":"TCP"}', 'f:targetPort'])).toBe(
      'spec.ports[port=80,protocol=TCP].targetPort',
    );
    expect(formatPath(['f:spec', 'f:finalizers', 'v:"a"'])).toBe('spec.finalizers["a"]');
    expect(formatPath(['f:spec', 'f:rules', 'i:2'])).toBe('spec.rules[2]');
  });
});

describe('foreignChanges', () => {
  test('names each field, its manager and how, and whether our apply restores it', () => {
    expect(foreignChanges(live, desired)).toEqual([
      { path: 'spec.replicas', manager: 'kubectl', how: 'scale', ours: true, pointer: '/spec/replicas' },
      {
        path: 'spec.template.spec.containers[name=app].env[name=B]',
        manager: 'kubectl-edit',
        how: 'update',
        ours: false,
        pointer: '/spec/template/spec/containers/0/env/1',
      },
      {
        path: 'spec.template.spec.containers[name=app].image',
        manager: 'kubectl-edit',
        how: 'update',
        ours: true,
        pointer: '/spec/template/spec/containers/0/image',
      },
    ]);
  });

  test('without a desired object nothing is ours to re-apply', () => {
    expect(foreignChanges(live, undefined).every((c) => !c.ours)).toBe(true);
  });

  test('an object only we and the controllers wrote has no drift', () => {
    expect(
      foreignChanges({ metadata: { managedFields: [cutoverApply, controllerStatus] } }, desired),
    ).toEqual([]);
    expect(foreignChanges({ metadata: {} }, desired)).toEqual([]);
  });

  test('a Service port key given as a number matches the live number', () => {
    const svc = {
      metadata: {
        managedFields: [
          {
            manager: 'kubectl-edit',
            operation: 'Update',
            fieldsV1: {
              'f:spec': {
                'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { 'f:nodePort': {} } },
                'f:type': {},
              },
            },
          },
        ],
      },
      spec: { type: 'NodePort', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] },
    };
    const want = { spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } };
    const changes = foreignChanges(svc, want);
    expect(changes.map((c) => [c.path, c.ours, c.pointer])).toEqual([
      ['spec.ports[port=80,protocol=TCP].nodePort', false, '/spec/ports/0/nodePort'],
      ['spec.type', false, '/spec/type'],
    ]);
  });
});

describe('pointerOf', () => {
  test('escapes ~ and / in keys', () => {
    const obj = { metadata: { annotations: { 'a/b~c': 'x' } } };
    expect(pointerOf(obj, ['f:metadata', 'f:annotations', 'f:a/b~c'])).toBe('/metadata/annotations/a~1b~0c');
  });

  test('a field that is no longer there has no pointer', () => {
    expect(pointerOf({ spec: {} }, ['f:spec', 'f:replicas'])).toBeUndefined();
    expect(pointerOf({ spec: { c: [{ name: 'a' }] } }, ['f:spec', 'f:c', 'k:{"name":"b"}'])).toBeUndefined();
  });
});

describe('removals', () => {
  test('guarded by the resourceVersion; later elements and deeper fields first', () => {
    expect(
      removals('42', ['/spec/x/1', '/spec/x/10', '/spec/x/2/a', '/spec/x/2', '/spec/type', '/spec/x/1']),
    ).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '42' },
      { op: 'remove', path: '/spec/type' },
      { op: 'remove', path: '/spec/x/10' },
      { op: 'remove', path: '/spec/x/2/a' },
      { op: 'remove', path: '/spec/x/2' },
      { op: 'remove', path: '/spec/x/1' },
    ]);
  });
});
