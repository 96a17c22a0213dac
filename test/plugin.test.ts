// kubectl-cutover against the local cluster: the plugin runs as a separate
// process, exactly as kubectl would start it, and every effect is read back
// from the API server.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { Release, ReleaseStatus } from '../operator/api/generated/index.js';
import {
  createNamespace,
  deleteNamespace,
  denyByAdmissionPolicy,
  installCrds,
  kubeconfigPath,
  kubectl,
  objectApi,
} from './harness/kube.js';
import { runPlugin } from './harness/plugin.js';
import { waitFor } from './harness/wait.js';

const plugin = runPlugin;

const api = objectApi();
let ns = '';
let scratch = '';
let fence = '';
let removeFence: () => Promise<void> = () => Promise.resolve();

async function createRelease(name: string, environment = 'dev'): Promise<void> {
  await api.create({
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: { name, namespace: ns },
    spec: {
      environmentRef: { name: environment },
      application: name,
      version: '1.0.0',
      template: { spec: { containers: [{ name: 'app', image: 'example.com/web:1' }] } },
    },
  } as KubernetesObject);
}

// Plays the operator's part: the plugin only reads status, so the test writes it.
async function setStatus(name: string, status: ReleaseStatus): Promise<void> {
  await kubectl(
    'patch',
    'release',
    name,
    '-n',
    ns,
    '--subresource',
    'status',
    '--type',
    'merge',
    '-p',
    JSON.stringify({ status }),
  );
}

async function readRelease(name: string): Promise<Release> {
  const obj = await api.read({
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: { name, namespace: ns },
  });
  return obj as KubernetesObject as Release;
}

async function annotation(name: string, key: string): Promise<string | undefined> {
  return (await readRelease(name)).metadata?.annotations?.[key];
}

/**
 * Operators started by other tests on this shared cluster reconcile every
 * namespace: they would restart the rollout over the status this test plants
 * and clear the request annotations it reads back. A real admission policy
 * refuses writes by the operator's field manager, `cutover`, to Releases in
 * this test's namespace only, and is proven to enforce before the tests run.
 */
async function fenceOffOperators(): Promise<void> {
  removeFence = await denyByAdmissionPolicy(
    {
      name: fence,
      namespace: ns,
      resources: ['releases', 'releases/status'],
      operations: ['UPDATE'],
      expression: `!has(request.options.fieldManager) || request.options.fieldManager != 'cutover'`,
      message: 'fenced off for the kubectl-cutover test',
    },
    api,
  );
  await createRelease('fence-probe');
  await waitFor(
    async () => {
      try {
        await kubectl(
          ...['-n', ns, 'patch', 'release', 'fence-probe', '--field-manager', 'cutover', '--type', 'merge'],
          ...['-p', JSON.stringify({ metadata: { annotations: { probe: String(Date.now()) } } })],
        );
        return false;
      } catch (err) {
        return String(err).includes('fenced off');
      }
    },
    { timeoutMs: 20_000, description: 'the admission policy to refuse writes by field manager cutover' },
  );
}

/**
 * Fails with the real cause when an operator (field manager `cutover`) has
 * written to the Release: any operator running against this cluster
 * reconciles every namespace, rewrites the status this test planted and
 * clears the request annotations, and the assertions after this would
 * report that as a plugin bug.
 */
