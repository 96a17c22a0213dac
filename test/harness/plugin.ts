// kubectl-cutover as kubectl starts it: a separate process that reads
// KUBECONFIG, here the local cluster's unless a test passes its own.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { kubeconfigPath } from './kube.js';

const root = resolve(import.meta.dirname, '../..');
const tsx = join(root, 'node_modules/.bin/tsx');
const entry = join(root, 'operator/plugin/kubectl-cutover.ts');

export interface PluginRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runPlugin(args: string[], env: NodeJS.ProcessEnv = {}): Promise<PluginRun> {
  return new Promise((done) => {
    execFile(
      tsx,
      [entry, ...args],
      { cwd: root, env: { ...process.env, KUBECONFIG: kubeconfigPath(), ...env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}
