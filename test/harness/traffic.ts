// Simulated users: a fixed request rate split between the two slots the way
// the Release's status says traffic is split, recorded by the app-metrics
// server under each slot's app/slot/version labels. How each version behaves
// (error ratio, latency) is the test's to set, so a bad version shows up in
// Prometheus only in proportion to the traffic it really gets.
import type { Release } from '../../operator/api/generated/index.js';
import type { AppMetricsServer } from './app-metrics.js';
import type { KubernetesObjectApi } from '@kubernetes/client-node';

export interface Behaviour {
  errorRatio: number;
  latencySeconds: number;
}

const HEALTHY: Behaviour = { errorRatio: 0, latencySeconds: 0.05 };

export class TrafficDriver {
  private readonly behaviours = new Map<string, Behaviour>();
  private timer: NodeJS.Timeout | undefined;
  private streams = new Set<string>();
  /** What each stream was last set to: app-metrics restarts its error spreading on every set. */
  private applied = new Map<string, string>();
  /** Total requests per second across both slots. */
  rps: number;

  constructor(
    private readonly metrics: AppMetricsServer,
    private readonly api: KubernetesObjectApi,
    private readonly namespace: string,
    private readonly name: string,
    rps = 20,
  ) {
    this.rps = rps;
  }

  /** How `version` behaves from now on, whichever slot runs it. */
  behave(version: string, b: Partial<Behaviour>): void {
    this.behaviours.set(version, { ...HEALTHY, ...this.behaviours.get(version), ...b });
  }

  /** Follows the Release every `everyMs` until stopped. */
  start(everyMs = 200): void {
    const tick = async () => {
      try {
        const rel = await this.api.read<Release>({
          apiVersion: 'cutover.dev/v1alpha1',
          kind: 'Release',
          metadata: { name: this.name, namespace: this.namespace },
        });
        this.follow(rel);
      } catch {
        // A read that failed changes nothing; the next tick tries again.
      }
      if (this.timer) this.timer = setTimeout(() => void tick(), everyMs);
    };
    this.timer = setTimeout(() => void tick(), 0);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Splits the rate by the status: the canary's weight to the target slot, the rest to the stable one. */
  follow(rel: Release): void {
    const st = rel.status ?? {};
    const app = rel.spec.application;
    const split = new Map<string, { slot: string; version: string; rps: number }>();
    const weight = st.phase === 'RolledBack' || st.phase === 'RollingBack' ? 0 : (st.canaryWeight ?? 0);
    const promoted = st.stableRevision === st.revision;
    if (st.activeSlot && st.stableVersion) {
      const share = promoted ? 1 : 1 - weight / 100;
      split.set(st.activeSlot, { slot: st.activeSlot, version: st.stableVersion, rps: this.rps * share });
    }
    if (!promoted && st.targetSlot && st.targetSlot !== st.activeSlot) {
      split.set(st.targetSlot, {
        slot: st.targetSlot,
        version: rel.spec.version,
        rps: (this.rps * weight) / 100,
      });
    }
    const seen = new Set<string>();
    for (const s of split.values()) {
      const key = `${s.slot}/${s.version}`;
      seen.add(key);
      this.set({ app, ...s, ...(this.behaviours.get(s.version) ?? HEALTHY) });
    }
    // A slot that no longer serves a version stops sending its requests.
    for (const key of this.streams) {
      if (seen.has(key)) continue;
      const [slot = '', version = ''] = key.split('/');
      this.set({ app, slot, version, rps: 0, ...HEALTHY });
    }
    this.streams = seen;
  }

  private set(t: Parameters<AppMetricsServer['setTraffic']>[0]): void {
    const key = `${t.slot}/${t.version}`;
    const value = JSON.stringify(t);
    if (this.applied.get(key) === value) return;
    this.applied.set(key, value);
    this.metrics.setTraffic(t);
  }
}
