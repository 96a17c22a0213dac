// The Grafana dashboard's queries parse (promtool checks them as recording
// rules) and read only metrics the operator exports. Needs no cluster.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { exportedMetrics, metricsIn, promtool, root } from './promtool.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: Array<{ refId: string; expr?: string }>;
}

const dashboard = JSON.parse(readFileSync(join(root, 'config/grafana/cutover-dashboard.json'), 'utf8')) as {
  panels: Panel[];
};
const panels = dashboard.panels.filter((p) => p.type !== 'row');
const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p, ...t })));
// Grafana's variables, replaced by what Grafana would put there.
const grafana = (expr: string) => expr.replaceAll('$__rate_interval', '5m');

test('every panel has queries', () => {
  expect(panels.length).toBeGreaterThan(10);
  const empty = panels.filter((p) => !(p.targets ?? []).some((t) => t.expr)).map((p) => p.title);
  expect(empty).toEqual([]);
});

test('every query parses', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cutover-dashboard-'));
  try {
    const rules = targets.map((t) => ({
      record: `dashboard:panel_${t.panel.id}_${t.refId}`,
      expr: grafana(t.expr ?? ''),
    }));
    writeFileSync(join(dir, 'dashboard.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
    const run = await promtool(['check', 'rules', 'dashboard.yaml'], dir);
    if (run.code !== 0) console.error(run.output);
    expect(run.code).toBe(0);
    expect(run.output).toContain(`${rules.length} rules found`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every query reads metrics the operator exports, and only those', () => {
  const exported = exportedMetrics();
  const unknown = targets.flatMap((t) =>
    metricsIn(t.expr ?? '')
      .filter((m) => !exported.has(m))
      .map((m) => `${t.panel.title}: ${m}`),
  );
  expect(unknown).toEqual([]);
  expect(targets.every((t) => metricsIn(t.expr ?? '').length > 0)).toBe(true);
});
