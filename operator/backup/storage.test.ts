import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertUnused } from './full.js';
import { RunWrites, storageFor, type Storage } from './storage.js';

// A real directory: what a failed run deletes is what matters, and only the
// real storage shows it.
let dir: string;
let storage: Storage;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cutover-storage-test-'));
  storage = storageFor(pathToFileURL(dir).toString());
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a failed run's cleanup", () => {
  test("deletes the keys it put and leaves another run's objects under the same prefix", async () => {
    await storage.putText('full/x/base.tar.gz', 'the other run');
    await storage.putText('full/x/manifest.json', '{}');
    const writes = new RunWrites(storage);
    await writes.putText('full/x/pg_wal.tar.gz', 'mine');
    await writes.undo();
    expect((await storage.list('full/x')).sort()).toEqual(['full/x/base.tar.gz', 'full/x/manifest.json']);
    expect(await storage.getText('full/x/base.tar.gz')).toBe('the other run');
  });

  test('leaves no empty directory behind, and the top-level ones stay', async () => {
    const writes = new RunWrites(storage);
    await writes.putText('full/y/base.tar.gz', 'a');
    await writes.putText('full/y/manifest.json', '{}');
    await writes.undo();
    expect(await storage.list('full')).toEqual([]);
    expect(await readdir(dir)).toEqual(['full']);
  });

  test('a key whose put failed is deleted without complaint', async () => {
    const writes = new RunWrites(storage);
    await expect(writes.putFile('full/z/base.tar.gz', join(dir, 'no-such-file'))).rejects.toThrow();
    await writes.undo();
    expect(await storage.list('full/z')).toEqual([]);
  });
});

describe('a prefix in use', () => {
  test('is refused before anything is written', async () => {
    await assertUnused(storage, 'full/new');
    await storage.putText('full/taken/base.tar.gz', 'a');
    await expect(assertUnused(storage, 'full/taken')).rejects.toThrow('full/taken already holds objects');
  });
});
