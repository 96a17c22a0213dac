// The client against a local HTTP server that plays Prometheus.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../test/harness/free-port.js';
import { createPrometheusClient, type QueryOutcome } from './prometheus.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let base: string;
let handle: Handler;
let requests: IncomingMessage[];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req);
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  requests = [];
});

function answer(status: number, body: unknown): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
}

const vector = (...values: string[]) => ({
  status: 'success',
  data: { resultType: 'vector', result: values.map((v, i) => ({ metric: { pod: `p${i}` }, value: [1, v] })) },
});

function recorder() {
  const outcomes: QueryOutcome[] = [];
  const client = createPrometheusClient({ onQuery: (ms, outcome) => outcomes.push(outcome) });
  return { client, outcomes };
}

describe('results', () => {
  test('a vector, with labels and Prometheus spellings of NaN and infinities', async () => {
    handle = answer(200, vector('0.25', 'NaN', '+Inf', '-Inf'));
    const result = await createPrometheusClient().query(base, 'up', 1000);
    expect(result).toEqual({
      ok: true,
      series: [
        { labels: { pod: 'p0' }, value: 0.25 },
        { labels: { pod: 'p1' }, value: Number.NaN },
        { labels: { pod: 'p2' }, value: Number.POSITIVE_INFINITY },
        { labels: { pod: 'p3' }, value: Number.NEGATIVE_INFINITY },
      ],
    });
  });

  test('a scalar is one series without labels', async () => {
    handle = answer(200, { status: 'success', data: { resultType: 'scalar', result: [1, '7'] } });
    expect(await createPrometheusClient().query(base, '7', 1000)).toEqual({
      ok: true,
      series: [{ labels: {}, value: 7 }],
    });
  });

  test('sends the query, and Prometheus its own timeout, to /api/v1/query under the address path', async () => {
    handle = answer(200, vector());
    await createPrometheusClient().query(`${base}/prom/`, 'sum(rate(x{a="b"}[1m]))', 2500);
    const url = new URL(requests[0]?.url ?? '', base);
    expect(url.pathname).toBe('/prom/api/v1/query');
    expect(url.searchParams.get('query')).toBe('sum(rate(x{a="b"}[1m]))');
    expect(url.searchParams.get('timeout')).toBe('2500ms');
  });
});

