// The flags of `cutover operator`, apart from cli.ts so that tests can hold
// what the Helm chart and config/manager pass against what the operator
// accepts, without starting one.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { auditConfig } from './audit/index.js';
import { parsePrometheusAddress } from './rollback/address.js';
import { parseWatchScope } from './runtime/scope.js';
import { UsageError } from './usage.js';

/** parseArgs options of `cutover operator`; defaults that come from the environment read `env`. */
export function operatorOptions(env: NodeJS.ProcessEnv = process.env) {
  return {
    kubeconfig: { type: 'string' },
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '0.0.0.0' },
    workers: { type: 'string', default: '16' },
    'leader-elect': { type: 'string', default: 'true' },
    'lease-namespace': { type: 'string', default: env.POD_NAMESPACE ?? 'cutover-system' },
    'lease-name': { type: 'string', default: 'cutover-leader' },
    identity: { type: 'string' },
    'migrate-image': { type: 'string', default: env.CUTOVER_IMAGE },
    'clock-start': { type: 'string' },
    namespaces: { type: 'string' },
    'namespace-selector': { type: 'string' },
    'audit-database-url': { type: 'string', default: env.CUTOVER_AUDIT_DATABASE_URL },
    'audit-retention-days': { type: 'string' },
    'audit-buffer-size': { type: 'string' },
    'prometheus-address': { type: 'string', default: env.CUTOVER_PROMETHEUS_ADDRESS },
  } as const satisfies ParseArgsOptionsConfig;
}

export type OperatorConfig = ReturnType<typeof operatorConfig>;

/**
 * Every check `cutover operator` makes on its flags before anything starts:
 * a typo must not become an operator that watches nothing. A refused value
 * throws UsageError naming the flag; an unknown flag, parseArgs' own error.
 */
export function operatorConfig(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const { values } = parseArgs({ args, options: operatorOptions(env), strict: true });
  return {
    values,
    scope: parseWatchScope({
      namespaces: values.namespaces,
      namespaceSelector: values['namespace-selector'],
    }),
    prometheusAddress: parsePrometheusAddress(values['prometheus-address']),
    audit: auditConfig({
      databaseUrl: values['audit-database-url'],
      retentionDays: values['audit-retention-days'],
      bufferSize: values['audit-buffer-size'],
    }),
    now: clockFrom(values['clock-start']),
  };
}

/** The plans' clock: the system's, or one that starts at `start` and runs at real speed. */
function clockFrom(start: string | undefined): (() => Date) | undefined {
  if (start === undefined) return undefined;
  const at = Date.parse(start);
  if (Number.isNaN(at)) throw new UsageError(`--clock-start: "${start}" is not an ISO 8601 time`);
  const offset = at - Date.now();
  return () => new Date(Date.now() + offset);
}
