// What a Release owns, as plain objects for server-side apply: the two slot
// Deployments, the stable and preview Services, and the migration Jobs. Pure.
import type { V1Container, V1Deployment, V1Job, V1Service, V1Volume } from '@kubernetes/client-node';
import type { Release, Slot } from '../api/generated/index.js';
import { ownerReference } from '../runtime/apply.js';
import { parseDuration } from '../runtime/duration.js';
import { IMAGE } from '../version.js';
import {
  CONFIG_HASH_ANNOTATION,
  MANAGED_BY,
  podLabels,
  previewServiceName,
  slotName,
  stableServiceName,
} from './names.js';
import type { MigrationPhase } from './plan/index.js';

/** The operator's own image at its version (operator/version.ts, generated from package.json). */
export const DEFAULT_MIGRATE_IMAGE = IMAGE;

/** On every Job a Release runs and on its pods: expand, contract, down or verify. */
export const JOB_LABEL = 'cutover.dev/job';

function meta(rel: Release, name: string, labels: Record<string, string> = {}) {
  return {
    name,
    namespace: rel.metadata?.namespace,
    labels: { ...MANAGED_BY, app: rel.spec.application, ...labels },
    ownerReferences: [ownerReference(rel)],
  };
}

/** `configHash`: rolled out with the configuration (config.rolloutOnChange), so new config restarts the pods. */
export function slotDeployment(
  rel: Release,
  slot: Slot,
  replicas: number,
  revision: string,
  configHash?: string,
): V1Deployment {
  const app = rel.spec.application;
  const tpl = rel.spec.template;
  const annotations =
    configHash === undefined
      ? tpl.metadata?.annotations
      : { ...tpl.metadata?.annotations, [CONFIG_HASH_ANNOTATION]: configHash };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(rel, slotName(app, slot), {
      slot,
      version: rel.spec.version,
      'cutover.dev/revision': revision,
    }),
    spec: {
      replicas,
      selector: { matchLabels: { app, slot } },
      template: {
        ...tpl,
        metadata: {
          ...tpl.metadata,
          ...(annotations ? { annotations } : {}),
          labels: { ...tpl.metadata?.labels, ...podLabels(app, slot, rel.spec.version, revision) },
        },
      },
    },
  };
}

export function services(rel: Release, stable: Slot | 'both' | undefined, preview?: Slot): V1Service[] {
  const app = rel.spec.application;
  const port = rel.spec.service?.port ?? 80;
  const targetPort = rel.spec.service?.targetPort ?? port;
  const svc = (name: string, selector: Record<string, string>): V1Service => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(rel, name),
    spec: { selector, ports: [{ name: 'http', port, targetPort }] },
  });
  const out: V1Service[] = [];
  if (stable) out.push(svc(stableServiceName(app), stable === 'both' ? { app } : { app, slot: stable }));
  if (preview) out.push(svc(previewServiceName(app), { app, slot: preview }));
  return out;
}

/** The slot a Service's selector points at: a slot, both slots, or none of ours. */
export function selectedSlot(svc: V1Service | undefined): Slot | 'both' | undefined {
  const sel = svc?.spec?.selector;
  if (!sel?.app) return undefined;
  if (sel.slot === 'blue' || sel.slot === 'green') return sel.slot;
  return sel.slot === undefined ? 'both' : undefined;
}

// Restricted Pod Security: the namespaces Cutover deploys into may enforce it.
export const restrictedPod = {
  runAsNonRoot: true,
  runAsUser: 65532,
  seccompProfile: { type: 'RuntimeDefault' },
};
export const restrictedContainer = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

