// Durations as the CRDs write them: 500ms, 30s, 10m, 2h, 1h30m, 30d.
const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  const re = /(\d+)(ms|s|m|h|d)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (unitMs[m[2] ?? ''] ?? 0);
    end = re.lastIndex;
  }
  if (end !== text.length || text.length === 0) throw new Error(`invalid duration "${text}"`);
  return total;
}

/** Largest unit and the next one when it is not zero: 45s, 1m30s, 2m, 1h5m, 3d. */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.floor(ms / 1000));
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  const counts = units.map(([u, size]) => {
    const n = Math.floor(rest / size);
    rest -= n * size;
    return [u, n] as const;
  });
  const first = counts.findIndex(([, n]) => n > 0);
  if (first < 0) return '0s';
  const [u1, n1] = counts[first] ?? ['s', 0];
  const next = counts[first + 1];
  return `${n1}${u1}${next && next[1] > 0 ? `${next[1]}${next[0]}` : ''}`;
}
