// The Helm chart reads what crds/ and config/ already say instead of saying it
// a second time: its crds/ and files/ hold copies that nobody edits.
// `tsx test/install/chart-files.ts` rewrites them (`npm run generate` does too);
// `--check` (make verify) fails when a copy is stale, missing or left over.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
export const CHART_DIR = join(root, 'charts/cutover');

/** Directories of the chart that hold nothing but copies. */
const COPY_DIRS = ['crds', 'files'];

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

/** Every copy the chart needs: its path inside the chart and its exact content. */
export function chartCopies(): Map<string, string> {
  const copies = new Map<string, string>();
  // Byte for byte: the chart installs the very CRDs the tests and kustomize install.
  for (const file of readdirSync(join(root, 'crds'))
    .filter((f) => f.endsWith('.cutover.dev.yaml'))
    .sort()) {
    copies.set(`crds/${file}`, readFileSync(join(root, 'crds', file), 'utf8'));
  }
  for (const [name, source] of Object.entries(CONFIG_SOURCES)) {
    const text = readFileSync(join(root, source), 'utf8');
    // JSON has no comments; the YAML copies say where they come from.
    const header = name.endsWith('.yaml')
      ? `# copied from ${source} by test/install/chart-files.ts; edit that file\n`
      : '';
    copies.set(`files/${name}`, header + text);
  }
  return copies;
}

function existing(): string[] {
  return COPY_DIRS.flatMap((dir) =>
    existsSync(join(CHART_DIR, dir)) ? readdirSync(join(CHART_DIR, dir)).map((f) => `${dir}/${f}`) : [],
  );
}

/** Paths (inside the chart) whose content differs from what chartCopies() says, or that should not be there. */
export function staleCopies(): string[] {
  const want = chartCopies();
  const stale = [...want]
    .filter(([path, text]) => {
      const file = join(CHART_DIR, path);
      return !existsSync(file) || readFileSync(file, 'utf8') !== text;
    })
    .map(([path]) => path);
  return [...stale, ...existing().filter((path) => !want.has(path))].sort();
}

function write(): void {
  const want = chartCopies();
  for (const path of existing().filter((p) => !want.has(p))) rmSync(join(CHART_DIR, path));
  for (const dir of COPY_DIRS) mkdirSync(join(CHART_DIR, dir), { recursive: true });
  for (const [path, text] of want) writeFileSync(join(CHART_DIR, path), text);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  if (process.argv.includes('--check')) {
    const stale = staleCopies();
    if (stale.length > 0) {
      console.error(
        `charts/cutover is out of step with crds/ and config/ (${stale.join(', ')}): run \`tsx test/install/chart-files.ts\``,
      );
      process.exit(1);
    }
  } else {
    write();
  }
}
