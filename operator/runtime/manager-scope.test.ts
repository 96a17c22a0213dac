// A namespace joining or leaving a --namespace-selector scope, against a fake
// apiserver whose list responses the test releases one by one: the unit-level
// way to make one kind's list land before another's, which a real apiserver
// does only by chance. A reconcile must never see a Release without the
// Deployment it owns because that kind's list of the namespace was still in
// flight (drift would report the Deployment deleted).
import type { KubernetesObject } from '@kubernetes/client-node';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from './log.js';
import { Manager, type InformerRef, type ObjectKey } from './manager.js';
import { OperatorMetrics } from './metrics.js';

const RELEASES: InformerRef = { apiVersion: 'cutover.dev/v1alpha1', resource: 'releases', kind: 'Release' };
const DEPLOYMENTS: InformerRef = { apiVersion: 'apps/v1', resource: 'deployments', kind: 'Deployment' };
const NAMESPACES = '/api/v1/namespaces';
const releases = (ns: string) => `/apis/cutover.dev/v1alpha1/namespaces/${ns}/releases`;
const deployments = (ns: string) => `/apis/apps/v1/namespaces/${ns}/deployments`;

const namespace = (name: string): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels: { team: 'blue' }, resourceVersion: '2' },
});
const release = (ns: string): KubernetesObject => ({
  apiVersion: 'cutover.dev/v1alpha1',
  kind: 'Release',
  metadata: { name: 'web', namespace: ns, uid: `${ns}-web`, resourceVersion: '1' },
});
const deployment = (ns: string): KubernetesObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web-blue',
    namespace: ns,
    resourceVersion: '1',
    ownerReferences: [
      {
        apiVersion: 'cutover.dev/v1alpha1',
        kind: 'Release',
        name: 'web',
        uid: `${ns}-web`,
        controller: true,
      },
    ],
  },
});

/** Serves lists (each held until the test opens its gate) and watches the test feeds. */
class FakeApiserver {
  readonly items = new Map<string, KubernetesObject[]>();
  private readonly gates = new Map<string, Promise<void>>();
  private readonly watches = new Map<string, ServerResponse[]>();
  private readonly watchWaiters = new Map<string, Array<() => void>>();
  private server: Server | undefined;

  async listen(): Promise<string> {
    this.server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** The list of `path` is answered only once `open()` is called. */
  hold(path: string): () => void {
    let open = (): void => undefined;
    this.gates.set(path, new Promise((resolve) => (open = resolve)));
    return open;
  }

  /** Resolves once a watch of `path` is open: its informer has listed and handled the list. */
  watching(path: string): Promise<void> {
    if (this.watches.get(path)?.length) return Promise.resolve();
    return new Promise((resolve) =>
      this.watchWaiters.set(path, [...(this.watchWaiters.get(path) ?? []), resolve]),
    );
  }

  send(path: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubernetesObject): void {
    for (const res of this.watches.get(path) ?? []) res.write(`${JSON.stringify({ type, object })}\n`);
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      this.watches.set(url.pathname, [...(this.watches.get(url.pathname) ?? []), res]);
      for (const wake of this.watchWaiters.get(url.pathname) ?? []) wake();
      this.watchWaiters.delete(url.pathname);
      return;
    }
    await this.gates.get(url.pathname);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        metadata: { resourceVersion: '1' },
        items: this.items.get(url.pathname) ?? [],
      }),
    );
  }
}

interface Seen {
  key: string;
  release: boolean;
  deployments: number;
  inScope: boolean;
}

let apiserver: FakeApiserver;
let manager: Manager;
let seen: Seen[];
let reconciled: (key: string) => Promise<void>;
/** The decisions that reached the sinks (notifications, audit), by key. */
let decided: string[];

beforeEach(async () => {
  apiserver = new FakeApiserver();
  const server = await apiserver.listen();
  manager = new Manager(
    { server, connect: async () => ({ headers: {}, dispatcher: undefined }) },
    createLogger('silent'),
    new OperatorMetrics({ processMetrics: false }),
    { scope: { kind: 'selector', selector: 'team=blue' } },
  );
  const releaseCache = manager.informer(RELEASES);
  const deploymentCache = manager.informer(DEPLOYMENTS);
  seen = [];
  decided = [];
  manager.onDecision((d) => decided.push(`${d.object.namespace}/${d.object.name}`));
  const waiters: Array<{ key: string; wake: () => void }> = [];
  reconciled = (key) => new Promise((wake) => waiters.push({ key, wake }));
  manager.register({
    kind: 'Release',
    primary: RELEASES,
    owns: [DEPLOYMENTS],
    reconcile: async ({ namespace: ns, name }: ObjectKey) => {
      const key = `${ns}/${name}`;
      seen.push({
        key,
        release: releaseCache.get(name, ns) !== undefined,
        deployments: deploymentCache.list(ns).length,
        inScope: manager.watches(ns),
      });
      manager.client.decided({
        id: `seen/${ns}`,
        at: new Date(0).toISOString(),
        type: 'Normal',
        reason: 'Reconciled',
        message: 'seen',
        object: { apiVersion: 'cutover.dev/v1alpha1', kind: 'Release', namespace: ns, name },
      });
      for (const w of waiters.filter((w) => w.key === key)) w.wake();
      return undefined;
    },
  });
});

afterEach(async () => {
  await manager.stop();
  await apiserver.close();
});

test('a namespace that joins is reconciled only once every kind has listed it', async () => {
  apiserver.items.set(releases('x'), [release('x')]);
  apiserver.items.set(deployments('x'), [deployment('x')]);
  await manager.start();
  await apiserver.watching(NAMESPACES);

  const openReleases = apiserver.hold(releases('x'));
  const openDeployments = apiserver.hold(deployments('x'));
  const done = reconciled('x/web');
  apiserver.send(NAMESPACES, 'ADDED', namespace('x'));
  openReleases();
  // The Releases of x are listed and their watch open; the Deployments list is still in flight.
  await apiserver.watching(releases('x'));
  expect(seen).toEqual([]);
  expect(manager.watches('x')).toBe(false);
  openDeployments();
  await done;
  expect(seen).toEqual([{ key: 'x/web', release: true, deployments: 1, inScope: true }]);
  expect(decided).toEqual(['x/web']);
});

test('a namespace that leaves is gone from every cache at once, and neither writable nor decided on', async () => {
  apiserver.items.set(NAMESPACES, [namespace('x')]);
  apiserver.items.set(releases('x'), [release('x')]);
  apiserver.items.set(deployments('x'), [deployment('x')]);
  const first = reconciled('x/web');
  await manager.start();
  await first;
  await apiserver.watching(NAMESPACES);

  const after = reconciled('x/web');
  apiserver.send(NAMESPACES, 'DELETED', namespace('x'));
  await after;
  expect(seen.slice(1)).toEqual([{ key: 'x/web', release: false, deployments: 0, inScope: false }]);
  expect(decided).toEqual(['x/web']);
});
