// config/admission against the real apiserver: approvals and authorship carry
// the name of the user who made the request, whatever the request claims.
// Users are impersonated from the admin kubeconfig (kubectl --as, and a
// kubeconfig whose user entry says `as:` for the plugin).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubernetesObject } from '@kubernetes/client-node';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Release } from '../../operator/api/generated/index.js';
import { revisionOf } from '../../operator/release/names.js';
import { approvalKey } from '../../operator/environment/approvals.js';
import { revisionToApprove } from '../../operator/plugin/approval.js';
import {
  clusterEndpoint,
  createNamespace,
  deleteNamespace,
  installAdmission,
  kubectl,
  objectApi,
  writeKubeconfig,
  kubeconfigAs,
} from '../harness/kube.js';
import { runPlugin } from '../harness/plugin.js';

const api = objectApi();
const APPROVED_BY = 'cutover.dev/approved-by';
const CHANGED_BY = 'cutover.dev/changed-by';
// Not an approver: applies manifests from git, as Flux or Argo CD would.
const GITOPS = 'system:serviceaccount:flux-system:kustomize-controller';
// The identity the operator runs as in config/manager.
const OPERATOR = 'system:serviceaccount:cutover-system:cutover';
const TEMPLATE = { spec: { containers: [{ name: 'app', image: 'example.com/web:1' }] } };

let ns = '';
let scratch = '';

function manifest(name: string, version: string, annotations?: Record<string, string>) {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) },
    spec: { environmentRef: { name: 'production' }, application: name, version, template: TEMPLATE },
  };
}

async function createRelease(name: string, version = '1.0.0'): Promise<void> {
  await api.create(manifest(name, version) as KubernetesObject);
}

async function readRelease(name: string): Promise<Release> {
  const header = { apiVersion: 'cutover.dev/v1alpha1', kind: 'Release', metadata: { name, namespace: ns } };
  return (await api.read(header)) as KubernetesObject as Release;
}

async function annotations(name: string): Promise<Record<string, string>> {
  return (await readRelease(name)).metadata?.annotations ?? {};
}

/** What Flux or Argo CD do with a Release from git: a server-side apply that takes its fields. */
async function applyFromGit(name: string, version: string): Promise<void> {
  const file = join(scratch, `${name}.json`);
  writeFileSync(file, JSON.stringify(manifest(name, version)));
  await kubectlAs(
    GITOPS,
    'apply',
    '--server-side',
    '--force-conflicts',
    '--field-manager',
    'flux',
    '-f',
    file,
  );
}

/** kubectl as `user`; resolves to stdout, rejects with the apiserver's message. */
function kubectlAs(user: string, ...args: string[]): Promise<string> {
  return kubectl('--as', user, '-n', ns, ...args);
}

function patchAs(user: string, name: string, patch: object): Promise<string> {
  return kubectlAs(user, 'patch', 'release', name, '--type', 'merge', '-p', JSON.stringify(patch));
}

async function approveAs(user: string, release: string) {
  return runPlugin(['approve', release, '-n', ns], { KUBECONFIG: await kubeconfigAs(user) });
}

beforeAll(async () => {
  await installAdmission(api);
  ns = await createNamespace('admission', api);
  scratch = mkdtempSync(join(tmpdir(), 'cutover-admission-'));
  await kubectl(
    ...['-n', ns, 'create', 'rolebinding', 'approvers', '--clusterrole', 'cutover-approver'],
    ...['--user', 'alice', '--user', 'bob'],
  );
  // What GitOps and the operator need here, nothing about approvals.
  await kubectl(
    ...['-n', ns, 'create', 'role', 'release-writer', '--resource', 'releases.cutover.dev'],
    ...['--verb', 'get', '--verb', 'list', '--verb', 'create', '--verb', 'patch', '--verb', 'update'],
  );
  await kubectl(
    ...['-n', ns, 'create', 'rolebinding', 'release-writers', '--role', 'release-writer'],
    ...['--user', GITOPS, '--user', OPERATOR],
  );
});

