// Test support (excluded from the build): a Notifier on a manual clock, and a
// receiver the test answers by hand.
import { Writable } from 'node:stream';
import type { NotificationTarget } from '../api/generated/index.js';
import { FakeClock } from '../runtime/fake-clock.js';
import { createLogger } from '../runtime/log.js';
import { Notifier, type NotifierDeps, type Outgoing, type Result } from './deliver.js';
import type { Attempt } from './retry.js';

/** Lets the promises of answered POSTs settle. */
export const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** Moves the clock by `ms` and lets what its timers started settle. */
export async function tick(s: { clock: FakeClock }, ms: number): Promise<void> {
  s.clock.advance(ms);
  await flush();
}

export const URL = 'https://hooks.example/services/T0/B0/s3cr3t';
export const target: NotificationTarget = {
  name: 'ops',
  urlSecretRef: { name: 'hooks', key: 'ops' },
  format: 'json',
};
export const ref = { namespace: 'shop', environment: 'production', name: 'ops' };

export function outgoing(i: number, extra: Partial<Outgoing> = {}): Outgoing {
  return {
    target: ref,
    format: 'json',
    body: `{"n":${i}}`,
    reason: 'AnalysisFailed',
    id: `id-${i}`,
    ...extra,
  };
}

/** A receiver the test answers by hand: each POST waits until answered. */
export class Receiver {
  readonly calls: Array<{ url: string; body: string; answer(a: Attempt): void }> = [];
  post = (url: string, body: string) =>
    new Promise<Attempt>((resolve) => this.calls.push({ url, body, answer: resolve }));
  bodies = () => this.calls.map((c) => c.body);
}

export function setup(over: Partial<NotifierDeps> = {}) {
  const clock = new FakeClock();
  const receiver = new Receiver();
  const results: Array<[string, Result]> = [];
  const depth = new Map<string, number>();
  const lines: string[] = [];
  const failing: number[] = [];
  const woken: string[] = [];
  const log = createLogger(
    'info',
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  const notifier = new Notifier({
    post: receiver.post,
    target: () => target,
    url: () => Promise.resolve(URL),
    log,
    clock,
    random: () => 0,
    onResult: (format, result) => results.push([format, result]),
    onDepth: (format, d) => depth.set(format, d),
    onFailingTargets: (n) => failing.push(n),
    onHealth: (ns, env) => woken.push(`${ns}/${env}`),
    ...over,
  });
  return { clock, receiver, results, depth, lines, failing, woken, notifier };
}