/** Every Job a Release runs: one try, a deadline, restricted Pod Security, labels that map it back. */
function job(
  rel: Release,
  name: string,
  kind: string,
  revision: string,
  timeout: string,
  container: V1Container,
  volumes?: V1Volume[],
): V1Job {
  const labels = {
    [JOB_LABEL]: kind,
    ...(kind === 'verify' ? {} : { 'cutover.dev/migration': kind }),
    'cutover.dev/revision': revision,
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta(rel, name, labels),
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: Math.ceil(parseDuration(timeout) / 1000),
      template: {
        metadata: { labels: { ...MANAGED_BY, app: rel.spec.application, ...labels } },
        spec: {
          restartPolicy: 'Never',
          securityContext: restrictedPod,
          containers: [
            {
              ...container,
              securityContext: restrictedContainer,
              terminationMessagePolicy: 'FallbackToLogsOnError',
            },
          ],
          ...(volumes ? { volumes } : {}),
        },
      },
    },
  };
}

/** `run` (see runOf) is what the built-in runner records the versions it applies under. */
export function migrationJob(
  rel: Release,
  phase: MigrationPhase,
  name: string,
  revision: string,
  run: string,
  image = DEFAULT_MIGRATE_IMAGE,
): V1Job {
  const m = rel.spec.migrations;
  const step = m?.[phase];
  if (!m || !step) throw new Error(`Release has no ${phase} migration`);
  const env = [
    {
      name: 'DATABASE_URL',
      valueFrom: { secretKeyRef: { name: m.databaseSecretRef.name, key: m.databaseSecretRef.key } },
    },
  ];
  const timeout = step.timeout ?? '10m';
  if (!step.configMapRef) {
    const container = {
      name: 'migrate',
      image: step.image ?? image,
      command: step.command,
      args: step.args,
      env,
    };
    return job(rel, name, phase, revision, timeout, container);
  }
  const container = {
    name: 'migrate',
    image,
    command: ['cutover', 'migrate', '--dir', '/migrations', '--phase', phase, '--revision', run],
    env,
    volumeMounts: [{ name: 'migrations', mountPath: '/migrations', readOnly: true }],
  };
  const volumes = [{ name: 'migrations', configMap: { name: step.configMapRef.name } }];
  return job(rel, name, phase, revision, timeout, container, volumes);
}

/**
 * The down migration of a rollback: the expand's own files, with their down
 * halves, over exactly the versions this revision's expand recorded in the
 * history table. Only the built-in runner knows which those are.
 */
export function downMigrationJob(
  rel: Release,
  name: string,
  revision: string,
  run: string,
  image = DEFAULT_MIGRATE_IMAGE,
): V1Job {
  const expand = migrationJob(rel, 'expand', name, revision, run, image);
  const pod = expand.spec?.template.spec;
  const container = pod?.containers[0];
  if (!container || !pod.volumes) throw new Error('a down migration needs expand.configMapRef');
  const command = [
    'cutover',
    'migrate',
    '--dir',
    '/migrations',
    '--phase',
    'contract',
    '--down-revision',
    run,
  ];
  const timeout = rel.spec.migrations?.expand?.timeout ?? '10m';
  return job(rel, name, 'down', revision, timeout, { ...container, command }, pod.volumes);
}

/** The verification Job: the user's suite against the preview Service, before any traffic moves. */
export function verifyJob(rel: Release, name: string, revision: string, slot: Slot): V1Job {
  const v = rel.spec.verify;
  if (!v) throw new Error('Release has no spec.verify');
  const app = rel.spec.application;
  const port = rel.spec.service?.port ?? 80;
  const env = {
    CUTOVER_PREVIEW_URL: `http://${previewServiceName(app)}.${rel.metadata?.namespace ?? 'default'}.svc:${port}`,
    CUTOVER_APP: app,
    CUTOVER_VERSION: rel.spec.version,
    CUTOVER_SLOT: slot,
  };
  const container = {
    name: 'verify',
    image: v.image,
    command: v.command,
    args: v.args,
    env: Object.entries(env).map(([name, value]) => ({ name, value })),
  };
  return job(rel, name, 'verify', revision, v.timeout ?? '5m', container);
}
