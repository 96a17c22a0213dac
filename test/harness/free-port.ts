import { createServer } from 'node:net';

/**
 * Asks the kernel for an unused TCP port on `host` by binding port 0.
 *
 * The port is released before the caller binds it, so another process can
 * take it in between. Callers that spawn servers treat "address in use" as a
 * reason to pick a new port and retry rather than as a failure.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  if (address === null || typeof address === 'string') {
    throw new Error(`could not determine a free port on ${host}`);
  }
  return address.port;
}
