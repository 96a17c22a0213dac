import type { KubernetesObject } from '@kubernetes/client-node';
import type { ManagedFieldsFilter } from './cache-objects.js';
import type { EventHandler, EventType } from './informer.js';
import { ScopedInformer, type Cache } from './scoped-informer.js';

const REF = { apiVersion: 'cutover.dev/v1alpha1', resource: 'releases', kind: 'Release' };

/** One namespace's informer: its objects are listed when it starts. */
class FakePart implements Cache<KubernetesObject> {
  readonly ref = REF;
  readonly kind = 'Release';
  readonly metadataOnly = false;
  readonly resource = 'releases.cutover.dev/v1alpha1';
  synced = false;
  healthy = false;
  running = false;
  filter: ManagedFieldsFilter | undefined;
  remembered: KubernetesObject[] = [];
  private readonly handlers: EventHandler<KubernetesObject>[] = [];
  private readonly store = new Map<string, KubernetesObject>();

  constructor(
    readonly namespace: string,
    private readonly seed: KubernetesObject[],
  ) {}

  on(h: EventHandler<KubernetesObject>): void {
    this.handlers.push(h);
  }
  get(name: string): KubernetesObject | undefined {
    return this.store.get(name);
  }
  list(): readonly KubernetesObject[] {
    return [...this.store.values()];
  }
  remember(obj: KubernetesObject): void {
    this.remembered.push(obj);
  }
  keepManagedFields(filter: ManagedFieldsFilter): void {
    this.filter = filter;
  }
  async start(): Promise<void> {
    this.running = true;
    for (const o of this.seed) {
      this.store.set(o.metadata?.name ?? '', o);
      for (const h of this.handlers) h('add', o);
    }
    this.synced = this.healthy = true;
  }
  async stop(): Promise<void> {
    this.running = false;
  }
}

const obj = (namespace: string, name: string): KubernetesObject => ({
  apiVersion: REF.apiVersion,
  kind: 'Release',
  metadata: { name, namespace },
});

function setup(initial: string[], world: Record<string, KubernetesObject[]>) {
  const parts = new Map<string, FakePart>();
  const inf = new ScopedInformer<KubernetesObject>(REF, initial, (ns) => {
    const p = new FakePart(ns, world[ns] ?? []);
    parts.set(ns, p);
    return p;
  });
  const events: Array<[EventType, string]> = [];
  inf.on((type, o) => events.push([type, `${o.metadata?.namespace}/${o.metadata?.name}`]));
  return { inf, parts, events };
}

test('one view over the watched namespaces: get and list route by namespace', async () => {
  const { inf, events } = setup(['a', 'b'], { a: [obj('a', 'web')], b: [obj('b', 'web'), obj('b', 'api')] });
  expect(inf.synced).toBe(false);
  await inf.start();
  expect(inf.synced && inf.healthy).toBe(true);
  expect(events).toEqual([
    ['add', 'a/web'],
    ['add', 'b/web'],
    ['add', 'b/api'],
  ]);
  expect(inf.get('web', 'b')?.metadata?.namespace).toBe('b');
  expect(inf.get('api', 'a')).toBeUndefined();
  expect(inf.get('web', 'elsewhere')).toBeUndefined();
  expect(inf.list('b').map((o) => o.metadata?.name)).toEqual(['web', 'api']);
  expect(inf.list('elsewhere')).toEqual([]);
  expect(inf.list()).toHaveLength(3);
});

test('a namespace that joins is listed and announced; one that leaves is announced deleted and stopped', async () => {
  const { inf, parts, events } = setup(['a'], { a: [obj('a', 'web')], c: [obj('c', 'db')] });
  await inf.start();
  events.length = 0;
  await inf.setNamespaces(['c']);
  expect(events).toEqual([
    ['delete', 'a/web'],
    ['add', 'c/db'],
  ]);
  expect(parts.get('a')?.running).toBe(false);
  expect(parts.get('c')?.running).toBe(true);
  expect(inf.namespaces).toEqual(['c']);
  expect(inf.get('web', 'a')).toBeUndefined();
  expect(inf.list()).toHaveLength(1);
});

test('before start, a new namespace waits for start; after stop, it is not started', async () => {
  const { inf, parts } = setup([], { a: [obj('a', 'web')] });
  await inf.setNamespaces(['a']);
  expect(parts.get('a')?.running).toBe(false);
  await inf.start();
  expect(parts.get('a')?.running).toBe(true);
  await inf.stop();
  await inf.setNamespaces(['a', 'b']);
  expect(parts.get('b')?.running).toBe(false);
});

test('an empty scope is synced and healthy (nothing to wait for)', async () => {
  const { inf } = setup([], {});
  await inf.start();
  expect(inf.synced && inf.healthy).toBe(true);
  expect(inf.list()).toEqual([]);
});

test('the managedFields filter and our writes reach the right part, also a later one', async () => {
  const { inf, parts } = setup(['a'], {});
  const keep: ManagedFieldsFilter = (e) => e.manager === 'kubectl';
  inf.keepManagedFields(keep);
  await inf.setNamespaces(['a', 'b']);
  expect(parts.get('a')?.filter).toBe(keep);
  expect(parts.get('b')?.filter).toBe(keep);
  inf.remember(obj('b', 'web'));
  inf.remember(obj('z', 'web'));
  expect(parts.get('b')?.remembered).toHaveLength(1);
  expect(parts.get('a')?.remembered).toHaveLength(0);
});

test('a cluster-scoped kind (Namespace) is found by name: one part per watched namespace object', async () => {
  const ns = (name: string): KubernetesObject => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name },
  });
  const inf = new ScopedInformer<KubernetesObject>(
    { apiVersion: 'v1', resource: 'namespaces', kind: 'Namespace' },
    ['a', 'b'],
    (name) => new FakePart(name, [ns(name)]),
    { clusterScoped: true },
  );
  await inf.start();
  expect(inf.get('b')?.metadata?.name).toBe('b');
  expect(inf.get('c')).toBeUndefined();
  expect(inf.list().map((o) => o.metadata?.name)).toEqual(['a', 'b']);
});
