// The POST against a real HTTP server on 127.0.0.1.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../test/harness/free-port.js';
import { createPost, describeNetworkError } from './http.js';

let server: Server;
let base = '';
const seen: Array<{ url?: string; headers: IncomingMessage['headers']; body: string }> = [];
let respond: (res: ServerResponse) => void = (res) => res.writeHead(204).end();

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ url: req.url, headers: req.headers, body });
      respond(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
  respond = (res) => res.writeHead(204).end();
});

test('POSTs the body as JSON and returns the status', async () => {
  const post = createPost();
  expect(await post(`${base}/hook/abc?token=t`, '{"a":1}')).toEqual({ kind: 'response', status: 204 });
  expect(seen).toEqual([
    {
      url: '/hook/abc?token=t',
      headers: expect.objectContaining({
        'content-type': 'application/json',
        'user-agent': 'cutover',
      }) as unknown,
      body: '{"a":1}',
    },
  ]);
});

test('user-info in the URL becomes Basic authorization', async () => {
  await createPost()(`http://user:p%40ss@127.0.0.1:${new globalThis.URL(base).port}/x`, '{}');
  expect(seen[0]?.headers.authorization).toBe(`Basic ${Buffer.from('user:p@ss').toString('base64')}`);
});

test('user-info that is not valid percent-encoding: said without the URL, nothing sent', async () => {
  const a = await createPost()(
    `http://user%E0%A4%A:s3cr3t@127.0.0.1:${new globalThis.URL(base).port}/x`,
    '{}',
  );
  expect(a).toEqual({
    kind: 'error',
    error: 'the user or password in the URL is not valid percent-encoding',
  });
  expect(seen).toEqual([]);
});

test('a redirect is returned, not followed', async () => {
  respond = (res) => res.writeHead(302, { location: `${base}/elsewhere` }).end();
  expect(await createPost()(`${base}/hook`, '{}')).toEqual({ kind: 'response', status: 302 });
  expect(seen.map((s) => s.url)).toEqual(['/hook']);
});

test('503 with Retry-After', async () => {
  respond = (res) => res.writeHead(503, { 'retry-after': '7' }).end('busy');
  expect(await createPost()(`${base}/hook`, '{}')).toEqual({
    kind: 'response',
    status: 503,
    retryAfterMs: 7000,
  });
});

test('no answer in time: a timeout, said without the URL', async () => {
  respond = () => undefined;
  const a = await createPost({ timeoutMs: 200 })(`${base}/hook/secret-path`, '{}');
  expect(a).toEqual({ kind: 'error', error: 'no answer within 0.2 s' });
});

test('nothing listening: connection refused, said without the URL', async () => {
  // A port just bound and released: nothing listens there now.
  const port = await freePort();
  expect(await createPost()(`http://127.0.0.1:${port}/hook/secret-path`, '{}')).toEqual({
    kind: 'error',
    error: 'connection refused',
  });
});

test('a Secret that does not hold an http(s) URL', async () => {
  expect(await createPost()('not a url', '{}')).toEqual({
    kind: 'error',
    error: 'the Secret does not hold a URL',
  });
  expect(await createPost()('ftp://x/y', '{}')).toEqual({
    kind: 'error',
    error: 'the URL is not http or https',
  });
});

test('a network error by its code only: its message names the address, which may be the secret', () => {
  const refused = Object.assign(new TypeError('fetch failed'), {
    cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443 https://hooks.example/T0/B0/secret'), {
      code: 'ECONNREFUSED',
    }),
  });
  expect(describeNetworkError(refused, 10_000)).toBe('connection refused');
  const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  expect(describeNetworkError(timeout, 10_000)).toBe('no answer within 10 s');
  expect(describeNetworkError(Object.assign(new Error('x'), { code: 'EPROTO' }), 1000)).toBe(
    'network error (EPROTO)',
  );
  expect(describeNetworkError(new Error('https://hooks.example/secret'), 1000)).toBe('network error');
  expect(describeNetworkError(Object.assign(new Error('x'), { code: 'https://x/secret' }), 1000)).toBe(
    'network error',
  );
});
