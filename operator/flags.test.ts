import { operatorConfig } from './flags.js';
import { UsageError } from './usage.js';

const parse = (args: string[], env: NodeJS.ProcessEnv = {}) => operatorConfig(args, env).values;

test('defaults that come from the environment read the env it is given', () => {
  const env = {
    POD_NAMESPACE: 'tenant-blue',
    CUTOVER_IMAGE: 'registry.example/cutover:1.2.3',
    CUTOVER_AUDIT_DATABASE_URL: 'postgres://db.example/audit',
  };
  expect(parse([], env)).toMatchObject({
    'lease-namespace': 'tenant-blue',
    'migrate-image': 'registry.example/cutover:1.2.3',
    'audit-database-url': 'postgres://db.example/audit',
  });
  const bare = parse([]);
  expect(bare['lease-namespace']).toBe('cutover-system');
  expect(bare['migrate-image']).toBeUndefined();
  expect(bare['audit-database-url']).toBeUndefined();
});

test('a flag wins over its environment default', () => {
  expect(parse(['--lease-namespace=ops'], { POD_NAMESPACE: 'tenant-blue' })['lease-namespace']).toBe('ops');
});

test('a misspelt flag is refused, not ignored', () => {
  expect(() => parse(['--audit-retention=30'])).toThrow(/Unknown option '--audit-retention'/);
  expect(() => parse(['--namespaces'])).toThrow(/argument missing/);
});

test.each([
  '--namespaces=Shop',
  '--prometheus-address=prom:9090',
  '--audit-retention-days=0',
  '--clock-start=soon',
])('%s is a usage error naming its flag', (arg) => {
  expect(() => operatorConfig([arg], {})).toThrow(UsageError);
  expect(() => operatorConfig([arg], {})).toThrow(`${arg.split('=')[0]}: `);
});
