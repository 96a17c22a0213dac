// A real webhook receiver for notification tests: node:http on 127.0.0.1,
// recording every POST it answers. It can go down (the port closed) and come
// back on the same port, or answer with another status, as a receiver in
// trouble would.
import { createServer, type Server } from 'node:http';
import { freePort } from './free-port.js';

export interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface WebhookReceiver {
  readonly port: number;
  /** POSTs answered with 2xx, in arrival order. */
  readonly received: Received[];
  /** POSTs answered with another status. */
  readonly refused: Received[];
  /** http://127.0.0.1:<port><path> */
  url(path: string): string;
  /** The status (and headers, such as Retry-After) every POST gets from now on (204 at first). */
  answer(status: number, headers?: Record<string, string>): void;
  /** Closes the port: connections are refused. */
  down(): Promise<void>;
  /** Listens on the same port again. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const port = await freePort();
  const received: Received[] = [];
  const refused: Received[] = [];
  let status = 204;
  let headers: Record<string, string> = {};
  let server: Server | undefined;

  const listen = async () => {
    const s = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Kept as text: the test says what it expected.
        }
        const r = { path: req.url ?? '', headers: req.headers, body };
        (status >= 200 && status < 300 ? received : refused).push(r);
        res.writeHead(status, headers).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', resolve);
    });
    server = s;
  };
  const stop = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    // Keep-alive sockets would otherwise keep answering after the port is closed.
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await listen();
  return {
    port,
    received,
    refused,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    answer: (s, h = {}) => {
      status = s;
      headers = h;
    },
    down: stop,
    up: listen,
    close: stop,
  };
}
