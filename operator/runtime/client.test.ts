import { pathParts, resourcePath } from './client.js';

describe('resourcePath', () => {
  test('core, grouped, namespaced, cluster-scoped and subresources', () => {
    expect(resourcePath({ apiVersion: 'v1', resource: 'secrets', namespace: 'a', name: 'b' })).toBe(
      '/api/v1/namespaces/a/secrets/b',
    );
    expect(
      resourcePath({
        apiVersion: 'cutover.dev/v1alpha1',
        resource: 'releases',
        namespace: 'a',
        name: 'b',
        subresource: 'status',
      }),
    ).toBe('/apis/cutover.dev/v1alpha1/namespaces/a/releases/b/status');
    expect(
      resourcePath({ apiVersion: 'apiextensions.k8s.io/v1', resource: 'customresourcedefinitions' }),
    ).toBe('/apis/apiextensions.k8s.io/v1/customresourcedefinitions');
  });
});

describe('pathParts', () => {
  // The resource label keeps resource and subresource, drops namespaces and names.
  test.each([
    ['/apis/cutover.dev/v1alpha1/namespaces/shop/releases/web/status', 'releases/status', 'shop'],
    ['/api/v1/namespaces/shop/events', 'events', 'shop'],
    ['/apis/coordination.k8s.io/v1/namespaces/x/leases/l', 'leases', 'x'],
    ['/api/v1/namespaces/shop', 'namespaces', 'shop'],
    ['/apis/apps/v1/namespaces/s/deployments/d/scale?x=1', 'deployments/scale', 's'],
    ['/apis/apps/v1/namespaces/shop/deployments/web-blue/scale?x=1', 'deployments/scale', 'shop'],
    ['/api/v1/namespaces', 'namespaces', undefined],
    ['/apis/rbac.authorization.k8s.io/v1/clusterroles/x', 'clusterroles', undefined],
    ['/apis/cutover.dev/v1alpha1/releases', 'releases', undefined],
  ])('%s', (path, resource, namespace) => {
    const parts = pathParts(path);
    expect(parts.resource).toBe(resource);
    expect(parts.namespace).toBe(namespace);
  });
});
