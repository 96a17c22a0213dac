// Every flag the Helm chart or config/manager can give `cutover operator` is
// one the operator accepts, with a value it accepts. The rendered args go
// through operatorConfig (operator/flags.ts), every check cli.ts makes before
// it starts anything. Starting the real binary would start an operator: this
// is the same function without the start.
// Needs helm, not the cluster.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { operatorConfig, operatorOptions } from '../../operator/flags.js';
import { AUDIT_VALUES, CHART, kustomizeDefault, operatorContainer, renderChart } from './tools.js';

/** Releases whose values change the operator's args: together they render every flag of the template. */
const VARIANTS: Record<string, { release?: string; values: Record<string, unknown> }> = {
  default: { values: {} },
  // Any name but cutover gets a lease of its own.
  releaseName: { release: 'cutover-blue', values: {} },
  watchNamespaces: { values: { watchNamespaces: ['shop-staging', 'shop-production'] } },
  namespaceSelector: { values: { namespaceSelector: 'cutover.dev/tenant=blue' } },
  leaseNamespace: { values: { leaderElection: { leaseNamespace: 'cutover-leases' } } },
  leaderElectionOff: { values: { leaderElection: { enabled: false }, replicas: 1 } },
  audit: { values: { audit: AUDIT_VALUES } },
};

/** What `cutover operator` does with its args before it starts: throws where it would refuse them. */
function parsedByOperator(args: string[]) {
  const [command, ...flags] = args;
  expect(command).toBe('operator');
  // An empty environment: only the args decide, not defaults read from env vars.
  return operatorConfig(flags, {}).values;
}

function flagName(arg: string): string {
  return arg.replace(/^--/, '').split('=')[0] ?? '';
}

const rendered = new Map<string, string[]>();

beforeAll(async () => {
  for (const [variant, { release, values }] of Object.entries(VARIANTS)) {
    const { objects } = await renderChart(release ?? 'cutover', 'cutover-system', values);
    rendered.set(variant, operatorContainer(objects).args);
  }
});

test('every flag in the chart’s Deployment template is rendered by one of the variants', () => {
  const template = readFileSync(resolve(CHART, 'templates/deployment.yaml'), 'utf8');
  const inTemplate = new Set([...template.matchAll(/^\s*- --([a-z][a-z-]*)=/gm)].map((m) => m[1]));
  expect(inTemplate.size).toBeGreaterThan(0);
  const seen = new Set([...rendered.values()].flatMap((args) => args.slice(1).map(flagName)));
  expect([...inTemplate].filter((flag) => !seen.has(flag ?? ''))).toEqual([]);
});

test.each(Object.keys(VARIANTS))('the %s render’s args are accepted by cutover operator', (variant) => {
  const args = rendered.get(variant) ?? [];
  const known = Object.keys(operatorOptions({}));
  expect(
    args
      .slice(1)
      .map(flagName)
      .filter((flag) => !known.includes(flag)),
  ).toEqual([]);
  expect(() => parsedByOperator(args)).not.toThrow();
});

test('the operator reads the rendered values as the chart meant them', () => {
  expect(parsedByOperator(rendered.get('watchNamespaces') ?? []).namespaces).toBe(
    'shop-staging,shop-production',
  );
  expect(parsedByOperator(rendered.get('namespaceSelector') ?? [])['namespace-selector']).toBe(
    'cutover.dev/tenant=blue',
  );
  expect(parsedByOperator(rendered.get('releaseName') ?? [])['lease-name']).toBe('cutover-blue-leader');
  expect(parsedByOperator(rendered.get('leaseNamespace') ?? [])['lease-namespace']).toBe('cutover-leases');
  expect(parsedByOperator(rendered.get('leaderElectionOff') ?? [])['leader-elect']).toBe('false');
  const audit = parsedByOperator(rendered.get('audit') ?? []);
  expect([audit['audit-retention-days'], audit['audit-buffer-size'], audit['audit-database-url']]).toEqual([
    '730',
    '50000',
    undefined,
  ]);
});

test('config/manager’s args are accepted by cutover operator', async () => {
  const args = operatorContainer((await kustomizeDefault()).objects).args;
  expect(parsedByOperator(args)['lease-namespace']).toBe('cutover-system');
});

test('the check refuses what the operator refuses', () => {
  expect(() => parsedByOperator(['operator', '--audit-retention=30'])).toThrow(/Unknown option/);
  expect(() => parsedByOperator(['operator', '--audit-retention-days=0'])).toThrow(/audit-retention-days/);
  expect(() => parsedByOperator(['operator', '--namespaces=a', '--namespace-selector=x=y'])).toThrow();
  expect(() => parsedByOperator(['operator', '--prometheus-address=prom:9090'])).toThrow(
    /prometheus-address/,
  );
  expect(() => parsedByOperator(['operator', '--clock-start=soon'])).toThrow(/clock-start/);
});
