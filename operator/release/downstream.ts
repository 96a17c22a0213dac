// Which waiting Releases a change elsewhere may release: promotion.from points
// at another Environment (maybe in another namespace), so a Release there
// succeeding, that Environment appearing, or a namespace's tenant label
// changing must wake the Releases that wait on it. Only Releases at a gate:
// the others have nothing to learn from it.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Environment, Release } from '../api/generated/index.js';
import { atGate } from '../environment/gates.js';
import type { Informer } from '../runtime/informer.js';
import { keyOf } from '../runtime/manager.js';

type Source = { namespace: string; name?: string };

export class Downstream {
  constructor(
    private readonly releases: Pick<Informer<Release>, 'list'>,
    private readonly environments: Pick<Informer<Environment>, 'list'>,
  ) {}

  /** Waiting Releases of the Environments that promote from `source` (any Environment of its namespace when no name). */
  of(source: Source): string[] {
    return this.environments
      .list()
      .filter((e) => {
        const from = e.spec.promotion?.from;
        if (!from) return false;
        const ns = from.namespace ?? e.metadata?.namespace;
        return ns === source.namespace && (source.name === undefined || from.name === source.name);
      })
      .flatMap((e) => this.waitingIn(e.metadata?.namespace ?? '', e.metadata?.name))
      .map(keyOf);
  }

  /** A Release in an Environment others promote from. */
  ofRelease = (r: KubernetesObject): string[] => {
    const rel = r as Release;
    return this.of({ namespace: rel.metadata?.namespace ?? '', name: rel.spec.environmentRef.name });
  };

  /** An Environment others may promote from (created, deleted, changed). */
  ofEnvironment = (e: KubernetesObject): string[] =>
    this.of({ namespace: e.metadata?.namespace ?? '', name: e.metadata?.name });

  /** A namespace's tenant label: its own waiting Releases, and those promoting from it. */
  ofNamespace = (n: KubernetesObject): string[] => {
    const ns = n.metadata?.name ?? '';
    return [...this.waitingIn(ns).map(keyOf), ...this.of({ namespace: ns })];
  };

  private waitingIn(ns: string, env?: string): Release[] {
    return this.releases
      .list(ns)
      .filter((r) => atGate(r.status?.phase) && (env === undefined || r.spec.environmentRef.name === env));
  }
}
