import { Writable } from 'node:stream';
import type { ClusterAccess } from './kubeconfig.js';
import { createLogger } from './log.js';
import { Manager } from './manager.js';
import { OperatorMetrics } from './metrics.js';

// Nothing here reaches an API server: leadership hooks are in memory.
const access: ClusterAccess = {
  server: 'https://127.0.0.1:6443',
  connect: () => Promise.reject(new Error('no API server in a unit test')),
};
const quiet = () =>
  createLogger(
    'error',
    new Writable({
      write(_chunk, _enc, done) {
        done();
      },
    }),
  );

describe('Manager leadership', () => {
  test('stoppedLeading runs every hook, even after one that throws', () => {
    const m = new Manager(access, quiet(), new OperatorMetrics({ processMetrics: false }));
    const ran: string[] = [];
    m.onStoppedLeading(() => {
      ran.push('a');
      throw new Error('boom');
    });
    m.onStoppedLeading(() => ran.push('b'));
    m.stoppedLeading();
    expect(ran).toEqual(['a', 'b']);
  });
});
