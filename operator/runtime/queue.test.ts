import { FakeClock } from './fake-clock.js';
import { backoffDelay, WorkQueue } from './queue.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('backoffDelay', () => {
  test('doubles from 5 ms and caps at 5 min', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n))).toEqual([5, 10, 20, 40]);
    expect(backoffDelay(17)).toBe(300_000);
    expect(backoffDelay(10_000)).toBe(300_000);
    expect(backoffDelay(0)).toBe(0);
  });
});

describe('WorkQueue', () => {
  test('merges duplicate adds of a queued key', async () => {
    const q = new WorkQueue(new FakeClock());
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.depth).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  test('an add during processing is replayed after done, not handed to a second worker', async () => {
    const q = new WorkQueue(new FakeClock());
    q.add('a');
    const key = await q.get();
    q.add('a');
    expect(q.depth).toBe(0);
    q.done(key ?? '');
    expect(q.depth).toBe(1);
  });

  test('one key is never in flight twice with many workers', async () => {
    const q = new WorkQueue(new FakeClock());
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const release: Array<() => void> = [];
    const running = q.run(async () => {
      calls++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise<void>((resolve) => release.push(resolve));
      inFlight--;
    }, 4);
    q.add('k');
    await flush();
    q.add('k');
    q.add('k');
    await flush();
    expect(inFlight).toBe(1);
    release.shift()?.();
    await flush();
    await flush();
    expect(calls).toBe(2);
    release.shift()?.();
    await flush();
    q.shutdown();
    await running;
    expect(maxInFlight).toBe(1);
  });

  test('failures back off per key while other keys keep flowing', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock);
    const seen: string[] = [];
    const running = q.run(async (key) => {
      seen.push(key);
      if (key === 'bad') throw new Error('boom');
    }, 1);
    q.add('bad');
    q.add('good');
    await flush();
    expect(seen).toEqual(['bad', 'good']);
    expect(q.failureCount('bad')).toBe(1);
    clock.advance(4);
    await flush();
    expect(seen).toEqual(['bad', 'good']);
    clock.advance(1);
    await flush();
    expect(seen).toEqual(['bad', 'good', 'bad']);
    expect(q.failureCount('bad')).toBe(2);
    q.add('good');
    await flush();
    expect(seen.at(-1)).toBe('good');
    expect(q.failureCount('good')).toBe(0);
    q.shutdown();
    await running;
  });

  test('success forgets the failure count', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock);
    let fail = true;
    const running = q.run(async () => {
      if (fail) throw new Error('once');
    }, 1);
    q.add('k');
    await flush();
    expect(q.failureCount('k')).toBe(1);
    fail = false;
    clock.advance(5);
    await flush();
    expect(q.failureCount('k')).toBe(0);
    q.shutdown();
    await running;
  });

  test('requeueAfter keeps only the earliest deadline per key', () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock);
    q.addAfter('k', 1000);
    q.addAfter('k', 5000);
    q.addAfter('k', 200);
    expect(q.waiting).toBe(1);
    clock.advance(199);
    expect(q.depth).toBe(0);
    clock.advance(1);
    expect(q.depth).toBe(1);
    clock.advance(10_000);
    expect(q.depth).toBe(1);
  });

  test('a handler outcome schedules the timer', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock);
    let calls = 0;
    const running = q.run(async () => {
      calls++;
      return { requeueAfterMs: 30_000 };
    }, 1);
    q.add('k');
    await flush();
    expect(calls).toBe(1);
    clock.advance(29_999);
    await flush();
    expect(calls).toBe(1);
    clock.advance(1);
    await flush();
    expect(calls).toBe(2);
    q.shutdown();
    await running;
  });

  test('shutdown lets the in-flight item finish and drops the rest', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock);
    let finished = 0;
    let release!: () => void;
    const running = q.run(async () => {
      await new Promise<void>((resolve) => (release = resolve));
      finished++;
    }, 1);
    q.add('a');
    q.add('b');
    q.addAfter('c', 100);
    await flush();
    q.shutdown();
    expect(clock.pending).toBe(0);
    release();
    await running;
    expect(finished).toBe(1);
    q.add('d');
    expect(q.depth).toBe(0);
  });
});
