// Runs test/harness/executor.ts until SIGTERM or SIGINT, for `make demo` and
// for trying the operator by hand against the local cluster:
//   node --import tsx test/harness/executor-cli.ts [--kubeconfig PATH] [--source] [--namespace NS]...
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startExecutor } from './executor.js';

const root = resolve(import.meta.dirname, '../..');

const usage = `usage: executor-cli [--kubeconfig PATH] [--namespace NS]... [--source] [--quiet]
  Runs the commands of pods labelled cutover.dev/job on this machine.
  --source     run operator/cli.ts through tsx instead of the built dist/operator/cli.js
  --quiet      do not echo the commands' output`;

function fail(message: string): never {
  console.error(`executor: ${message}\n${usage}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string', multiple: true },
      source: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}

const log = (line: string): void => console.error(`${new Date().toISOString()} executor: ${line}`);
const executor = await startExecutor({
  ...(values.kubeconfig ? { kubeconfig: resolve(values.kubeconfig) } : {}),
  ...(values.namespace ? { namespaces: values.namespace } : {}),
  ...(values.source
    ? {
        cliCommand: [
          process.execPath,
          resolve(root, 'node_modules/tsx/dist/cli.mjs'),
          resolve(root, 'operator/cli.ts'),
        ],
      }
    : {}),
  echoOutput: !values.quiet,
  log,
}).catch((err: unknown) => fail(`cannot watch pods: ${err instanceof Error ? err.message : String(err)}`));
log(`watching pods labelled cutover.dev/job${values.namespace ? ` in ${values.namespace.join(', ')}` : ''}`);

let stopping = false;
const shutdown = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  executor.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      log(`stop failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
