// The operator started on a cluster without the Cutover CRDs: one clear line
// per missing resource, not ready, no crash; it recovers by itself once the
// CRDs are installed. Runs on a private second cluster so the shared one keeps
// its CRDs.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startOperator, type OperatorProcess } from '../harness/operator.js';
import { waitFor } from '../harness/wait.js';

const root = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'cutover-nocrds-'));
const env = { ...process.env, CUTOVER_CLUSTER_NAME: 'cutover-nocrds', CUTOVER_CLUSTER_DIR: dir };
const kubeconfig = join(dir, 'kubeconfig');
let op: OperatorProcess | undefined;

beforeAll(async () => {
  await run('bash', [join(root, 'test/cluster/up.sh')], { env, timeout: 180_000 });
});

afterAll(async () => {
  await op?.kill9();
  await run('bash', [join(root, 'test/cluster/down.sh')], { env });
  rmSync(dir, { recursive: true, force: true });
});

test('CRDs not installed: one line each, not ready, then recovers when they are applied', async () => {
  op = await startOperator({ kubeconfig, leaseNamespace: 'default' });
  const started = op;
  await waitFor(async () => (await started.metric('cutover_informer_restarts_total')) >= 8, {
    timeoutMs: 20_000,
    description: 'the informers to retry a few times',
  });
  expect(await started.ready()).toBe(false);
  const lines = (await started.proc.logTail(64 * 1024))
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; hint?: string; resource?: string });
  const warnings = lines.filter((l) => l.level === 'warn');
  expect(warnings.map((w) => w.resource).sort()).toEqual([
    'backuppolicies.cutover.dev/v1alpha1',
    'environments.cutover.dev/v1alpha1',
    'releases.cutover.dev/v1alpha1',
    'rollbackpolicies.cutover.dev/v1alpha1',
  ]);
  expect(warnings.every((w) => w.hint?.includes('are the CRDs installed? (kubectl apply -f crds/)'))).toBe(
    true,
  );

  await run('kubectl', ['--kubeconfig', kubeconfig, 'apply', '--server-side', '-f', join(root, 'crds')]);
  await started.waitReady(30_000);
  // The log reaches the file a moment after readiness flips: wait for it rather than read once.
  // A CRD being established can flap once (list served, watch not yet), so a
  // resource may recover twice; what matters is that each of the four does.
  const recovered = async () =>
    new Set(
      (await started.proc.logTail(64 * 1024))
        .split('\n')
        .filter((l) => l.includes('"watch recovered"'))
        .map((l) => (JSON.parse(l) as { resource?: string }).resource),
    );
  await waitFor(async () => (await recovered()).size >= 4, {
    timeoutMs: 5_000,
    description: 'a recovery line for each of the four resources',
  });
  expect([...(await recovered())].sort()).toEqual([
    'backuppolicies.cutover.dev/v1alpha1',
    'environments.cutover.dev/v1alpha1',
    'releases.cutover.dev/v1alpha1',
    'rollbackpolicies.cutover.dev/v1alpha1',
  ]);
  expect(started.proc.child.exitCode).toBeNull();
});
