import type { Release } from '../api/generated/index.js';
import { downMigrationJob, migrationJob, verifyJob } from './objects.js';

function rel(over: Partial<Release['spec']> = {}): Release {
  return {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: { name: 'shop', namespace: 'prod', uid: 'u1' },
    spec: {
      environmentRef: { name: 'production' },
      application: 'shop',
      version: '2.0.0',
      template: { spec: { containers: [{ name: 'app', image: 'shop:2' }] } },
      migrations: {
        databaseSecretRef: { name: 'shop-db', key: 'url' },
        expand: { configMapRef: { name: 'shop-expand' }, timeout: '2m' },
      },
      ...over,
    },
  };
}

const container = (j: ReturnType<typeof migrationJob>) => j.spec?.template.spec?.containers[0];

describe('the Jobs a Release runs', () => {
  test('the expand records its run, so a rollback can undo exactly what it applied', () => {
    const j = migrationJob(rel(), 'expand', 'shop-expand-abc', 'abc123', 'abc123-tp7ig0', 'cutover:1');
    expect(container(j)?.command).toEqual([
      'cutover',
      'migrate',
      '--dir',
      '/migrations',
      '--phase',
      'expand',
      '--revision',
      'abc123-tp7ig0',
    ]);
    expect(j.spec?.template.spec?.volumes).toEqual([
      { name: 'migrations', configMap: { name: 'shop-expand' } },
    ]);
    expect(j.spec?.activeDeadlineSeconds).toBe(120);
  });

  test('the down Job mounts the expand files and undoes one run, with contract rules', () => {
    const j = downMigrationJob(rel(), 'shop-down-abc', 'abc123', 'abc123-tp7ig0', 'cutover:1');
    expect(container(j)?.command).toEqual([
      'cutover',
      'migrate',
      '--dir',
      '/migrations',
      '--phase',
      'contract',
      '--down-revision',
      'abc123-tp7ig0',
    ]);
    expect(j.metadata?.labels).toMatchObject({ 'cutover.dev/job': 'down', 'cutover.dev/revision': 'abc123' });
    expect(j.spec?.template.metadata?.labels).toMatchObject({ 'cutover.dev/job': 'down' });
    expect(j.spec?.template.spec?.volumes).toHaveLength(1);
    // The database URL only by reference.
    expect(container(j)?.env).toEqual([
      { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'shop-db', key: 'url' } } },
    ]);
  });

  test('an image-based expand has no down Job', () => {
    const r = rel({
      migrations: { databaseSecretRef: { name: 'shop-db', key: 'url' }, expand: { image: 'flyway:10' } },
    });
    expect(() => downMigrationJob(r, 'x', 'abc123', 'abc123-tp7ig0')).toThrow('expand.configMapRef');
  });

  test('verification gets the preview URL and runs under restricted Pod Security', () => {
    const r = rel({ verify: { image: 'smoke:1', command: ['/smoke'] }, service: { port: 8080 } });
    const j = verifyJob(r, 'shop-verify-abc', 'abc123', 'green');
    const c = container(j);
    expect(c?.env).toEqual(
      expect.arrayContaining([
        { name: 'CUTOVER_PREVIEW_URL', value: 'http://shop-preview.prod.svc:8080' },
        { name: 'CUTOVER_SLOT', value: 'green' },
        { name: 'CUTOVER_VERSION', value: '2.0.0' },
      ]),
    );
    expect(c?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    expect(j.spec?.template.spec?.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(j.metadata?.labels?.['cutover.dev/migration']).toBeUndefined();
    expect(j.spec?.activeDeadlineSeconds).toBe(300);
  });
});
