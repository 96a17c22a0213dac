// The Argo CD health scripts and kstatus over every status fixture: real
// objects health.test.ts captured on the cluster, each with the health both
// readers must give it. No cluster needed: lua5.4 and the kstatus checker.
// A few cases the cluster run does not reach are derived from those objects
// by the one change that makes the case, so the rest of each stays real.
import { readFileSync } from 'node:fs';
import { argoHealth, buildKstatus, kstatus, luaLiteral, type ArgoHealth } from '../harness/gitops.js';
import { PATCH_PATH, renderArgocdCmPatch } from './argocd-cm.js';
import { readFixtures, type StatusFixture } from './fixtures.js';

const fixtures = readFixtures();

beforeAll(async () => {
  await buildKstatus();
}, 300_000);

test('there is a fixture for every kind and every health the scripts give', () => {
  const seen = new Set(fixtures.map(({ fixture }) => `${fixture.object.kind}:${fixture.argo}`));
  expect([...seen].sort()).toEqual(
    expect.arrayContaining([
      'BackupPolicy:Degraded',
      'BackupPolicy:Suspended',
      'Environment:Degraded',
      'Environment:Healthy',
      'Release:Degraded',
      'Release:Healthy',
      'Release:Progressing',
      'Release:Suspended',
      'RollbackPolicy:Degraded',
      'RollbackPolicy:Healthy',
    ]),
  );
});

test.each(fixtures.map(({ name, fixture }) => [name, fixture] as const))(
  '%s: Argo CD and kstatus give the recorded health',
  async (name, fixture) => {
    const [k] = await kstatus([fixture.object]);
    const a = await argoHealth(fixture.object);
    expect({ name, kstatus: k?.status, argo: a.status }).toEqual({
      name,
      kstatus: fixture.kstatus,
      argo: fixture.argo,
    });
    // Argo CD shows the message beside the status: it must say something.
    expect(a.message.length).toBeGreaterThan(0);
  },
);

function fixture(name: string): StatusFixture['object'] {
  const f = fixtures.find((x) => x.name === name);
  if (!f) throw new Error(`no fixture ${name}`);
  return structuredClone(f.fixture.object);
}

type Mutable = {
  metadata: { generation: number };
  spec: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    conditions?: Array<{ type: string; [field: string]: string }>;
  };
};
const edit = (name: string, change: (o: Mutable) => void) => {
  const o = fixture(name);
  change(o as unknown as Mutable);
  return o;
};
/** Sets condition `type` to False with `reason`, in place of any the object has. */
const failing = (o: Mutable, type: string, reason: string) => {
  const rest = (o.status?.conditions ?? []).filter((c) => c.type !== type);
  const c = { type, status: 'False', reason, message: `${reason} in a derived fixture` };
  o.status = { ...o.status, conditions: [...rest, { ...c, lastTransitionTime: '2026-01-01T00:00:00Z' }] };
};

const derived: Array<[string, StatusFixture['object'], ArgoHealth]> = [
  [
    'a Release the operator has not seen yet',
    edit('release-succeeded', (o) => delete o.status),
    'Progressing',
  ],
  [
    'a Failed Release whose spec changed since',
    edit('release-failed', (o) => (o.metadata.generation += 1)),
    'Progressing',
  ],
  ['a paused Release that Succeeded', edit('release-succeeded', (o) => (o.spec.paused = true)), 'Healthy'],
  [
    'a BackupPolicy whose last backup failed',
    edit('backuppolicy-suspended', (o) => {
      o.spec.suspend = false;
      failing(o, 'LastBackupSucceeded', 'BackupFailed');
    }),
    'Degraded',
  ],
  [
    'a suspended BackupPolicy, WAL not streaming because of it',
    edit('backuppolicy-suspended', (o) => failing(o, 'WalStreaming', 'Suspended')),
    'Suspended',
  ],
  [
    'an Environment whose configuration rules fail',
    edit('environment-ready', (o) => failing(o, 'ConfigValid', 'RulesFailed')),
    'Degraded',
  ],
];

test.each(derived.map(([about, obj, want]) => [about, want, obj] as const))(
  'derived: %s is %s for Argo CD',
  async (_about, want, obj) => {
    expect((await argoHealth(obj)).status).toBe(want);
  },
);

test('argocd-cm-patch.yaml is generated from the .lua files (npm run generate)', () => {
  expect(readFileSync(PATCH_PATH, 'utf8')).toBe(renderArgocdCmPatch());
});

test('a message with quotes, backslashes, newlines and UTF-8 reaches Lua unchanged', async () => {
  const message = 'a "quoted" \\ back\nslash ]] é ✓';
  const obj = fixture('release-failed') as unknown as Mutable & { status: { conditions: Array<object> } };
  obj.status.conditions = [{ type: 'Stalled', status: 'True', reason: 'Odd', message }];
  const got = await argoHealth(obj as unknown as StatusFixture['object']);
  expect(got.message).toBe(`Failed (Odd: ${message})`);
  expect(luaLiteral(null)).toBe('nil');
});
