import type { KubernetesObject } from '@kubernetes/client-node';
import type { ManagedFieldsFilter } from './cache-objects.js';
import type { EventHandler, EventType } from './informer.js';
import { ScopedInformer, WatchedNamespaces, type Cache } from './scoped-informer.js';

const REF = { apiVersion: 'cutover.dev/v1alpha1', resource: 'releases', kind: 'Release' };
const DEPLOYMENTS = { apiVersion: 'apps/v1', resource: 'deployments', kind: 'Deployment' };

/** What the fake apiserver holds, and whose lists the test lets through one by one. */
class World {
  readonly objects = new Map<string, KubernetesObject[]>();
  private readonly gates = new Map<string, Promise<void>>();

  /** The list of `kind` in `namespace` answers only once the returned function is called. */
  hold(kind: string, namespace: string): () => void {
    let open = (): void => undefined;
    this.gates.set(`${kind}/${namespace}`, new Promise((resolve) => (open = resolve)));
    return open;
  }

  /** The list of `kind` in `namespace` never answers: no Role there. */
  refuse(kind: string, namespace: string): void {
    this.gates.set(`${kind}/${namespace}`, new Promise(() => undefined));
  }

  async list(kind: string, namespace: string): Promise<KubernetesObject[]> {
    await this.gates.get(`${kind}/${namespace}`);
    return (this.objects.get(namespace) ?? []).filter((o) => o.kind === kind);
  }
}

/** One namespace's informer: its objects are listed when it starts and the world answers. */
class FakePart implements Cache<KubernetesObject> {
  readonly metadataOnly = false;
  synced = false;
  healthy = false;
  running = false;
  filter: ManagedFieldsFilter | undefined;
  remembered: KubernetesObject[] = [];
  private readonly handlers: EventHandler<KubernetesObject>[] = [];
  private readonly store = new Map<string, KubernetesObject>();
  private markSynced = (): void => undefined;
  private readonly listed = new Promise<void>((resolve) => (this.markSynced = resolve));

  constructor(
    readonly ref: Cache<KubernetesObject>['ref'],
    readonly namespace: string,
    private readonly world: World,
  ) {}

  get kind(): string | undefined {
    return this.ref.kind;
  }
  get resource(): string {
    return this.ref.resource;
  }
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
  whenSynced(): Promise<void> {
    return this.listed;
  }
  async start(): Promise<void> {
    this.running = true;
    const items = await this.world.list(this.kind ?? '', this.namespace);
    if (!this.running) return;
    for (const o of items) {
      this.store.set(o.metadata?.name ?? '', o);
      for (const h of this.handlers) h('add', o);
    }
    this.synced = this.healthy = true;
    this.markSynced();
  }
  async stop(): Promise<void> {
    this.running = false;
  }
}

const obj = (namespace: string, name: string, kind = 'Release'): KubernetesObject => ({
  apiVersion: kind === 'Release' ? REF.apiVersion : DEPLOYMENTS.apiVersion,
  kind,
  metadata: { name, namespace },
});

const nameOf = (o: KubernetesObject) => `${o.kind}:${o.metadata?.namespace}/${o.metadata?.name}`;

/** Every microtask the fakes queued has run (they never wait on a timer). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function informer(ref: Cache<KubernetesObject>['ref'], initial: string[], world: World) {
  const parts = new Map<string, FakePart>();
  const inf = new ScopedInformer<KubernetesObject>(ref, initial, (ns) => {
    const p = new FakePart(ref, ns, world);
    parts.set(ns, p);
    return p;
  });
  const events: Array<[EventType, string]> = [];
  inf.on((type, o) => events.push([type, nameOf(o)]));
  return { inf, parts, events };
}

function setup(initial: string[], world = new World()) {
  return { world, ...informer(REF, initial, world) };
}

/** Releases and the Deployments they own, in one scope: what a reconcile reads together. */
function twoKinds(initial: string[]) {
  const world = new World();
  const releases = informer(REF, initial, world);
  const deployments = informer(DEPLOYMENTS, initial, world);
  const scope = new WatchedNamespaces(initial, [releases.inf, deployments.inf]);
  /** What a reconcile woken by each event would see: the Release's Deployments, and whether it may write. */
  const seen: string[] = [];
  const look = (type: EventType, o: KubernetesObject) => {
    const ns = o.metadata?.namespace ?? '';
    const d = deployments.inf.list(ns).length;
    seen.push(`${type} ${nameOf(o)}: ${d} deployment(s), ${scope.has(ns) ? 'writable' : 'read-only'}`);
  };
  releases.inf.on(look);
  deployments.inf.on(look);
  return { world, releases, deployments, scope, seen };
}