async function expectNoOperator(name: string): Promise<void> {
  const writes = ((await readRelease(name)).metadata?.managedFields ?? []).filter(
    (m) => m.manager === 'cutover',
  );
  if (writes.length > 0) {
    const when = writes.map(
      (m) =>
        `${m.operation ?? '?'}${m.subresource ? `/${m.subresource}` : ''} at ${m.time instanceof Date ? m.time.toISOString() : String(m.time)}`,
    );
    throw new Error(
      `a Cutover operator wrote to release ${ns}/${name} during the test (${when.join(', ')}); ` +
        'the admission fence did not hold; stop operators running against this cluster and run the test again',
    );
  }
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

beforeAll(async () => {
  await installCrds();
  ns = await createNamespace('plugin', api);
  fence = `cutover-test-${ns}`;
  await fenceOffOperators();
  scratch = mkdtempSync(join(tmpdir(), 'cutover-plugin-'));
  await createRelease('web');
  await setStatus('web', {
    phase: 'Shifting',
    activeSlot: 'blue',
    stableVersion: '0.9.0',
    canaryWeight: 25,
    currentStep: 1,
    stepStartedAt: new Date(Date.now() - 30_000).toISOString(),
    conditions: [
      {
        type: 'Ready',
        status: 'False',
        reason: 'Progressing',
        message: 'shifting traffic: 25% on 1.0.0',
        lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
    ],
  });
});

afterAll(async () => {
  await removeFence();
  if (ns) await deleteNamespace(ns, api);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('kubectl-cutover status', () => {
  it('shows the phase, the step bar and the conditions', async () => {
    const run = await plugin(['status', 'web', '-n', ns]);
    await expectNoOperator('web');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`Release      web (namespace ${ns})\n`);
    expect(run.stdout).toContain('Version      1.0.0 (stable 0.9.0)\n');
    expect(run.stdout).toContain('Phase        Shifting\n');
    // No Environment "dev" exists, so the built-in steps and hold time apply.
    expect(run.stdout).toContain('Traffic      [■■■■■□□□□□□□□□□□□□□□] 25%  step 2/4 (10 → 25 → 50 → 100)\n');
    expect(run.stdout).toMatch(/\n {13}held \S+ of 2m at this step \(\S+ left\)\n/);
    expect(run.stdout).toContain('  Ready   False    Progressing   shifting traffic: 25% on 1.0.0\n');
    // stdout is a pipe here: no colour.
    expect(run.stdout).not.toContain('\x1b');
  });

  it("shows the window of the Release's Environment, and no Window line without one", async () => {
    expect((await plugin(['status', 'web', '-n', ns])).stdout).not.toContain('Window');
    await api.create({
      apiVersion: 'cutover.dev/v1alpha1',
      kind: 'Environment',
      metadata: { name: 'office', namespace: ns },
      spec: {
        tier: 'staging',
        promotion: {
          windows: [
            {
              days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'],
              start: '09:00',
              end: '16:00',
              timeZone: 'Europe/Berlin',
            },
          ],
        },
      },
    } as KubernetesObject);
    await createRelease('office', 'office');
    const run = await plugin(['status', 'office', '-n', ns]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    // Which of the two depends on the wall clock the test runs at.
    expect(run.stdout).toMatch(
      /\nWindow {7}(open until \w{3} 16:00 Europe\/Berlin|next opens \w{3} 09:00 Europe\/Berlin \(in \S+\))\n/,
    );
  });

  it('prints the raw status with -o json', async () => {
    const run = await plugin(['status', 'web', '-n', ns, '-o', 'json']);
    await expectNoOperator('web');
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as ReleaseStatus;
    expect(status).toMatchObject({ phase: 'Shifting', canaryWeight: 25, currentStep: 1 });
  });

  it('takes the namespace from the kubeconfig context and honours --kubeconfig', async () => {
    const config = parse(readFileSync(kubeconfigPath(), 'utf8')) as {
      'current-context': string;
      contexts: { name: string; context: { namespace?: string } }[];
    };
    for (const c of config.contexts) if (c.name === config['current-context']) c.context.namespace = ns;
    const file = join(scratch, 'kubeconfig');
    writeFileSync(file, stringify(config));

    const run = await plugin(['status', 'web', '--kubeconfig', file], { KUBECONFIG: '/nonexistent' });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`(namespace ${ns})`);
  });

  it('reports a missing Release in one line and exits 1', async () => {
    const run = await plugin(['status', 'nope', '-n', ns]);
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: release "nope" not found in namespace "${ns}"\n`,
    });
  });
});

describe('kubectl-cutover requests', () => {
  it.each([
    ['promote', 'cutover.dev/promote', 'promotion'],
    ['abort', 'cutover.dev/abort', 'abort'],
    ['retry', 'cutover.dev/retry', 'retry'],
  ])('%s sets %s to a timestamp', async (command, key, noun) => {
    const run = await plugin([command, 'web', '-n', ns]);
    await expectNoOperator('web');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const value = await annotation('web', key);
    expect(value).toMatch(ISO);
    expect(run.stdout).toBe(
      `Requested ${noun} of release "web" in namespace "${ns}" (${key}=${value}); the operator acts on it at its next reconcile.\n`,
    );
  });

  it('writes as field manager kubectl-cutover', async () => {
    await expectNoOperator('web');
    const managers = (await readRelease('web')).metadata?.managedFields ?? [];
    const ours = managers.find((m) => m.manager === 'kubectl-cutover');
    expect(ours).toMatchObject({ operation: 'Update' });
    expect(JSON.stringify(ours?.fieldsV1)).toContain('f:cutover.dev/promote');
  });

  // Approvals under an admission policy, as several users: test/environment/admission.test.ts.
  it('approve records the user the cluster authenticates, for the revision it read', async () => {
    const user = await kubectl('auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}');
    expect(user).not.toBe('');
    const run = await plugin(['approve', 'web', '-n', ns]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const recorded = (await annotation('web', 'cutover.dev/approved-by')) ?? '';
    // The approval key: 16 hex digits over the revision and the whole spec.
    expect(recorded).toMatch(new RegExp(`^[0-9a-f]{16}:${user}$`));
    expect(run.stdout).toMatch(
      new RegExp(
        `^Approved revision [0-9a-f]{10} \\(version 1\\.0\\.0\\) of release ${ns}/web as ${user}; 1 approval\\(s\\) of this revision: ${user}\\.\n$`,
      ),
    );
  });

  it.each(['Succeeded', 'Failed', 'RolledBack'] as const)(
    'refuses promote and abort on a %s Release, leaving it untouched',
    async (phase) => {
      const name = `done-${phase.toLowerCase()}`;
      await createRelease(name);
      await setStatus(name, { phase });
      const commands = ['promote', 'abort'] as const;
      const runs = await Promise.all(commands.map((command) => plugin([command, name, '-n', ns])));
      await expectNoOperator(name);
      commands.forEach((command, i) =>
        expect(runs[i]).toEqual({
          code: 1,
          stdout: '',
          stderr: `Error: release "${name}" in namespace "${ns}" is ${phase}: there is no rollout in progress to ${command}\n`,
        }),
      );
      const annotations = (await readRelease(name)).metadata?.annotations ?? {};
      expect(annotations['cutover.dev/promote']).toBeUndefined();
      expect(annotations['cutover.dev/abort']).toBeUndefined();
    },
  );

  it('reports a missing Release for a request too', async () => {
    const run = await plugin(['promote', 'nope', '-n', ns]);
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr: `Error: release "nope" not found in namespace "${ns}"\n`,
    });
  });
});

describe('kubectl-cutover history', () => {
  it('lists status.history newest first', async () => {
    await setStatus('web', {
      history: [
        {
          version: '0.9.0',
          outcome: 'Succeeded',
          startedAt: '2026-04-01T10:00:00Z',
          finishedAt: '2026-04-01T10:12:30Z',
        },
        {
          version: '0.8.0',
          outcome: 'RolledBack',
          startedAt: '2026-03-01T10:00:00Z',
          finishedAt: '2026-03-01T10:04:00Z',
        },
      ],
    });
    const run = await plugin(['history', 'web', '-n', ns]);
    await expectNoOperator('web');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(
      [
        'VERSION   OUTCOME      STARTED                FINISHED               DURATION',
        '0.9.0     Succeeded    2026-04-01T10:00:00Z   2026-04-01T10:12:30Z   12m30s',
        '0.8.0     RolledBack   2026-03-01T10:00:00Z   2026-03-01T10:04:00Z   4m',
        '',
      ].join('\n'),
    );
  });
});

describe('kubectl-cutover usage', () => {
  it('prints usage and exits 2 without a command or with an unknown one', async () => {
    const [none, unknown] = await Promise.all([plugin([]), plugin(['frobnicate', 'web'])]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^Usage: kubectl cutover <command> <release>/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^Error: unknown command "frobnicate"\n\nUsage: /);
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
  });
});
