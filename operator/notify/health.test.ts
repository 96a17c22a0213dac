// A target counts as failing only while it has something it fails to deliver,
// and a target that is gone (removed from spec.notify, its Environment gone,
// this replica no longer leading) is not reported at all.
import { flush, outgoing, ref, setup, tick } from './notifier.testkit.js';

/** One notification sent and answered with `status`. */
async function answered(s: ReturnType<typeof setup>, status: number, i = 1) {
  s.notifier.enqueue(outgoing(i));
  await tick(s, 0);
  s.receiver.calls.at(-1)?.answer({ kind: 'response', status });
  await flush();
}

describe('failing targets', () => {
  test('a refused notification with nothing behind it: the target is Failing in status, failing nothing now', async () => {
    const s = setup();
    await answered(s, 404);
    expect(s.notifier.health('shop', 'production').get('ops')).toMatchObject({
      state: 'Failing',
      lastError: 'HTTP 404',
    });
    expect(s.failing).toEqual([]);
  });

  test('a refused notification with more behind it counts until the queue is through', async () => {
    const s = setup();
    s.notifier.enqueue(outgoing(1));
    s.notifier.enqueue(outgoing(2));
    await tick(s, 0);
    s.receiver.calls[0]?.answer({ kind: 'response', status: 410 });
    await flush();
    expect(s.failing).toEqual([1]);
    await tick(s, 0);
    s.receiver.calls[1]?.answer({ kind: 'response', status: 410 });
    await flush();
    expect(s.failing).toEqual([1, 0]);
  });
});

describe('retain', () => {
  test('a failing target removed from its Environment: queue dropped, health and gauge cleared', async () => {
    const s = setup();
    s.notifier.enqueue(outgoing(1));
    s.notifier.enqueue(outgoing(2));
    await tick(s, 0);
    s.receiver.calls.splice(0)[0]?.answer({ kind: 'error', error: 'connection refused' });
    await flush();
    expect(s.failing).toEqual([1]);
    s.notifier.retain('shop', 'production', ['other']);
    expect(s.failing).toEqual([1, 0]);
    expect(s.depth.get('json')).toBe(0);
    expect(s.notifier.health('shop', 'production').size).toBe(0);
    expect(s.results.filter(([, r]) => r === 'dropped')).toHaveLength(2);
    expect(s.notifier.pending).toBe(0);
    await tick(s, 600_000);
    expect(s.receiver.calls).toHaveLength(0);
  });

  test('a Failing target with an empty queue, its Environment deleted: its health is gone', async () => {
    const s = setup();
    await answered(s, 404);
    s.notifier.retain('shop', 'production', []);
    expect(s.notifier.health('shop', 'production').size).toBe(0);
  });

  test('the targets it still defines, and those of other Environments, are kept', async () => {
    const s = setup();
    await answered(s, 404);
    s.notifier.retain('shop', 'production', ['ops']);
    s.notifier.retain('shop', 'staging', []);
    s.notifier.retain('other', 'production', []);
    expect(s.notifier.health('shop', 'production').get('ops')?.state).toBe('Failing');
  });

  test('forgotten while a POST is out: its answer changes nothing and nothing more is sent', async () => {
    const s = setup();
    s.notifier.enqueue(outgoing(1));
    s.notifier.enqueue(outgoing(2));
    await tick(s, 0);
    s.notifier.retain('shop', 'production', []);
    s.receiver.calls[0]?.answer({ kind: 'error', error: 'connection refused' });
    await flush();
    await tick(s, 600_000);
    expect(s.receiver.calls).toHaveLength(1);
    expect(s.notifier.health('shop', 'production').size).toBe(0);
    expect(s.failing).toEqual([]);
    expect(s.results).toEqual([
      ['json', 'dropped'],
      ['json', 'dropped'],
    ]);
  });
});

describe('reset (this replica stopped leading)', () => {
  test('queues dropped and said, health forgotten, gauges at 0; sending again once it leads', async () => {
    const s = setup();
    s.notifier.enqueue(outgoing(1));
    s.notifier.enqueue(outgoing(2, { target: { ...ref, environment: 'staging' } }));
    await tick(s, 0);
    for (const c of s.receiver.calls.splice(0)) c.answer({ kind: 'response', status: 503 });
    await flush();
    expect(s.failing).toEqual([1, 2]);
    s.notifier.reset();
    expect(s.failing).toEqual([1, 2, 0]);
    expect(s.depth.get('json')).toBe(0);
    expect(s.notifier.pending).toBe(0);
    expect(s.notifier.health('shop', 'production').size).toBe(0);
    expect(s.lines.join('')).toContain('"lost":2');
    await tick(s, 600_000);
    expect(s.receiver.calls).toHaveLength(0);

    s.notifier.enqueue(outgoing(3));
    await tick(s, 0);
    expect(s.receiver.bodies()).toEqual(['{"n":3}']);
  });
});
