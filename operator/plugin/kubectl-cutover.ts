#!/usr/bin/env node
// kubectl finds this as the `cutover` plugin on PATH: `kubectl cutover status web`.
import { parse, USAGE } from './args.js';

const parsed = parse(process.argv.slice(2));
if (parsed.kind === 'help') {
  process.stdout.write(USAGE);
} else if (parsed.kind === 'usage') {
  process.stderr.write(`${parsed.error ? `Error: ${parsed.error}\n\n` : ''}${USAGE}`);
  process.exitCode = 2;
} else {
  // @kubernetes/client-node takes most of a second to load; help and usage
  // errors should not wait for it.
  const { execute } = await import('./commands.js');
  process.exitCode = await execute(parsed.invocation, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    isTTY: process.stdout.isTTY === true,
    now: () => new Date(),
  });
}