test('one view over the watched namespaces: get and list route by namespace', async () => {
  const { inf, events, world } = setup(['a', 'b']);
  world.objects.set('a', [obj('a', 'web')]);
  world.objects.set('b', [obj('b', 'web'), obj('b', 'api')]);
  expect(inf.synced).toBe(false);
  await inf.start();
  expect(inf.synced && inf.healthy).toBe(true);
  expect(events).toEqual([
    ['add', 'Release:a/web'],
    ['add', 'Release:b/web'],
    ['add', 'Release:b/api'],
  ]);
  expect(inf.get('web', 'b')?.metadata?.namespace).toBe('b');
  expect(inf.get('api', 'a')).toBeUndefined();
  expect(inf.get('web', 'elsewhere')).toBeUndefined();
  expect(inf.list('b').map((o) => o.metadata?.name)).toEqual(['web', 'api']);
  expect(inf.list('elsewhere')).toEqual([]);
  expect(inf.list()).toHaveLength(3);
});

test('a namespace that joins is seen, writable and announced only once every kind has listed it', async () => {
  const { world, releases, deployments, scope, seen } = twoKinds(['a']);
  await Promise.all([releases.inf.start(), deployments.inf.start()]);
  world.objects.set('x', [obj('x', 'web'), obj('x', 'web-blue', 'Deployment')]);
  const openReleases = world.hold('Release', 'x');
  const openDeployments = world.hold('Deployment', 'x');

  const move = scope.moveTo(new Set(['a', 'x']));
  expect([move.added, move.removed]).toEqual([['x'], []]);
  openReleases();
  await releases.parts.get('x')?.whenSynced();
  await settle();
  // Listed and watched, but a reconcile could not tell its Deployments are still on their way.
  expect(releases.parts.get('x')?.running).toBe(true);
  expect(seen).toEqual([]);
  expect(releases.inf.get('web', 'x')).toBeUndefined();
  expect(scope.has('x')).toBe(false);
  expect(releases.inf.healthy).toBe(true);
  expect(deployments.inf.synced || deployments.inf.healthy).toBe(false);

  openDeployments();
  await move.joined;
  expect(seen).toEqual([
    'add Release:x/web: 1 deployment(s), writable',
    'add Deployment:x/web-blue: 1 deployment(s), writable',
  ]);
  expect(releases.inf.get('web', 'x')).toBeDefined();
  expect(releases.inf.namespaces).toEqual(['a', 'x']);
  expect(scope.names).toEqual(['a', 'x']);
});

test('a namespace that leaves is hidden from every kind and read-only before any deletion is announced', async () => {
  const { world, releases, deployments, scope, seen } = twoKinds(['a', 'x']);
  world.objects.set('x', [obj('x', 'web'), obj('x', 'web-blue', 'Deployment')]);
  await Promise.all([releases.inf.start(), deployments.inf.start()]);
  seen.length = 0;

  expect(scope.moveTo(new Set(['a'])).removed).toEqual(['x']);
  expect(seen).toEqual([
    'delete Release:x/web: 0 deployment(s), read-only',
    'delete Deployment:x/web-blue: 0 deployment(s), read-only',
  ]);
  expect(releases.parts.get('x')?.running).toBe(false);
  expect(deployments.parts.get('x')?.running).toBe(false);
  expect(releases.inf.list()).toEqual([]);
});

test('a namespace that leaves while joining is never shown; joining again lists it afresh', async () => {
  const { world, releases, deployments, scope, seen } = twoKinds([]);
  await Promise.all([releases.inf.start(), deployments.inf.start()]);
  world.objects.set('x', [obj('x', 'web')]);
  const openDeployments = world.hold('Deployment', 'x');
  const first = scope.moveTo(new Set(['x']));
  await settle();
  const staged = releases.parts.get('x');

  expect(scope.moveTo(new Set()).removed).toEqual(['x']);
  await first.joined;
  expect(staged?.running).toBe(false);
  openDeployments();
  await settle();
  expect(seen).toEqual([]);
  expect(scope.has('x')).toBe(false);

  await scope.moveTo(new Set(['x'])).joined;
  expect(releases.parts.get('x')).not.toBe(staged);
  expect(seen).toEqual(['add Release:x/web: 0 deployment(s), writable']);
});