describe('failures are results, retried once only when another try may help', () => {
  test.each<[string, Handler, QueryOutcome[], string]>([
    [
      'a bad query (400)',
      answer(400, { status: 'error', errorType: 'bad_data', error: 'parse error at char 5' }),
      ['rejected'],
      'bad_data: parse error at char 5',
    ],
    [
      'an execution error (422)',
      answer(422, { status: 'error', errorType: 'execution', error: 'many-to-many matching not allowed' }),
      ['rejected'],
      'execution: many-to-many matching not allowed',
    ],
    ['a 404 page', answer(404, 'not found'), ['rejected'], 'HTTP 404'],
    ['an answer that is not JSON', answer(200, '<html>'), ['invalid-response'], 'the answer is not JSON'],
    [
      'a matrix',
      answer(200, { status: 'success', data: { resultType: 'matrix', result: [] } }),
      ['invalid-response'],
      'the answer is neither a vector nor a scalar',
    ],
    [
      'a server-side timeout (503)',
      answer(503, { status: 'error', errorType: 'timeout', error: 'query timed out' }),
      ['server-error', 'server-error'],
      'timeout: query timed out (retried once)',
    ],
    [
      'a proxy error page (502)',
      answer(502, 'Bad Gateway'),
      ['server-error', 'server-error'],
      'HTTP 502 (retried once)',
    ],
  ])('%s', async (_what, handler, expected, error) => {
    handle = handler;
    const { client, outcomes } = recorder();
    expect(await client.query(base, 'up', 1000)).toEqual({
      ok: false,
      error: `Prometheus at ${base}: ${error}`,
    });
    expect(outcomes).toEqual(expected);
  });

  test('a 5xx followed by an answer is an answer', async () => {
    let calls = 0;
    handle = (req, res) => (++calls === 1 ? answer(500, 'oops') : answer(200, vector('1')))(req, res);
    const { client, outcomes } = recorder();
    expect(await client.query(base, 'up', 1000)).toMatchObject({ ok: true, series: [{ value: 1 }] });
    expect(outcomes).toEqual(['server-error', 'success']);
  });

  test('no answer within the timeout', async () => {
    handle = () => undefined;
    const { client, outcomes } = recorder();
    expect(await client.query(base, 'up', 100)).toEqual({
      ok: false,
      error: `Prometheus at ${base}: no answer within 100ms (retried once)`,
    });
    expect(outcomes).toEqual(['timeout', 'timeout']);
  });

  test('nothing listening', async () => {
    const { client, outcomes } = recorder();
    const port = await freePort();
    expect(await client.query(`http://127.0.0.1:${port}`, 'up', 1000)).toEqual({
      ok: false,
      error: `Prometheus at http://127.0.0.1:${port}: connection refused (ECONNREFUSED) (retried once)`,
    });
    expect(outcomes).toEqual(['unreachable', 'unreachable']);
  });

  test('a server that did not answer is not asked again for a few seconds, then is', async () => {
    let clock = 0;
    const outcomes: QueryOutcome[] = [];
    const client = createPrometheusClient({ now: () => clock, onQuery: (_ms, o) => outcomes.push(o) });
    handle = () => undefined;
    await client.query(base, 'up', 50);
    expect(outcomes).toEqual(['timeout', 'timeout']);
    const fast = await client.query(base, 'up', 50);
    expect(fast).toEqual({
      ok: false,
      error: `Prometheus at ${base}: no answer within 50ms (not asked again for 5 s)`,
    });
    expect(outcomes).toHaveLength(2);
    clock += 5_000;
    handle = answer(200, vector('1'));
    expect((await client.query(base, 'up', 1000)).ok).toBe(true);
    expect(outcomes).toEqual(['timeout', 'timeout', 'success']);
  });

  // The last one's user-info is not percent-encoding: said, not thrown out of query().
  test.each(['not a url', 'ftp://prometheus:21', 'http://reader:s%E0%A4%A@prometheus:9090'])(
    'an address that is no http(s) URL: %p',
    async (address) => {
      expect(await createPrometheusClient().query(address, 'up', 1000)).toEqual({
        ok: false,
        error: 'the Prometheus address is not a valid http(s) URL',
      });
    },
  );
});

describe('credentials in the address', () => {
  test('go in an Authorization header and never into a message', async () => {
    handle = answer(401, 'unauthorized');
    const withUser = base.replace('http://', 'http://reader:s%40cret@');
    const result = await createPrometheusClient().query(withUser, 'up', 1000);
    expect(requests[0]?.headers.authorization).toBe(
      `Basic ${Buffer.from('reader:s@cret').toString('base64')}`,
    );
    expect(result).toEqual({ ok: false, error: `Prometheus at ${base}: HTTP 401` });
  });
});

describe('compression', () => {
  test('answers are asked for uncompressed: they are small, and inflating each costs more than it saves', async () => {
    handle = answer(200, vector('1'));
    await createPrometheusClient().query(base, 'up', 1000);
    expect(requests[0]?.headers['accept-encoding']).toBe('identity');
  });
});

describe('concurrency', () => {
  test('no more queries in flight than the limit, shared by every caller', async () => {
    let inFlight = 0;
    let most = 0;
    const pending: ServerResponse[] = [];
    handle = (_req, res) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      pending.push(res);
    };
    const client = createPrometheusClient({ maxConcurrent: 3 });
    const queries = Array.from({ length: 10 }, (_, i) => client.query(base, `q${i}`, 5000));
    // Wait for the limit to fill before each answer, so exceeding it would show.
    for (let answered = 0; answered < 10; answered += 1) {
      while (pending.length < Math.min(3, 10 - answered))
        await new Promise((resolve) => setImmediate(resolve));
      const res = pending.shift() as ServerResponse;
      inFlight -= 1;
      res
        .writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify(vector(String(answered))));
    }
    const results = await Promise.all(queries);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(most).toBe(3);
  });
});
