// An Environment's configuration as the gates and the Environment status see
// it, read at scale. ConfigMaps and Secrets are watched metadata-only (their
// resourceVersions, never their data), so a change wakes what depends on it;
// the data of a referenced one is read by name only when its resourceVersion
// moved, and only the evaluated facts (violations and a hash) are kept. A
// thousand Releases of one Environment reconciled at once share one read: the
// evaluation in flight is shared, not repeated.
import type { KubernetesObject, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { Environment } from '../api/generated/index.js';
import type { KubeClient } from '../runtime/client.js';
import type { Informer } from '../runtime/informer.js';
import { getOptional } from '../runtime/lookup.js';
import type { InformerRef } from '../runtime/manager.js';
import { checkConfig, configHash, type ConfigSources } from './config-rules.js';
import type { ConfigFacts } from './gates.js';

export const CONFIGMAP_METADATA: InformerRef = {
  apiVersion: 'v1',
  resource: 'configmaps',
  kind: 'ConfigMap',
  metadataOnly: true,
};
export const SECRET_METADATA: InformerRef = {
  apiVersion: 'v1',
  resource: 'secrets',
  kind: 'Secret',
  metadataOnly: true,
};

type MetadataCache = Pick<Informer<KubernetesObject>, 'get'>;

export type ConfigKind = 'ConfigMap' | 'Secret';

export interface ConfigCacheOptions {
  /** Called for every read of a ConfigMap's or Secret's data (a metric). */
  onRead?: (kind: ConfigKind) => void;
}

const decode = (data: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );

export class ConfigCache {
  /** Environment (namespace/name) → the facts of the last configuration seen, and what identifies it. */
  private readonly entries = new Map<string, { key: string; facts: Promise<ConfigFacts> }>();

  constructor(
    private readonly client: KubeClient,
    private readonly configMaps: MetadataCache,
    private readonly secrets: MetadataCache,
    private readonly opts: ConfigCacheOptions = {},
  ) {}

  /**
   * The facts of the Environment's configuration, or undefined when it
   * references none and sets no rule. Reads nothing while the referenced objects' resourceVersions
   * and the rules are the ones last evaluated.
   */
  facts(env: Environment | undefined): Promise<ConfigFacts> | undefined {
    const config = env?.spec.config;
    const cmName = config?.configMapRef?.name;
    const secretName = config?.secretRef?.name;
    // Rules without a ConfigMap or Secret still judge: their required keys are set nowhere.
    const judged = cmName !== undefined || secretName !== undefined || (config?.rules?.length ?? 0) > 0;
    if (!env || !judged) return undefined;
    const ns = env.metadata?.namespace ?? '';
    const id = `${ns}/${env.metadata?.name ?? ''}`;
    const rv = (cache: MetadataCache, name: string | undefined) =>
      name === undefined ? null : (cache.get(name, ns)?.metadata?.resourceVersion ?? '');
    const key = JSON.stringify([
      cmName,
      rv(this.configMaps, cmName),
      secretName,
      rv(this.secrets, secretName),
      config?.rules ?? [],
    ]);
    const entry = this.entries.get(id);
    if (entry?.key === key) return entry.facts;
    const facts = this.evaluate(env, ns, cmName, secretName);
    this.entries.set(id, { key, facts });
    // A failed read is not remembered: the next reconcile (retried by the queue) reads again.
    facts.catch(() => {
      if (this.entries.get(id)?.facts === facts) this.entries.delete(id);
    });
    return facts;
  }

  /** Drops what is kept for an Environment that is gone. */
  forget(namespace: string, name: string): void {
    this.entries.delete(`${namespace}/${name}`);
  }

  private async evaluate(
    env: Environment,
    ns: string,
    cmName: string | undefined,
    secretName: string | undefined,
  ): Promise<ConfigFacts> {
    const missing: string[] = [];
    const sources: ConfigSources = {};
    // The metadata cache says whether it exists: no read for a missing one (its creation wakes us).
    if (cmName !== undefined) {
      const cm = this.configMaps.get(cmName, ns) && (await this.read<V1ConfigMap>('ConfigMap', ns, cmName));
      if (cm) sources.configMap = cm.data ?? {};
      else missing.push(`ConfigMap "${cmName}"`);
    }
    if (secretName !== undefined) {
      const s = this.secrets.get(secretName, ns) && (await this.read<V1Secret>('Secret', ns, secretName));
      if (s) {
        sources.secret = decode(s.data);
        sources.secretUid = s.metadata?.uid;
      } else missing.push(`Secret "${secretName}"`);
    }
    if (missing.length > 0) return { missing, violations: [] };
    return { violations: checkConfig(env.spec.config?.rules ?? [], sources), hash: configHash(sources) };
  }

  private async read<T extends KubernetesObject>(kind: ConfigKind, ns: string, name: string) {
    this.opts.onRead?.(kind);
    return getOptional<T>(this.client, 'v1', kind === 'ConfigMap' ? 'configmaps' : 'secrets', ns, name);
  }
}

/** Environments in `obj`'s namespace whose config references it (a ConfigMap or a Secret). */
export function environmentsReferencing(
  environments: Pick<Informer<Environment>, 'list'>,
  kind: ConfigKind,
  obj: KubernetesObject,
): Environment[] {
  const name = obj.metadata?.name;
  return environments.list(obj.metadata?.namespace ?? '').filter((e) => {
    const config = e.spec.config;
    return (kind === 'ConfigMap' ? config?.configMapRef?.name : config?.secretRef?.name) === name;
  });
}
