// The informer against the real API server: a list longer than one page is
// read to its end. (It once stopped after the first page: the raw list's
// field is `continue`, not client-node's `_continue`, so a cluster with more
// than 500 objects of a kind had some missing from the cache until they
// changed; Releases whose Environment was on page two stalled with
// EnvironmentNotFound.)
import type { KubernetesObject } from '@kubernetes/client-node';
import { KubeClient } from '../../operator/runtime/client.js';
import { Informer } from '../../operator/runtime/informer.js';
import { loadKubeconfig } from '../../operator/runtime/kubeconfig.js';
import { createLogger } from '../../operator/runtime/log.js';
import { createNamespace, deleteNamespace, objectApi } from '../harness/kube.js';
import { createAll } from './fixtures.js';

const api = objectApi();
let ns: string;

beforeAll(async () => {
  ns = await createNamespace('informer', api);
});

afterAll(async () => {
  if (ns) await deleteNamespace(ns, api);
});

test('lists every page: 7 objects in pages of 3, full and metadata-only', async () => {
  const objects = Array.from({ length: 7 }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `page-${i}`, namespace: ns, labels: { 'informer-test': ns } },
    data: { n: String(i) },
  })) as KubernetesObject[];
  await createAll(api, objects);
  const { access } = await loadKubeconfig();
  const client = new KubeClient(access, {});
  const log = createLogger('error');
  for (const metadataOnly of [false, true]) {
    const inf = new Informer<KubernetesObject>(
      client,
      { apiVersion: 'v1', resource: 'configmaps', kind: 'ConfigMap' },
      log,
      {
        labelSelector: `informer-test=${ns}`,
        pageSize: 3,
        metadataOnly,
      },
    );
    await inf.start();
    try {
      expect(
        inf
          .list(ns)
          .map((o) => o.metadata?.name)
          .sort(),
      ).toEqual(objects.map((o) => o.metadata?.name).sort());
    } finally {
      await inf.stop();
    }
  }
});
