// The Helm chart reads what crds/ and config/ already say instead of saying it
// a second time: its crds/ and files/ hold copies that nobody edits.
// operator/api/generate.ts writes them (`npm run generate`) and, with
// `--check` (make verify), fails when a copy is stale, missing or left over.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const CHART_DIR = 'charts/cutover';

/** Directories of the chart that hold nothing but copies. */
export const CHART_COPY_DIRS = [`${CHART_DIR}/crds`, `${CHART_DIR}/files`];

/** Sources under config/ that the chart's templates read with .Files.Get, by their name in files/. */
const CONFIG_SOURCES: Record<string, string> = {
  'role.yaml': 'config/rbac/role.yaml',
  'leader_election_role.yaml': 'config/rbac/leader_election_role.yaml',
  'namespaced_role.yaml': 'config/rbac-namespaced/role.yaml',
  'namespaced_role_binding.yaml': 'config/rbac-namespaced/role_binding.yaml',
  'namespace_selector.yaml': 'config/rbac-namespaced/namespace_selector.yaml',
  'monitor.yaml': 'config/prometheus/monitor.yaml',
  'rules.yaml': 'config/prometheus/rules.yaml',
  'approvals.yaml': 'config/admission/approvals.yaml',
  'approver_role.yaml': 'config/admission/approver_role.yaml',
  'cutover-dashboard.json': 'config/grafana/cutover-dashboard.json',
};

/**
 * Every copy the chart needs, by its path from the repository root. `crds`
 * is the generated crds/ (path → text), so the copies never wait for it to
 * reach the disk.
 */
export function chartCopies(crds: ReadonlyMap<string, string>): Map<string, string> {
  const copies = new Map<string, string>();
  // Byte for byte: the chart installs the very CRDs the tests and kustomize install.
  for (const [path, text] of crds) {
    if (/^crds\/[^/]+\.cutover\.dev\.yaml$/.test(path)) copies.set(`${CHART_DIR}/${path}`, text);
  }
  for (const [name, source] of Object.entries(CONFIG_SOURCES)) {
    const text = readFileSync(join(root, source), 'utf8');
    // JSON has no comments; the YAML copies say where they come from.
    const header = name.endsWith('.yaml')
      ? `# copied from ${source} by test/install/chart-files.ts; edit that file\n`
      : '';
    copies.set(`${CHART_DIR}/files/${name}`, header + text);
  }
  return copies;
}
