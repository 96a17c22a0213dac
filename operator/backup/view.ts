// What the operator reads from a policy's S3 storage for its status: the
// complete fulls and how recent the WAL is. Manifests never change once
// written, so each is read once per process; a pass costs two listings plus
// the newest WAL sidecar.
import { FULL, MANIFEST, parseManifest, type BackupManifest } from './manifest.js';
import type { StorageView } from './plan.js';
import type { Storage } from './storage.js';

/** A segment's sidecar, complete or partial; timeline history files are not WAL progress. */
const SEGMENT_SIDECAR = /^wal\/[0-9A-F]{24}(\.partial)?\.json$/;

export class StorageReader {
  private readonly manifests = new Map<string, BackupManifest | null>();

  async read(storage: Storage): Promise<StorageView> {
    const fulls: BackupManifest[] = [];
    for (const dir of await storage.list(FULL)) {
      const key = `${dir}/${MANIFEST}`;
      let m = this.manifests.get(`${storage.uri}/${key}`);
      if (m === undefined) {
        const text = await storage.getText(key);
        // An absent manifest is a backup in progress (or a failed one): ask again next time.
        if (text === undefined) continue;
        m = parseManifest(text) ?? null;
        this.manifests.set(`${storage.uri}/${key}`, m);
      }
      if (m) fulls.push(m);
    }
    fulls.sort((a, b) => (a.id < b.id ? 1 : -1));
    const sidecars = (await storage.list('wal')).filter((k) => SEGMENT_SIDECAR.test(k)).sort();
    const newest = sidecars.at(-1);
    let walShippedAt: string | undefined;
    if (newest) {
      const text = await storage.getText(newest);
      try {
        const s = JSON.parse(text ?? '{}') as { shippedAt?: unknown };
        if (typeof s.shippedAt === 'string') walShippedAt = s.shippedAt;
      } catch {
        // a sidecar being replaced; the next pass reads it
      }
    }
    const oldest = fulls.at(-1);
    return {
      fulls: fulls.map(({ id, startedAt, finishedAt, size, endLsn }) => ({
        id,
        startedAt,
        finishedAt,
        size,
        endLsn,
      })),
      ...(oldest ? { firstRecoverabilityPoint: oldest.finishedAt } : {}),
      ...((walShippedAt ?? fulls[0]?.finishedAt)
        ? { lastRecoverabilityPoint: later(walShippedAt, fulls[0]?.finishedAt) }
        : {}),
      ...(walShippedAt ? { walShippedAt } : {}),
    };
  }
}

function later(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}
