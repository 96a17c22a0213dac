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
