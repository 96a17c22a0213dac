// Text views of a Release for the kubectl plugin. Everything that varies
// between runs (the clock, whether to colour, the Environment's defaults)
// comes in as an argument, so tests can pin exact strings.
import type {
  Condition,
  MigrationStatus,
  PromotionWindow,
  Release,
  ReleasePhase,
  RolloutRecord,
} from '../api/generated/index.js';
import { resolveTraffic, type TrafficDefaults } from '../api/defaults.js';
import { formatDuration, parseDuration as parseStrictDuration } from '../runtime/duration.js';
import { describeClosing, openingText, windowState } from '../environment/window.js';

export { formatDuration };

export interface RenderOptions {
  color: boolean;
  now: Date;
  /** The Environment's spec.defaults.traffic, for whatever spec.traffic leaves unset. */
  defaults?: TrafficDefaults;
  /** The Environment's promotion.windows; no Window line when absent or empty. */
  windows?: readonly PromotionWindow[];
}

export type Tone = 'ok' | 'bad' | 'warn' | 'info';

export interface StepProgress {
  steps: readonly number[];
  /** Percentage of traffic on the new version. */
  weight: number;
  /** Index into steps of the step being held; undefined before the first step. */
  currentStep?: number;
  /** The rollout ended early: the step is where it stopped, not where it is. */
  stopped?: boolean;
  tone?: Tone;
}

const TERMINAL_PHASES: readonly ReleasePhase[] = ['Succeeded', 'Failed', 'RolledBack'];

/** Succeeded, Failed and RolledBack: no rollout in progress that a request could act on. */
export function isTerminal(phase: ReleasePhase | undefined): boolean {
  return phase !== undefined && TERMINAL_PHASES.includes(phase);
}

// 20 cells make each cell 5 %, so the usual steps (10, 25, 50, 100) land on
// whole cells and the bar never rounds a step up or down.
const BAR_WIDTH = 20;
const LABEL_WIDTH = 13;

export function renderStepBar(progress: StepProgress, opts: { color: boolean; width?: number }): string {
  const p = palette(opts.color);
  const width = opts.width ?? BAR_WIDTH;
  const weight = Math.min(100, Math.max(0, progress.weight));
  const filled = Math.round((weight / 100) * width);
  const tone = TONE[progress.tone ?? 'info'];
  const bar = `[${p(tone, '■'.repeat(filled))}${p('dim', '□'.repeat(width - filled))}]`;

  const { steps, currentStep } = progress;
  const at = currentStep !== undefined && currentStep >= 0 && currentStep < steps.length ? currentStep : -1;
  const where =
    at < 0
      ? progress.stopped
        ? 'stopped before step 1'
        : 'not started'
      : `${progress.stopped ? 'stopped at ' : ''}step ${at + 1}/${steps.length}`;
  const list = steps.map((s, i) => (i === at ? p(['bold', tone], String(s)) : String(s))).join(' → ');
  return `${bar} ${weight}%  ${where} (${list})`;
}

export function renderStatus(release: Release, opts: RenderOptions): string {
  const p = palette(opts.color);
  const { spec } = release;
  const status = release.status ?? {};
  const phase = status.phase;
  const rows: [string, string][] = [];

  rows.push([
    'Release',
    `${release.metadata?.name ?? '?'} (namespace ${release.metadata?.namespace ?? '?'})`,
  ]);
  rows.push(['Application', spec.application]);
  rows.push(['Environment', spec.environmentRef.name]);
  const window = windowLine(opts.windows ?? [], p, opts.now);
  if (window !== undefined) rows.push(['Window', window]);
  rows.push(['Version', `${spec.version} ${p('dim', stableNote(spec.version, status.stableVersion))}`]);
  rows.push([
    'Phase',
    phase === undefined
      ? p('yellow', 'no status yet (is the operator running?)')
      : `${p(['bold', TONE[phaseTone(phase)]], phase)}${spec.paused ? p('yellow', ' (paused)') : ''}`,
  ]);
  rows.push(['Active slot', status.activeSlot ?? '-']);

  const traffic = resolveTraffic(release, opts.defaults);
  const stopped = phase === 'RollingBack' || phase === 'RolledBack' || phase === 'Failed';
  rows.push([
    'Traffic',
    renderStepBar(
      {
        steps: traffic.steps,
        weight: status.canaryWeight ?? 0,
        currentStep: status.currentStep,
        stopped,
        tone: phase === undefined ? 'info' : phaseTone(phase),
      },
      { color: opts.color },
    ),
  ]);
  // stepDuration governs only the Shifting steps; elsewhere a leftover
  // stepStartedAt ("held 3d of 2m") would read as a stuck rollout.
  if (status.stepStartedAt && phase === 'Shifting') {
    const held = opts.now.getTime() - Date.parse(status.stepStartedAt);
    const limit = parseDuration(traffic.stepDuration);
    const left = limit !== undefined && held < limit ? ` (${formatDuration(limit - held)} left)` : '';
    rows.push(['', `held ${formatDuration(held)} of ${traffic.stepDuration} at this step${left}`]);
  }

  const migrations = migrationLines(release, p, opts.now);
  migrations.forEach((line, i) => rows.push([i === 0 ? 'Migrations' : '', line]));

  analysisLines(release, p, opts.now).forEach((line, i) => rows.push([i === 0 ? 'Analysis' : '', line]));

  if (status.rollback) {
    const rb = status.rollback;
    rows.push(['Rollback', p('red', rb.reason ?? 'no reason recorded')]);
    const detail: string[] = [];
    if (rb.metric) detail.push(`trigger ${rb.metric}`);
    if (rb.value !== undefined || rb.threshold !== undefined) {
      detail.push(`${rb.value ?? '?'} against threshold ${rb.threshold ?? '?'}`);
    }
    if (rb.at) detail.push(`at ${formatTime(rb.at)} (${ago(rb.at, opts.now)})`);
    if (detail.length > 0) rows.push(['', detail.join(', ')]);
  }

  const conditions = status.conditions ?? [];
  if (conditions.length === 0) rows.push(['Conditions', 'none']);

  const lines = rows.map(([label, value]) =>
    trimEnd(`${label ? p('bold', label.padEnd(LABEL_WIDTH)) : ' '.repeat(LABEL_WIDTH)}${value}`),
  );
  if (conditions.length > 0) {
    lines.push(p('bold', 'Conditions'));
    lines.push(...conditionTable(conditions, p));
  }
  return lines.join('\n') + '\n';
}

