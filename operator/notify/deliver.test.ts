import { QUEUE_LIMIT } from './deliver.js';
import { URL, flush, outgoing, setup, target, tick } from './notifier.testkit.js';
import { SecretProblem } from '../runtime/secret-values.js';

describe('Notifier', () => {
  test('enqueue returns before anything is sent; a timer sends', async () => {
    const s = setup();
    s.notifier.enqueue(outgoing(1));
    expect(s.receiver.calls).toHaveLength(0);
    expect(s.depth.get('json')).toBe(1);
    await tick(s, 0);
    expect(s.receiver.calls.map((c) => c.url)).toEqual([URL]);
    s.receiver.calls[0]?.answer({ kind: 'response', status: 204 });
    await flush();
    expect(s.results).toEqual([['json', 'delivered']]);
    expect(s.depth.get('json')).toBe(0);
    expect(s.notifier.health('shop', 'production').get('ops')).toMatchObject({ state: 'Delivering' });
    expect(s.woken).toEqual(['shop/production']);
  });

  test('one POST in flight per target: a later notification never overtakes an earlier one', async () => {
    const s = setup();
    for (let i = 0; i < 3; i++) s.notifier.enqueue(outgoing(i));
    await tick(s, 0);
    // The first is slow to answer: nothing else goes meanwhile.
    await tick(s, 5000);
    expect(s.receiver.bodies()).toEqual(['{"n":0}']);
    s.receiver.calls[0]?.answer({ kind: 'response', status: 200 });
    await flush();
    await tick(s, 0);
    expect(s.receiver.bodies()).toEqual(['{"n":0}', '{"n":1}']);
    s.receiver.calls[1]?.answer({ kind: 'response', status: 200 });
    await flush();
    await tick(s, 0);
    expect(s.receiver.bodies()).toEqual(['{"n":0}', '{"n":1}', '{"n":2}']);
  });

  test('a receiver that is down: backoff 1 s, 2 s, 4 s, the same notification first, then delivered in order', async () => {
    const s = setup();
    for (let i = 0; i < 3; i++) s.notifier.enqueue(outgoing(i));
    await tick(s, 0);
    s.receiver.calls.splice(0)[0]?.answer({ kind: 'error', error: 'connection refused' });
    await flush();
    expect(s.notifier.health('shop', 'production').get('ops')).toEqual({
      name: 'ops',
      state: 'Failing',
      since: new Date(0).toISOString(),
      lastError: 'connection refused',
    });
    expect(s.failing).toEqual([1]);
    for (const wait of [1000, 2000]) {
      await tick(s, wait - 1);
      expect(s.receiver.calls).toHaveLength(0);
      await tick(s, 1);
      expect(s.receiver.bodies()).toEqual(['{"n":0}']);
      s.receiver.calls.splice(0)[0]?.answer({ kind: 'error', error: 'connection refused' });
      await flush();
    }
    // Three failures in a row: the next attempt waits 4 s.
    await tick(s, 3999);
    expect(s.receiver.calls).toHaveLength(0);
    await tick(s, 1);
    expect(s.receiver.bodies()).toEqual(['{"n":0}']);
    s.receiver.calls.splice(0)[0]?.answer({ kind: 'response', status: 503 });
    await flush();
    await tick(s, 8000);
    expect(s.receiver.bodies()).toEqual(['{"n":0}']);
    s.receiver.calls.splice(0)[0]?.answer({ kind: 'response', status: 200 });
    await flush();
    for (let i = 1; i < 3; i++) {
      await tick(s, 0);
      expect(s.receiver.bodies()).toEqual([`{"n":${i}}`]);
      s.receiver.calls.splice(0)[0]?.answer({ kind: 'response', status: 200 });
      await flush();
    }
    expect(s.results.filter(([, r]) => r === 'failed')).toHaveLength(4);
    expect(s.results.filter(([, r]) => r === 'delivered')).toHaveLength(3);
    expect(s.notifier.health('shop', 'production').get('ops')).toMatchObject({
      state: 'Delivering',
      lastError: 'HTTP 503',
    });
    expect(s.failing).toEqual([1, 0]);
    expect(s.notifier.pending).toBe(0);
  });

  test.each([
    ['Retry-After is honoured', 429, 30_000, 30_000],
    ['Retry-After: 0 does not shorten the backoff', 503, 0, 1000],
  ])('%s', async (_what, status, retryAfterMs, nextInMs) => {
    const s = setup();
    s.notifier.enqueue(outgoing(1));
    await tick(s, 0);
    s.receiver.calls.splice(0)[0]?.answer({ kind: 'response', status, retryAfterMs });
    await flush();
    await tick(s, nextInMs - 1);
    expect(s.receiver.calls).toHaveLength(0);
    await tick(s, 1);
    expect(s.receiver.calls).toHaveLength(1);
  });

  test('a 4xx is not retried; the next notification goes at once', async () => {
    const s = setup();
    s.notifier.enqueue(outgoing(1));
    s.notifier.enqueue(outgoing(2));
    await tick(s, 0);
    s.receiver.calls[0]?.answer({ kind: 'response', status: 404 });
    await flush();
    await tick(s, 0);
    s.receiver.calls[1]?.answer({ kind: 'response', status: 200 });
    await flush();
    await tick(s, 60_000);
    expect(s.receiver.calls).toHaveLength(2);
    expect(s.results).toEqual([
      ['json', 'rejected'],
      ['json', 'delivered'],
    ]);
  });

  test('given up after an hour, counted and logged, without the URL; with nothing behind it, no longer failing', async () => {
    const s = setup();
    s.notifier.enqueue(outgoing(1));
    await tick(s, 0);
    // Failing for over an hour: 1 s, 2 s, … then every 5 min.
    for (let i = 0; i < 40 && s.receiver.calls.length > 0; i++) {
      s.receiver.calls.splice(0)[0]?.answer({ kind: 'response', status: 502 });
      await flush();
      expect(s.failing.at(-1)).toBe(1);
      await tick(s, 300_000);
    }
    expect(s.results.at(-1)).toEqual(['json', 'expired']);
    expect(s.notifier.pending).toBe(0);
    expect(s.failing).toEqual([1, 0]);
    expect(s.notifier.health('shop', 'production').get('ops')?.state).toBe('Failing');
    const log = s.lines.join('');
    expect(log).toContain('notification given up');
    expect(log).toContain('"target":"ops"');
    expect(log).not.toContain('s3cr3t');
    expect(log).not.toContain('hooks.example');
  });

  test('the queue is bounded: the oldest is dropped', async () => {
    const s = setup();
    for (let i = 0; i < QUEUE_LIMIT + 3; i++) s.notifier.enqueue(outgoing(i));
    expect(s.results).toEqual(Array(3).fill(['json', 'dropped']));
    expect(s.depth.get('json')).toBe(QUEUE_LIMIT);
    await tick(s, 0);
    expect(s.receiver.bodies()[0]).toBe('{"n":3}');
  });

  test('a Secret without the key: retried, said in health by name only', async () => {
    const s = setup({ url: () => Promise.reject(new SecretProblem('Secret "hooks" has no key "ops"')) });
    s.notifier.enqueue(outgoing(1));
    await tick(s, 0);
    expect(s.notifier.health('shop', 'production').get('ops')).toMatchObject({
      state: 'Failing',
      lastError: 'Secret "hooks" has no key "ops"',
    });
    expect(s.results).toEqual([['json', 'failed']]);
  });

  test('any other error reading the URL is not repeated (it could quote the value)', async () => {
    const s = setup({ url: () => Promise.reject(new Error(`bad ${URL}`)) });
    s.notifier.enqueue(outgoing(1));
    await tick(s, 0);
    expect(s.notifier.health('shop', 'production').get('ops')?.lastError).toBe('reading the URL failed');
  });

  test('a target removed from its Environment: its queue is dropped', async () => {
    let present = true;
    const s = setup({ target: () => (present ? target : undefined) });
    s.notifier.enqueue(outgoing(1));
    s.notifier.enqueue(outgoing(2));
    present = false;
    await tick(s, 0);
    expect(s.receiver.calls).toHaveLength(0);
    expect(s.results).toEqual([
      ['json', 'dropped'],
      ['json', 'dropped'],
    ]);
    expect(s.notifier.pending).toBe(0);
  });

  test('stop: waits for the POST in flight, drops and counts the rest, sends nothing more', async () => {
    const s = setup();
    for (let i = 0; i < 3; i++) s.notifier.enqueue(outgoing(i));
    await tick(s, 0);
    const stopped = s.notifier.stop();
    for (const c of s.receiver.calls) c.answer({ kind: 'response', status: 200 });
    await stopped;
    expect(s.results.filter(([, r]) => r === 'dropped')).toHaveLength(2);
    expect(s.results.filter(([, r]) => r === 'delivered')).toHaveLength(1);
    s.notifier.enqueue(outgoing(99));
    await tick(s, 1000);
    expect(s.receiver.calls).toHaveLength(1);
  });

  test('stop: a POST in flight that fails is counted as lost, not retried', async () => {
    const s = setup();
    s.notifier.enqueue(outgoing(1));
    await tick(s, 0);
    const stopped = s.notifier.stop();
    s.receiver.calls[0]?.answer({ kind: 'error', error: 'connection refused' });
    await stopped;
    expect(s.results).toEqual([['json', 'dropped']]);
    expect(s.lines.join('')).toContain('"lost":1');
    expect(s.notifier.pending).toBe(0);
  });
});
