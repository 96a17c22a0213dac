#!/usr/bin/env -S node --max-semi-space-size=2
// The one binary: `cutover operator` runs the controller; migrate, backup,
// restore and verify run inside Jobs or by hand.
import { setFlagsFromString } from 'node:v8';
import type { OperatorConfig } from './flags.js';
import { UsageError } from './usage.js';
import { VERSION } from './version.js';

const usage = `usage: cutover <command> [flags]

commands:
  operator   run the controller
             --kubeconfig PATH        (default: $KUBECONFIG, in-cluster, ~/.kube/config)
             --port N                 /metrics, /healthz, /readyz (default 8080)
             --workers N              reconciles in flight per kind (default 16)
             --leader-elect BOOL      (default true)
             --lease-namespace NS     (default $POD_NAMESPACE or cutover-system)
             --lease-name NAME        (default cutover-leader)
             --identity ID            (default $POD_NAME or the hostname)
             --migrate-image IMAGE    image of migration Jobs (default $CUTOVER_IMAGE or the release image)
             --namespaces A,B         watch and write only these namespaces (default: every namespace)
             --namespace-selector SEL watch and write only namespaces whose labels match SEL,
                                      e.g. cutover.dev/tenant-group=blue (not with --namespaces)
             --clock-start TIME       demos and tests only: the rollout clock (gates, windows, soak,
                                      steps) starts at this ISO 8601 instant and runs at real speed
             --audit-database-url URL audit records also go to this PostgreSQL database (default
                                      $CUTOVER_AUDIT_DATABASE_URL; prefer the env var, from a Secret)
             --audit-retention-days N drop audit partitions older than N days (default 365), or than
                                      the longest retention of the installations sharing the database
             --audit-buffer-size N    audit records kept in memory while the database is
                                      unreachable; beyond it the oldest are dropped (default 10000)
             --prometheus-address URL Prometheus of RollbackPolicies without spec.prometheus.address
                                      (default $CUTOVER_PROMETHEUS_ADDRESS; none when unset)
  migrate    apply SQL migrations from a directory to $DATABASE_URL
             (cutover migrate --help for its flags)
  backup     full: a base backup of $DATABASE_URL into file:///path (cutover backup --help)
             dump: a logical dump (pg_dump -Fc); prune: retention, dry run unless --apply
             replicate: copy backups to a second region (cutover backup replicate --help)
             wal: continuous WAL until stopped (cutover backup wal --help)
  restore    a full backup into a new data directory (cutover restore --help),
             to a point in time with --to-time, --to-lsn or --latest,
             or a dump into a database (--target-url, or --target-url-env NAME)
  verify     the restore drill: newest full + WAL into a scratch server (cutover verify --help)
  version    print the version (also --version)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'operator': {
      // Loaded on demand, like operator.js below: its checks bring the audit trail's PostgreSQL client.
      const { operatorConfig } = await import('./flags.js');
      let config: OperatorConfig;
      try {
        config = operatorConfig(rest);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        process.stderr.write(`cutover operator: ${err.message}\n`);
        return 2;
      }
      const { values, ...checked } = config;
      // V8 grows the heap for throughput: a burst of a thousand new Releases left
      // the old generation at ~100 MiB for a live set of ~30 MiB, and RSS never
      // came back down. With optimize-for-size the heap grows conservatively
      // (settled RSS 107 MiB instead of 190 at 1,000 Releases, for ~20 % more
      // operator CPU during the burst; docs/runtime.md). NODE_OPTIONS does not
      // accept this flag, and the heap reads it at each GC, so setting it here
      // covers every way the operator is started.
      setFlagsFromString('--optimize-for-size');
      // Loaded on demand: a migration Job should not pay for the Kubernetes client's start-up.
      const { runOperator } = await import('./operator.js');
      return runOperator({
        kubeconfig: values.kubeconfig,
        port: Number(values.port),
        host: values.host,
        workers: Number(values.workers),
        leaderElect: values['leader-elect'] !== 'false',
        leaseNamespace: values['lease-namespace'],
        leaseName: values['lease-name'],
        identity: values.identity,
        migrateImage: values['migrate-image'],
        ...checked,
      });
    }
    case 'migrate': {
      const { runMigrateCommand } = await import('./db/command.js');
      return runMigrateCommand(rest);
    }
    case 'backup': {
      const { runBackupCommand } = await import('./backup/command.js');
      return runBackupCommand(rest);
    }
    case 'restore': {
      const { runRestoreCommand } = await import('./backup/command.js');
      return runRestoreCommand(rest);
    }
    case 'verify': {
      const { runVerifyCommand } = await import('./backup/verify.js');
      return runVerifyCommand(rest);
    }
    case 'version':
    case '--version':
      process.stdout.write(`cutover ${VERSION}\n`);
      return 0;
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(usage);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`cutover: unknown command '${command}'\n${usage}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`cutover: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
