// Objects for release-flow tests: restricted-compliant templates, an
// Environment, a Release per traffic mode, and an HTTPRoute to weight.
import type { KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import type { Release } from '../../operator/api/generated/index.js';
import { kubectl } from '../harness/kube.js';
import { waitFor } from '../harness/wait.js';

export const API = 'cutover.dev/v1alpha1';

export function template(version: string, labels: Record<string, string> = {}) {
  return {
    metadata: { labels },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'app',
          image: `example.com/shop:${version}`,
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
}

export function environment(namespace: string): KubernetesObject {
  return {
    apiVersion: API,
    kind: 'Environment',
    metadata: { name: 'dev', namespace },
    spec: { tier: 'development', defaults: { traffic: { steps: [10, 25, 50, 100], stepDuration: '1s' } } },
  } as KubernetesObject;
}

export function httpRoute(namespace: string, app: string): KubernetesObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: app, namespace },
    spec: {
      parentRefs: [{ name: 'gateway' }],
      rules: [
        // Another team's rule: must never be touched.
        {
          matches: [{ path: { type: 'PathPrefix', value: '/other' } }],
          backendRefs: [{ name: 'other', port: 80 }],
        },
        { backendRefs: [{ name: app, port: 80 }] },
      ],
    },
  } as KubernetesObject;
}

export interface ReleaseOptions {
  mode?: 'GatewayAPI' | 'Replicas' | 'Service';
  version?: string;
  replicas?: number;
  labels?: Record<string, string>;
  extra?: Record<string, unknown>;
}

export function release(namespace: string, app: string, o: ReleaseOptions = {}): KubernetesObject {
  const version = o.version ?? '1.0.0';
  const mode = o.mode ?? 'GatewayAPI';
  return {
    apiVersion: API,
    kind: 'Release',
    metadata: { name: app, namespace },
    spec: {
      environmentRef: { name: 'dev' },
      application: app,
      version,
      replicas: o.replicas ?? 2,
      template: template(version, o.labels),
      traffic: { mode, ...(mode === 'GatewayAPI' ? { httpRouteRef: { name: app } } : {}) },
      scaleDownDelay: '2s',
      progressDeadline: '30s',
      ...o.extra,
    },
  } as KubernetesObject;
}

/** Changes spec.version (and the template with it): a new rollout. A merge patch, so it never conflicts. */
export async function setVersion(
  _api: KubernetesObjectApi,
  namespace: string,
  app: string,
  version: string,
  labels: Record<string, string> = {},
): Promise<void> {
  const patch = { spec: { version, template: template(version, labels) } };
  await kubectl('-n', namespace, 'patch', 'release', app, '--type', 'merge', '-p', JSON.stringify(patch));
}

export async function readRelease(
  api: KubernetesObjectApi,
  namespace: string,
  name: string,
): Promise<Release> {
  return api.read<Release>({ apiVersion: API, kind: 'Release', metadata: { name, namespace } });
}

/** Waits until the Release is in `phase` (with that reason on Ready, when given) and returns it. */
export async function waitPhase(
  api: KubernetesObjectApi,
  namespace: string,
  name: string,
  phase: string,
  reason?: string,
  timeoutMs = 30_000,
): Promise<Release> {
  return waitFor(
    async () => {
      const r = await readRelease(api, namespace, name);
      const ready = r.status?.conditions?.find((c) => c.type === 'Ready');
      return r.status?.phase === phase && (reason === undefined || ready?.reason === reason) && r;
    },
    { timeoutMs, description: `${namespace}/${name} in ${phase}${reason ? ` (${reason})` : ''}` },
  );
}

export function configMap(namespace: string, name: string, files: Record<string, string>): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace },
    data: files,
  } as KubernetesObject;
}

export function secret(namespace: string, name: string, data: Record<string, string>): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    stringData: data,
  } as KubernetesObject;
}

/**
 * A RollbackPolicy that decides within seconds: measured every second over
 * 5 s, rolled back at the second failed measurement in a row.
 */
export function rollbackPolicy(
  namespace: string,
  name: string,
  prometheusUrl: string,
  triggers: Array<Record<string, unknown>>,
  extra: Record<string, unknown> = {},
): KubernetesObject {
  return {
    apiVersion: API,
    kind: 'RollbackPolicy',
    metadata: { name, namespace },
    spec: {
      prometheus: { address: prometheusUrl, timeout: '2s' },
      interval: '1s',
      window: '5s',
      failureLimit: 2,
      minRequestRate: 1,
      triggers,
      ...extra,
    },
  } as KubernetesObject;
}
