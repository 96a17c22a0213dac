import { resourceLabel, resourcePath } from './client.js';

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

describe('resourceLabel', () => {
  test('keeps resource and subresource, drops namespaces and names', () => {
    expect(resourceLabel('/apis/cutover.dev/v1alpha1/namespaces/shop/releases/web/status')).toBe(
      'releases/status',
    );
    expect(resourceLabel('/api/v1/namespaces/shop/events')).toBe('events');
    expect(resourceLabel('/apis/coordination.k8s.io/v1/namespaces/x/leases/l')).toBe('leases');
    expect(resourceLabel('/api/v1/namespaces/shop')).toBe('namespaces');
    expect(resourceLabel('/apis/apps/v1/namespaces/s/deployments/d/scale?x=1')).toBe('deployments/scale');
  });
});
