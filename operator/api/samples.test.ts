import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './codegen.js';

interface Manifest {
  file: string;
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; annotations?: Record<string, unknown> };
  spec?: unknown;
}

const KINDS = ['Release', 'Environment', 'BackupPolicy', 'RollbackPolicy'];

function load(dir: string): Manifest[] {
  return readdirSync(join(REPO_ROOT, dir))
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .sort()
    .flatMap((file) => {
      const docs = parseAllDocuments(readFileSync(join(REPO_ROOT, dir, file), 'utf8'));
      return docs.map((d) => {
        if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
        return { file, ...(d.toJS() as Omit<Manifest, 'file'>) };
      });
    });
}

describe('config/samples', () => {
  const samples = load('config/samples');

  test('hold exactly one object of each kind, named as in ARCHITECTURE.md', () => {
    expect(samples.map((s) => [s.kind, s.metadata?.name]).sort()).toEqual(
      [
        ['BackupPolicy', 'nightly'],
        ['Environment', 'production'],
        ['Release', 'shop'],
        ['RollbackPolicy', 'standard'],
      ].sort(),
    );
    for (const s of samples) expect(s.apiVersion).toBe('cutover.dev/v1alpha1');
  });

  test('are all listed in the kustomization', () => {
    const kustomization = readFileSync(join(REPO_ROOT, 'config/samples/kustomization.yaml'), 'utf8');
    for (const s of samples) expect(kustomization).toContain(s.file);
  });
});

describe('test/fixtures/valid', () => {
  const fixtures = load('test/fixtures/valid');

  test.each(fixtures.map((f) => [f.file, f] as const))('%s is one object of a Cutover kind', (file, f) => {
    expect(f.apiVersion).toBe('cutover.dev/v1alpha1');
    expect(KINDS).toContain(f.kind);
    expect(`${String(f.metadata?.name)}.yaml`).toBe(file);
  });
});

describe('test/fixtures/invalid', () => {
  const fixtures = load('test/fixtures/invalid');

  test('has at least 36 objects, at least 6 of each kind', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(36);
    for (const kind of KINDS)
      expect(fixtures.filter((f) => f.kind === kind).length).toBeGreaterThanOrEqual(6);
  });

  test.each(fixtures.map((f) => [f.file, f] as const))(
    '%s is one object of a Cutover kind with an expectation',
    (file, f) => {
      expect(f.apiVersion).toBe('cutover.dev/v1alpha1');
      expect(KINDS).toContain(f.kind);
      expect(`${String(f.metadata?.name)}.yaml`).toBe(file);
      expect(f.spec).toBeInstanceOf(Object);
      const expectation = f.metadata?.annotations?.['cutover.dev/test-expect'];
      expect(typeof expectation).toBe('string');
      expect(String(expectation)).toMatch(/spec\./);
    },
  );

  test('every fixture has a distinct name', () => {
    const names = fixtures.map((f) => f.metadata?.name);
    expect(new Set(names).size).toBe(names.length);
  });
});
