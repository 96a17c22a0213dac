// Failures of poolUsage that need no PostgreSQL; the reading itself is
// tested against a real server in test/rollback/analysis.test.ts.
import { createServer, type Server, type Socket } from 'node:net';
import { poolUsage } from './database.js';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const SECRET = 'pa55w0rd-that-must-not-leak';

describe('poolUsage', () => {
  test('nothing listening: an error without the password', async () => {
    const server = createServer();
    const port = await listen(server);
    await new Promise((resolve) => server.close(resolve));
    const usage = await poolUsage(`postgres://app:${SECRET}@127.0.0.1:${port}/shop`, 2000);
    expect(usage).toEqual({ ok: false, error: expect.stringContaining('ECONNREFUSED') });
    expect(JSON.stringify(usage)).not.toContain(SECRET);
  });

  test('a server that never answers: an error within the timeout', async () => {
    const sockets: Socket[] = [];
    const server = createServer((socket) => sockets.push(socket));
    const port = await listen(server);
    try {
      const started = performance.now();
      const usage = await poolUsage(`postgres://app:${SECRET}@127.0.0.1:${port}/shop`, 300);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(usage.ok).toBe(false);
      expect(JSON.stringify(usage)).not.toContain(SECRET);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('a URL pg cannot parse: an error that does not quote it', async () => {
    const usage = await poolUsage(`postgres://app:${SECRET}@127.0.0.1:notaport/shop`, 300);
    expect(usage.ok).toBe(false);
    expect(JSON.stringify(usage)).not.toContain(SECRET);
  });
});
