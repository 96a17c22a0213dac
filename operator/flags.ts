// The flags of `cutover operator`, apart from cli.ts so that tests can hold
// what the Helm chart and config/manager pass against what the operator
// accepts, without starting one.
import type { ParseArgsOptionsConfig } from 'node:util';

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
