// promtool (Debian's prometheus package, installed by `make prometheus`) and
// the metric names the operator really exports, read from its sources so a
// rule or a panel cannot name a metric that does not exist.
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '../..');
export const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';

export interface PromtoolRun {
  code: number;
  output: string;
}

/** Runs promtool; a non-zero exit is returned, not thrown, so the test can print the output. */
export function promtool(args: readonly string[], cwd: string): Promise<PromtoolRun> {
  return new Promise((done) => {
    execFile(PROMTOOL, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, output: `${stdout}${stderr}${err && typeof err.code !== 'number' ? err.message : ''}` });
    });
  });
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Every `name: 'cutover_…'` a prom-client metric is declared with under operator/. */
export function exportedMetrics(): Set<string> {
  const names = new Set<string>();
  for (const file of sources(join(root, 'operator'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/name: '(cutover_[a-z0-9_]+)'/g))
      if (m[1]) names.add(m[1]);
  }
  return names;
}

/** The cutover_ metrics a PromQL expression reads, histogram series folded into their metric. */
export function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\bcutover_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));
}
