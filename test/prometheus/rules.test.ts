// The alert rules as promtool sees them: config/prometheus/rules.yaml's spec
// (the plain rule-file format inside the PrometheusRule) checked, and every
// test file in config/prometheus/tests run against it. Needs no cluster.
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { exportedMetrics, metricsIn, promtool, root } from './promtool.js';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}
interface AlertCheck {
  alertname: string;
  exp_alerts?: unknown[];
}
interface TestFile {
  tests: Array<{ alert_rule_test?: AlertCheck[] }>;
}

const testsDir = join(root, 'config/prometheus/tests');
const resource = parse(readFileSync(join(root, 'config/prometheus/rules.yaml'), 'utf8')) as {
  kind: string;
  spec: RuleFile;
};
const alerts = resource.spec.groups.flatMap((g) => g.rules.map((r) => ({ group: g.name, ...r })));
const testFiles = readdirSync(testsDir).filter((f) => f.endsWith('.yaml'));
const RUNBOOK = 'https://github.com/cutover/cutover/blob/main/docs/runbooks.md#';
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cutover-rules-'));
  // The test files name cutover-rules.yaml; they sit next to it, as promtool resolves rule_files relative to them.
  writeFileSync(join(dir, 'cutover-rules.yaml'), stringify(resource.spec));
  for (const f of testFiles) copyFileSync(join(testsDir, f), join(dir, f));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the PrometheusRule is well-formed for promtool', async () => {
  expect(resource.kind).toBe('PrometheusRule');
  const run = await promtool(['check', 'rules', 'cutover-rules.yaml'], dir);
  if (run.code !== 0) console.error(run.output);
  expect(run.code).toBe(0);
});

test('promtool unit tests pass', async () => {
  expect(testFiles.length).toBeGreaterThan(0);
  const run = await promtool(['test', 'rules', ...testFiles], dir);
  if (run.code !== 0) console.error(run.output);
  expect(run.code).toBe(0);
});

test('each alert is tested firing and not firing', () => {
  const checks = testFiles.flatMap((f) =>
    (parse(readFileSync(join(testsDir, f), 'utf8')) as TestFile).tests.flatMap(
      (t) => t.alert_rule_test ?? [],
    ),
  );
  const untested = alerts
    .filter((a) => a.alert !== undefined)
    .flatMap((a) => {
      const mine = checks.filter((c) => c.alertname === a.alert);
      const fires = mine.some((c) => (c.exp_alerts ?? []).length > 0);
      const quiet = mine.some((c) => (c.exp_alerts ?? []).length === 0);
      return fires && quiet
        ? []
        : [`${a.alert ?? ''}${fires ? '' : ' never fires'}${quiet ? '' : ' is never quiet'}`];
    });
  expect(untested).toEqual([]);
});

test('each alert has its group severity, a summary, a description and a runbook section', () => {
  const runbooks = readFileSync(join(root, 'docs/runbooks.md'), 'utf8');
  const anchors = new Set([...runbooks.matchAll(/^## (\S+)$/gm)].map((m) => (m[1] ?? '').toLowerCase()));
  const problems = alerts.flatMap((a) => {
    const out: string[] = [];
    const severity = a.group.replace(/^cutover\./, '');
    if (a.labels?.severity !== severity)
      out.push(`${a.alert ?? ''}: severity ${a.labels?.severity ?? '-'} in ${a.group}`);
    if (!a.annotations?.summary || !a.annotations.description)
      out.push(`${a.alert ?? ''}: summary or description`);
    const url = a.annotations?.runbook_url ?? '';
    if (!url.startsWith(RUNBOOK) || !anchors.has(url.slice(RUNBOOK.length)))
      out.push(`${a.alert ?? ''}: runbook_url ${url} has no section in docs/runbooks.md`);
    return out;
  });
  expect(['critical', 'warning', 'info'].map((s) => `cutover.${s}`)).toEqual(
    resource.spec.groups.map((g) => g.name),
  );
  expect(problems).toEqual([]);
});

test('the rules read only metrics the operator exports', () => {
  const exported = exportedMetrics();
  expect(exported.size).toBeGreaterThan(10);
  const unknown = alerts.flatMap((a) => metricsIn(a.expr).filter((m) => !exported.has(m)));
  expect(unknown).toEqual([]);
});