export function renderHistory(release: Release, opts: { color: boolean }): string {
  const p = palette(opts.color);
  const history = newestFirst(release.status?.history ?? []);
  if (history.length === 0) {
    return `No finished rollouts recorded for release "${release.metadata?.name ?? '?'}" yet.\n`;
  }
  const rows = history.map((r): Cell[] => [
    r.version,
    r.outcome ? { text: r.outcome, style: TONE[outcomeTone(r.outcome)] } : '-',
    r.startedAt ? formatTime(r.startedAt) : '-',
    r.finishedAt ? formatTime(r.finishedAt) : '-',
    r.startedAt && r.finishedAt ? formatDuration(Date.parse(r.finishedAt) - Date.parse(r.startedAt)) : '-',
  ]);
  return table(['VERSION', 'OUTCOME', 'STARTED', 'FINISHED', 'DURATION'], rows, p).join('\n') + '\n';
}

function stableNote(version: string, stable: string | undefined): string {
  if (stable === undefined) return '(no stable version yet)';
  return stable === version ? '(stable)' : `(stable ${stable})`;
}

// Describes the Environment's windows, not this Release: a rollout that
// started inside a window goes on after it closes.
function windowLine(windows: readonly PromotionWindow[], p: Paint, now: Date): string | undefined {
  if (windows.length === 0) return undefined;
  const state = windowState(windows, now);
  if (state === undefined) return 'open at any time (the windows cover the whole week)';
  if ('invalid' in state) return p('red', `invalid: ${state.invalid}`);
  return state.open ? describeClosing(state) : p('yellow', `next opens ${openingText(state, now)}`);
}

function migrationLines(release: Release, p: Paint, now: Date): string[] {
  const spec = release.spec.migrations;
  const status = release.status?.migrations;
  const lines: string[] = [];
  for (const kind of ['expand', 'contract'] as const) {
    const m = status?.[kind];
    if (m) lines.push(...migrationLine(kind, m, p, now));
    else if (spec?.[kind]) lines.push(`${kind.padEnd(9)}${p('dim', 'not started')}`);
  }
  return lines.length > 0 ? lines : ['none'];
}

function migrationLine(kind: string, m: MigrationStatus, p: Paint, now: Date): string[] {
  const phase = m.phase ?? 'Pending';
  const tone: Tone =
    phase === 'Failed' ? 'bad' : phase === 'Succeeded' ? 'ok' : phase === 'Running' ? 'info' : 'warn';
  let line = `${kind.padEnd(9)}${p(TONE[tone], phase)}`;
  // Pad after painting so the job names line up whatever the phase.
  if (m.job) line += `${' '.repeat(11 - phase.length)}job ${m.job}`;
  if (m.startedAt && m.finishedAt) {
    line += `, took ${formatDuration(Date.parse(m.finishedAt) - Date.parse(m.startedAt))}`;
  } else if (m.startedAt && phase === 'Running') {
    line += `, running for ${formatDuration(now.getTime() - Date.parse(m.startedAt))}`;
  }
  const lines = [line];
  if (m.message) lines.push(`${' '.repeat(9)}${p(phase === 'Failed' ? 'red' : 'dim', m.message)}`);
  return lines;
}

