import { routeDrift, type ObservedRoute } from './route.js';

const route = (
  rules: NonNullable<ObservedRoute['spec']>['rules'],
  managedFields: ObservedRoute['metadata'] = {},
) => ({ metadata: { name: 'shop', namespace: 'ns', ...managedFields }, spec: { rules } }) as ObservedRoute;

const other = { backendRefs: [{ name: 'other', port: 80, weight: 0 }] };

describe('routeDrift', () => {
  test('a settled route (stable carries it, preview at 0 or absent) has no drift', () => {
    expect(
      routeDrift(
        route([
          other,
          {
            backendRefs: [
              { name: 'shop', weight: 100 },
              { name: 'shop-preview', weight: 0 },
            ],
          },
        ]),
        'shop',
        'shop-preview',
      ),
    ).toEqual([]);
    expect(routeDrift(route([{ backendRefs: [{ name: 'shop' }] }]), 'shop', 'shop-preview')).toEqual([]);
  });

  test('other teams’ rules are never read, whatever their weights', () => {
    expect(
      routeDrift(route([other, { backendRefs: [{ name: 'other', weight: 5 }] }]), 'shop', 'shop-preview'),
    ).toEqual([]);
  });

  test('our weights moved: each named, with the last other writer of the rules', () => {
    const managedFields = [
      {
        manager: 'kubectl-client-side-apply',
        operation: 'Update',
        time: '2026-03-02T09:00:00Z',
        fieldsV1: { 'f:spec': { 'f:parentRefs': {} } },
      },
      {
        manager: 'someone',
        operation: 'Update',
        time: '2026-03-02T10:00:00Z',
        fieldsV1: { 'f:spec': { 'f:rules': {} } },
      },
      {
        manager: 'older',
        operation: 'Apply',
        time: '2026-03-02T08:00:00Z',
        fieldsV1: { 'f:spec': { 'f:rules': {} } },
      },
    ];
    const r = route(
      [
        other,
        {
          backendRefs: [
            { name: 'shop', weight: 0 },
            { name: 'shop-preview', weight: 100 },
          ],
        },
      ],
      { managedFields },
    );
    expect(routeDrift(r, 'shop', 'shop-preview')).toEqual([
      {
        path: 'spec.rules[1].backendRefs[0].weight',
        manager: 'someone',
        how: 'update',
        ours: true,
        pointer: '/spec/rules/1/backendRefs/0/weight',
      },
      {
        path: 'spec.rules[1].backendRefs[1].weight',
        manager: 'someone',
        how: 'update',
        ours: true,
        pointer: '/spec/rules/1/backendRefs/1/weight',
      },
    ]);
  });

  test('a preview backend without a weight has weight 1: drift; no other writer known', () => {
    const r = route([{ backendRefs: [{ name: 'shop', weight: 100 }, { name: 'shop-preview' }] }]);
    expect(routeDrift(r, 'shop', 'shop-preview')).toEqual([
      expect.objectContaining({ path: 'spec.rules[0].backendRefs[1].weight', manager: 'an unknown manager' }),
    ]);
  });

  test('a backendRef to a Service of the same name in another namespace is not ours', () => {
    const r = route([
      {
        backendRefs: [
          { name: 'shop', weight: 1 },
          { name: 'shop-preview', namespace: 'elsewhere', weight: 50 },
        ],
      },
    ]);
    expect(routeDrift(r, 'shop', 'shop-preview')).toEqual([]);
  });
});