afterAll(async () => {
  if (ns) await deleteNamespace(ns, api);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** What the plugin binds an approval of the Release, as read now, to. */
async function keyOf(name: string): Promise<string> {
  const rel = await readRelease(name);
  return approvalKey(revisionToApprove(rel), rel.spec);
}

describe('approved-by', () => {
  it('records the approval of the plugin user for the revision it read, once per person', async () => {
    await createRelease('web');
    const rev = revisionOf('web', '1.0.0', TEMPLATE);
    const key = await keyOf('web');

    const alice = await approveAs('alice', 'web');
    expect(alice).toEqual({
      code: 0,
      stderr: '',
      stdout: `Approved revision ${rev} (version 1.0.0) of release ${ns}/web as alice; 1 approval(s) of this revision: alice.\n`,
    });
    expect((await annotations('web'))[APPROVED_BY]).toBe(`${key}:alice`);

    const bob = await approveAs('bob', 'web');
    expect(bob.stdout).toContain('as bob; 2 approval(s) of this revision: alice, bob.');
    expect((await annotations('web'))[APPROVED_BY]).toBe(`${key}:alice,${key}:bob`);

    const again = await approveAs('alice', 'web');
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(
      `Already approved revision ${rev} (version 1.0.0) of release ${ns}/web as alice; nothing to change. 2 approval(s) of this revision: alice, bob.\n`,
    );
    expect((await annotations('web'))[APPROVED_BY]).toBe(`${key}:alice,${key}:bob`);
  });

  it("refuses, at admission, an approval under another user's name", async () => {
    await createRelease('claim');
    const rev = revisionOf('claim', '1.0.0', TEMPLATE);

    const claim = kubectlAs('bob', 'annotate', 'release', 'claim', `${APPROVED_BY}=${rev}:alice`);
    await expect(claim).rejects.toThrow(
      `cutover.dev/approved-by: bob may only add approvals of the form <key>:bob, not ${rev}:alice`,
    );
    // Slipped in beside his own, it is refused all the same.
    const mixed = patchAs('bob', 'claim', {
      metadata: { annotations: { [APPROVED_BY]: `${rev}:bob,${rev}:alice` } },
    });
    await expect(mixed).rejects.toThrow(`not ${rev}:alice`);
    // An entry that is not <revision>:<user> is nobody's approval.
    await expect(kubectlAs('bob', 'annotate', 'release', 'claim', `${APPROVED_BY}=bob`)).rejects.toThrow(
      'not bob;',
    );
    expect((await annotations('claim'))[APPROVED_BY]).toBeUndefined();

    await kubectlAs('bob', 'annotate', 'release', 'claim', `${APPROVED_BY}=${rev}:bob`);
    expect((await annotations('claim'))[APPROVED_BY]).toBe(`${rev}:bob`);
    // Removing entries is anyone's right who may patch: the plugin drops
    // other revisions' approvals as it adds its own.
    await kubectlAs('alice', 'annotate', 'release', 'claim', `${APPROVED_BY}-`);
    expect((await annotations('claim'))[APPROVED_BY]).toBeUndefined();
  });

  it('binds approvals to a revision: a new version needs new ones', async () => {
    await createRelease('bump');
    await approveAs('alice', 'bump');
    await patchAs(GITOPS, 'bump', { spec: { version: '2.0.0' } });

    const v2 = revisionOf('bump', '2.0.0', TEMPLATE);
    const run = await approveAs('bob', 'bump');
    expect(run.stdout).toBe(
      `Approved revision ${v2} (version 2.0.0) of release ${ns}/bump as bob; 1 approval(s) of this revision: bob.\n`,
    );
    expect((await annotations('bump'))[APPROVED_BY]).toBe(`${await keyOf('bump')}:bob`);
  });

  it('takes no --as, and says where identity comes from', async () => {
    const run = await runPlugin(['approve', 'web', '-n', ns, '--as', 'alice']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'Error: --as is gone: approvals record the user your kubeconfig credentials',
    );
  });

  it('says so clearly when the cluster will not say who the caller is', async () => {
    const kubeconfig = writeKubeconfig(await clusterEndpoint(), 'not-a-valid-token');
    const run = await runPlugin(['approve', 'web', '-n', ns], { KUBECONFIG: kubeconfig });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^Error: cannot learn which user these credentials authenticate as \(SelfSubjectReview.*\): HTTP 401 Unauthorized, the cluster does not accept these credentials\n$/,
    );
  });
});

describe('GitOps and the operator', () => {
  it('applies a Release without the annotations, as a user who approves nothing', async () => {
    await applyFromGit('gitops', '1.0.0');
    await applyFromGit('gitops', '1.1.0');
    expect((await readRelease('gitops')).spec.version).toBe('1.1.0');
  });

  it('changes the version of an approved Release from git, leaving the approvals alone', async () => {
    await applyFromGit('synced', '1.0.0');
    await approveAs('alice', 'synced');
    const before = (await annotations('synced'))[APPROVED_BY];
    expect(before).toBe(`${await keyOf('synced')}:alice`);
    await applyFromGit('synced', '2.0.0');
    const after = await readRelease('synced');
    expect(after.spec.version).toBe('2.0.0');
    expect(after.metadata?.annotations?.[APPROVED_BY]).toBe(before);
  });

  it("clears a control annotation as the operator does, the policy's annotations untouched", async () => {
    await createRelease('control');
    await patchAs('alice', 'control', {
      metadata: { annotations: { [CHANGED_BY]: 'alice' } },
      spec: { version: '2.0.0' },
    });
    await approveAs('bob', 'control');
    await kubectl('-n', ns, 'annotate', 'release', 'control', 'cutover.dev/abort=2026-05-01T12:00:00Z');
    const before = await annotations('control');

    await patchAs(OPERATOR, 'control', { metadata: { annotations: { 'cutover.dev/abort': null } } });
    const after = await annotations('control');
    expect(after['cutover.dev/abort']).toBeUndefined();
    expect(after[APPROVED_BY]).toBe(before[APPROVED_BY]);
    expect(after[CHANGED_BY]).toBe('alice');
  });
});

describe('changed-by', () => {
  it('names whoever changes the version or template, or nobody', async () => {
    await createRelease('authored');
    await patchAs('alice', 'authored', {
      metadata: { annotations: { [CHANGED_BY]: 'alice' } },
      spec: { version: '2.0.0' },
    });
    expect((await annotations('authored'))[CHANGED_BY]).toBe('alice');

    // Bob's change would otherwise be credited to alice.
    await expect(patchAs('bob', 'authored', { spec: { version: '2.1.0' } })).rejects.toThrow(
      'cutover.dev/changed-by: bob changes the spec, so cutover.dev/changed-by must be bob or absent, not "alice"',
    );
    const template = { spec: { containers: [{ name: 'app', image: 'example.com/web:2' }] } };
    await expect(patchAs('bob', 'authored', { spec: { template } })).rejects.toThrow('must be bob or absent');
    // Not only the version and template: anything an approval covers, such as what a migration runs.
    const migrations = {
      databaseSecretRef: { name: 'db', key: 'url' },
      expand: { image: 'example.com/m:1' },
    };
    await expect(patchAs('bob', 'authored', { spec: { migrations } })).rejects.toThrow(
      'must be bob or absent',
    );
    // Pausing runs nothing and needs no author.
    await patchAs('bob', 'authored', { spec: { paused: true } });
    await expect(
      patchAs('bob', 'authored', {
        metadata: { annotations: { [CHANGED_BY]: 'carol' } },
        spec: { version: '2.1.0' },
      }),
    ).rejects.toThrow('not "carol"');

    await patchAs('bob', 'authored', {
      metadata: { annotations: { [CHANGED_BY]: 'bob' } },
      spec: { version: '2.1.0' },
    });
    expect((await annotations('authored'))[CHANGED_BY]).toBe('bob');
    // Leaving the author unknown is allowed: the gate treats it as unknown.
    await patchAs('alice', 'authored', {
      metadata: { annotations: { [CHANGED_BY]: null } },
      spec: { version: '2.2.0' },
    });
    expect((await annotations('authored'))[CHANGED_BY]).toBeUndefined();
  });

  it('is neither added nor changed without a change of version or template; removing it is allowed', async () => {
    await createRelease('later');
    await expect(kubectlAs('alice', 'annotate', 'release', 'later', `${CHANGED_BY}=alice`)).rejects.toThrow(
      'cutover.dev/changed-by: alice may set the author only together with a change of the spec (anything but paused)',
    );
    await patchAs('alice', 'later', {
      metadata: { annotations: { [CHANGED_BY]: 'alice' } },
      spec: { version: '2.0.0' },
    });
    await expect(
      kubectlAs('alice', 'annotate', '--overwrite', 'release', 'later', `${CHANGED_BY}=bob`),
    ).rejects.toThrow('may set the author only together with');
    await kubectlAs('bob', 'annotate', 'release', 'later', `${CHANGED_BY}-`);
    expect((await annotations('later'))[CHANGED_BY]).toBeUndefined();
  });

  it('may be set on create, only to the creator', async () => {
    const file = join(scratch, 'created.json');
    writeFileSync(file, JSON.stringify(manifest('created', '1.0.0', { [CHANGED_BY]: 'alice' })));
    await expect(kubectlAs(GITOPS, 'create', '-f', file)).rejects.toThrow(`must be ${GITOPS} or absent`);
    writeFileSync(file, JSON.stringify(manifest('created', '1.0.0', { [CHANGED_BY]: GITOPS })));
    await kubectlAs(GITOPS, 'create', '-f', file);
    expect((await annotations('created'))[CHANGED_BY]).toBe(GITOPS);
  });
});
