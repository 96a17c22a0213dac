import type { Environment, Release } from '../api/generated/index.js';
import { revisionOf } from './names.js';
import { slotDeployment } from './objects.js';
import { resolveSpec } from './spec.js';

const rel: Release = {
  apiVersion: 'cutover.dev/v1alpha1',
  kind: 'Release',
  metadata: { name: 'shop', namespace: 'prod', uid: 'u1', generation: 1 },
  spec: {
    environmentRef: { name: 'production' },
    application: 'shop',
    version: '2.0.0',
    template: {
      metadata: { annotations: { team: 'a' } },
      spec: { containers: [{ name: 'app', image: 'shop:2' }] },
    },
  },
};

const env = (rolloutOnChange?: boolean): Environment => ({
  apiVersion: 'cutover.dev/v1alpha1',
  kind: 'Environment',
  metadata: { name: 'production', namespace: 'prod' },
  spec: { tier: 'production', config: { configMapRef: { name: 'shop-config' }, rolloutOnChange } },
});

describe('configuration in the revision', () => {
  test('without rolloutOnChange a configuration change leaves the revision alone', () => {
    const a = resolveSpec(rel, env(), 'hash-a');
    const b = resolveSpec(rel, env(), 'hash-b');
    expect(a.revision).toBe(b.revision);
    expect(a.revision).toBe(revisionOf('shop', '2.0.0', rel.spec.template));
    expect(a.configHash).toBeUndefined();
  });

  test('with rolloutOnChange the hash is part of the revision, and going back restores it', () => {
    const a = resolveSpec(rel, env(true), 'hash-a');
    const b = resolveSpec(rel, env(true), 'hash-b');
    expect(a.revision).not.toBe(b.revision);
    expect(resolveSpec(rel, env(true), 'hash-a').revision).toBe(a.revision);
    expect(a.configHash).toBe('hash-a');
  });

  test('with rolloutOnChange but no readable configuration, the revision is the plain one', () => {
    expect(resolveSpec(rel, env(true), undefined).revision).toBe(resolveSpec(rel, env()).revision);
  });
});

describe('the slot pod template', () => {
  test('carries cutover.dev/config-hash when the configuration is rolled out, beside its own annotations', () => {
    const d = slotDeployment(rel, 'green', 2, 'rev', 'hash-a');
    expect(d.spec?.template.metadata?.annotations).toEqual({
      team: 'a',
      'cutover.dev/config-hash': 'hash-a',
    });
  });

  test('carries no such annotation otherwise', () => {
    const d = slotDeployment(rel, 'green', 2, 'rev');
    expect(d.spec?.template.metadata?.annotations).toEqual({ team: 'a' });
  });
});
