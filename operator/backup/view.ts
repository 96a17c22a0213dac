// What the operator reads from a policy's S3 storage for its status: the
// complete fulls and the WAL chain after them. Manifests and sealed WAL
// sidecars never change once written, so each is read once per process; a
// pass costs the listings plus the open segment's sidecar.
import { chainOf, readWal } from './chain.js';
import { FULL, MANIFEST, parseManifest, type BackupManifest } from './manifest.js';
import type { StorageView } from './plan.js';
import type { Storage } from './storage.js';

export class StorageReader {
  private readonly manifests = new Map<string, BackupManifest | null>();
  private readonly sidecars = new Map<string, Map<string, string>>();

  async read(storage: Storage, now: Date): Promise<StorageView> {
    const fulls: BackupManifest[] = [];
    for (const dir of await storage.list(FULL)) {
      const key = `${storage.uri}/${dir}/${MANIFEST}`;
      let m = this.manifests.get(key);
      if (m === undefined) {
        const text = await storage.getText(`${dir}/${MANIFEST}`);
        // An absent manifest is a backup in progress (or a failed one): ask again next time.
        if (text === undefined) continue;
        m = parseManifest(text) ?? null;
        this.manifests.set(key, m);
      }
      if (m) fulls.push(m);
    }
    let cache = this.sidecars.get(storage.uri);
    if (!cache) this.sidecars.set(storage.uri, (cache = new Map()));
    const { wal, gaps } = await readWal(storage, cache);
    const chain = chainOf(fulls, wal, gaps, now);
    const shipped = wal
      .map((s) => s.shippedAt)
      .sort()
      .at(-1);
    return {
      fulls: chain.fulls.map(({ id, startedAt, finishedAt, size, endLsn }) => ({
        id,
        startedAt,
        finishedAt,
        size,
        endLsn,
      })),
      ...(chain.firstRecoverabilityPoint ? { firstRecoverabilityPoint: chain.firstRecoverabilityPoint } : {}),
      ...(chain.lastRecoverabilityPoint ? { lastRecoverabilityPoint: chain.lastRecoverabilityPoint } : {}),
      ...(shipped ? { walShippedAt: shipped } : {}),
      ...(chain.broken
        ? { broken: `WAL cannot be replayed past ${chain.broken.from}: ${chain.broken.reason}` }
        : {}),
    };
  }
}