function analysisLines(release: Release, p: Paint, now: Date): string[] {
  const a = release.status?.analysis;
  // Written at the first evaluation of a rollout under a RollbackPolicy.
  if (!a) return [p('dim', 'none: no RollbackPolicy evaluation in this rollout')];
  const parts: string[] = [];
  if (a.policy) parts.push(`policy ${a.policy}`);
  if (a.verdict)
    parts.push(p(a.verdict === 'Pass' ? 'green' : a.verdict === 'Fail' ? 'red' : 'yellow', a.verdict));
  parts.push(a.lastEvaluation ? `last evaluation ${ago(a.lastEvaluation, now)}` : 'not evaluated yet');
  const failures = a.consecutiveFailures ?? 0;
  const failureText = `${failures} consecutive ${failures === 1 ? 'failure' : 'failures'}`;
  parts.push(failures > 0 ? p('red', failureText) : failureText);
  const lines = [parts.join(', ')];
  const measurements = a.lastMeasurements ?? [];
  if (measurements.length > 0) {
    lines.push(
      ...table(
        ['TRIGGER', 'VALUE', 'THRESHOLD', 'RESULT'],
        measurements.map((m): Cell[] => [
          m.trigger,
          m.value ?? '-',
          m.threshold ?? '-',
          m.result
            ? {
                text: m.result,
                style: m.result === 'Pass' ? 'green' : m.result === 'Fail' ? 'red' : 'yellow',
              }
            : '-',
        ]),
        p,
      ),
    );
  }
  return lines;
}

function conditionTable(conditions: readonly Condition[], p: Paint): string[] {
  return table(
    ['TYPE', 'STATUS', 'REASON', 'MESSAGE'],
    conditions.map((c): Cell[] => [
      c.type,
      { text: c.status, style: c.status === 'True' ? 'green' : c.status === 'False' ? 'red' : 'yellow' },
      c.reason,
      c.message,
    ]),
    p,
    '  ',
  );
}

function newestFirst(history: readonly RolloutRecord[]): RolloutRecord[] {
  const when = (r: RolloutRecord): number => Date.parse(r.startedAt ?? r.finishedAt ?? '') || -Infinity;
  // Array.prototype.sort is stable, so records without times keep the
  // order the operator wrote them in.
  return [...history].sort((a, b) => {
    const d = when(b) - when(a);
    return Number.isNaN(d) ? 0 : d;
  });
}

function phaseTone(phase: ReleasePhase): Tone {
  switch (phase) {
    case 'Succeeded':
      return 'ok';
    case 'RollingBack':
    case 'RolledBack':
    case 'Failed':
      return 'bad';
    case 'AwaitingApproval':
    case 'WaitingForWindow':
      return 'warn';
    default:
      return 'info';
  }
}

function outcomeTone(outcome: NonNullable<RolloutRecord['outcome']>): Tone {
  if (outcome === 'Succeeded') return 'ok';
  return outcome === 'Aborted' ? 'warn' : 'bad';
}

/** A duration as the CRD admits it, or undefined for anything else (the status is only shown, never refused). */
export function parseDuration(text: string): number | undefined {
  try {
    return parseStrictDuration(text);
  } catch {
    return undefined;
  }
}

export function formatTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function ago(iso: string, now: Date): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${formatDuration(now.getTime() - t)} ago`;
}

type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan';
type Paint = (style: Style | Style[], text: string) => string;
export type Cell = string | { text: string; style: Style };

const TONE: Record<Tone, Style> = { ok: 'green', bad: 'red', warn: 'yellow', info: 'cyan' };
const SGR: Record<Style, string> = { bold: '1', dim: '2', red: '31', green: '32', yellow: '33', cyan: '36' };

export function palette(color: boolean): Paint {
  return (style, text) => {
    if (!color || text === '') return text;
    const codes = (Array.isArray(style) ? style : [style]).map((s) => SGR[s]).join(';');
    return `\x1b[${codes}m${text}\x1b[0m`;
  };
}

// Pads on the visible text, then paints, so escape codes never skew columns;
// the last column is left unpadded to keep lines free of trailing spaces.
export function table(header: string[], rows: Cell[][], p: Paint, indent = ''): string[] {
  const text = (c: Cell): string => (typeof c === 'string' ? c : c.text);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => text(r[i] ?? '').length)));
  const line = (cells: Cell[]): string =>
    trimEnd(
      indent +
        cells
          .map((c, i) => {
            const padded = i === cells.length - 1 ? text(c) : text(c).padEnd((widths[i] ?? 0) + 3);
            return typeof c === 'string' ? padded : p(c.style, text(c)) + padded.slice(text(c).length);
          })
          .join(''),
    );
  return [line(header), ...rows.map(line)];
}

function trimEnd(s: string): string {
  return s.replace(/[ \t]+$/, '');
}
