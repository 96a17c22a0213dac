// The promotion part of `make demo`: one version goes staging → production.
// Production promotes from staging after a soak, needs one approval, and
// opens Monday to Thursday 09:00-16:00 Europe/Berlin. The operator runs on a
// demo clock (--clock-start) that begins shortly before a Monday 09:00, so
// the window opens while you watch; the approval is given with
// `kubectl cutover approve`, as a person would.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Release } from '../operator/api/generated/index.js';
import { installAdmission, kubectl, objectApi } from './harness/kube.js';
import { startOperator } from './harness/operator.js';
import { runPlugin } from './harness/plugin.js';
import { waitFor } from './harness/wait.js';
import { template } from './release/fixtures.js';

const api = objectApi();
const STAGING = 'shop-staging';
const PRODUCTION = 'shop-production';
/** Monday 7 December 2026, 08:59:40 in Berlin. */
const DEMO_CLOCK = '2026-12-07T07:59:40Z';

function environment(namespace: string, name: string, spec: Record<string, unknown>): KubernetesObject {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Environment',
    metadata: { name, namespace },
    spec: { defaults: { traffic: { steps: [50, 100], stepDuration: '1s' } }, ...spec },
  } as KubernetesObject;
}

function web(namespace: string, env: string): KubernetesObject {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: { name: 'web', namespace },
    spec: {
      environmentRef: { name: env },
      application: 'web',
      version: '1.4.0',
      replicas: 2,
      template: template('1.4.0'),
      traffic: { mode: 'Replicas' },
    },
  } as KubernetesObject;
}

async function readWeb(namespace: string): Promise<Release> {
  return api.read<Release>({
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: { name: 'web', namespace },
  });
}

/** Prints each new phase and Ready message of production's Release until `done`. */
let last = '';
async function watchProduction(done: (r: Release) => boolean): Promise<void> {
  await waitFor(
    async () => {
      const r = await readWeb(PRODUCTION);
      const ready = r.status?.conditions?.find((c) => c.type === 'Ready');
      const line = `${(r.status?.phase ?? 'Pending').padEnd(16)} ${ready?.reason ?? ''}: ${ready?.message ?? ''}`;
      if (line !== last) console.log(`  ${line}`);
      last = line;
      return done(r);
    },
    { timeoutMs: 120_000, intervalMs: 200, description: 'web in production' },
  );
}

export async function promotionDemo(): Promise<void> {
  console.log('== promotion: web 1.4.0 from staging to production (soak, approval, window) ==');
  await installAdmission();
  for (const ns of [STAGING, PRODUCTION]) {
    await kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=true');
    await kubectl('create', 'namespace', ns);
    // One tenant: production may promote from the other namespace.
    await kubectl('label', 'namespace', ns, 'cutover.dev/tenant=shop');
  }
  await api.create(environment(STAGING, 'staging', { tier: 'staging' }));
  await api.create(
    environment(PRODUCTION, 'production', {
      tier: 'production',
      promotion: {
        from: { namespace: STAGING, name: 'staging' },
        soak: '5s',
        approvals: 1,
        windows: [
          { days: ['Mon', 'Tue', 'Wed', 'Thu'], start: '09:00', end: '16:00', timeZone: 'Europe/Berlin' },
        ],
      },
    }),
  );
  const op = await startOperator({
    leaseName: 'cutover-demo-promotion',
    args: ['--clock-start', DEMO_CLOCK],
  });
  try {
    await op.waitReady();
    console.log(`  the operator's clock starts at ${DEMO_CLOCK} (Monday 08:59:40 in Berlin)`);
    await api.create(web(PRODUCTION, 'production'));
    await watchProduction((r) => r.status?.conditions?.some((c) => c.reason === 'NotPromoted') ?? false);
    await api.create(web(STAGING, 'staging'));
    await waitFor(async () => (await readWeb(STAGING)).status?.phase === 'Succeeded', {
      timeoutMs: 60_000,
      description: 'web in staging',
    });
    console.log('  staging: web 1.4.0 Succeeded');
    await watchProduction((r) => r.status?.phase === 'AwaitingApproval');
    const approved = await runPlugin(['approve', 'web', '-n', PRODUCTION]);
    console.log(
      `  $ kubectl cutover approve web -n ${PRODUCTION}\n  ${approved.stdout.trim() || approved.stderr.trim()}`,
    );
    await watchProduction((r) => r.status?.phase === 'WaitingForWindow');
    await watchProduction((r) => r.status?.phase === 'Succeeded');
    console.log(await kubectl('get', 'releases,environments', '-n', PRODUCTION));
  } finally {
    await op.stop();
  }
}