test('a namespace that cannot be listed stays out, unhealthy, without holding up other changes', async () => {
  const { world, releases, deployments, scope, seen } = twoKinds(['a']);
  world.objects.set('a', [obj('a', 'web')]);
  world.objects.set('c', [obj('c', 'api')]);
  await Promise.all([releases.inf.start(), deployments.inf.start()]);
  seen.length = 0;
  world.refuse('Deployment', 'x');

  void scope.moveTo(new Set(['a', 'x'])).joined;
  await scope.moveTo(new Set(['x', 'c'])).joined;
  expect(seen).toEqual([
    'delete Release:a/web: 0 deployment(s), read-only',
    'add Release:c/api: 0 deployment(s), writable',
  ]);
  expect(scope.names).toEqual(['c']);
  expect(deployments.inf.healthy).toBe(false);

  // Stopping lets go of the staged namespace too.
  await deployments.inf.stop();
  expect(deployments.parts.get('x')?.running).toBe(false);
  expect(deployments.inf.healthy).toBe(true);
});

test('before start, a namespace joins at once and start lists it; after stop, nothing is started', async () => {
  const { inf, parts, world } = setup([]);
  world.objects.set('a', [obj('a', 'web')]);
  const scope = new WatchedNamespaces([], [inf]);
  await scope.moveTo(new Set(['a'])).joined;
  expect(scope.has('a')).toBe(true);
  expect(parts.get('a')?.running).toBe(false);
  await inf.start();
  expect(parts.get('a')?.running).toBe(true);
  expect(inf.get('web', 'a')).toBeDefined();
  await inf.stop();
  await scope.moveTo(new Set(['a', 'b'])).joined;
  expect(parts.get('b')?.running).toBe(false);
});

test('an empty scope is synced and healthy (nothing to wait for)', async () => {
  const { inf } = setup([]);
  await inf.start();
  expect(inf.synced && inf.healthy).toBe(true);
  await inf.whenSynced();
  expect(inf.list()).toEqual([]);
});

test('the managedFields filter and our writes reach the right part, also a later one', async () => {
  const { inf, parts, world } = setup(['a']);
  const keep: ManagedFieldsFilter = (e) => e.manager === 'kubectl';
  inf.keepManagedFields(keep);
  await inf.start();
  const openB = world.hold('Release', 'b');
  const staged = inf.stage('b');
  const openC = world.hold('Release', 'c');
  void inf.stage('c');
  const later: ManagedFieldsFilter = (e) => e.manager === 'helm';
  inf.keepManagedFields(later);
  expect(parts.get('b')?.filter).toBe(later);
  expect(inf.stage('b')).toBe(staged);
  openB();
  expect(await staged).toBe(true);
  inf.commit('b')();
  expect(parts.get('a')?.filter).toBe(later);
  inf.remember(obj('b', 'web'));
  inf.remember(obj('c', 'web'));
  inf.remember(obj('z', 'web'));
  expect(parts.get('b')?.remembered).toHaveLength(1);
  expect(parts.get('c')?.remembered).toHaveLength(0);
  expect(parts.get('a')?.remembered).toHaveLength(0);
  openC();
});

test('a cluster-scoped kind (Namespace) is found by name: one part per watched namespace object', async () => {
  const world = new World();
  const ref = { apiVersion: 'v1', resource: 'namespaces', kind: 'Namespace', clusterScoped: true };
  for (const name of ['a', 'b'])
    world.objects.set(name, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }]);
  const inf = new ScopedInformer<KubernetesObject>(ref, ['a', 'b'], (name) => new FakePart(ref, name, world));
  await inf.start();
  expect(inf.get('b')?.metadata?.name).toBe('b');
  expect(inf.get('c')).toBeUndefined();
  expect(inf.list().map((o) => o.metadata?.name)).toEqual(['a', 'b']);
});
