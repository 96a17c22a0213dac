// One POST to a webhook, as an Attempt. Nothing here logs: the caller gets a
// status or an error in words that never include the URL.
import { describeNetworkError, retryAfterMs, type Attempt } from './retry.js';

export const POST_TIMEOUT_MS = 10_000;

export type Post = (url: string, body: string) => Promise<Attempt>;

export interface PostOptions {
  timeoutMs?: number;
  fetch?: typeof fetch;
  userAgent?: string;
}

export function createPost({
  timeoutMs = POST_TIMEOUT_MS,
  fetch: fetchFn = fetch,
  userAgent = 'cutover',
}: PostOptions = {}): Post {
  return async (raw, body) => {
    const target = parseTarget(raw);
    if (typeof target === 'string') return { kind: 'error', error: target };
    try {
      const res = await fetchFn(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': userAgent, ...target.headers },
        body,
        // A redirect is an answer: following it could send the body somewhere the Secret never named.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Only the status matters; reading nothing more frees the connection.
      await res.body?.cancel().catch(() => undefined);
      return {
        kind: 'response',
        status: res.status,
        retryAfterMs: retryAfterMs(res.headers.get('retry-after')),
      };
    } catch (err) {
      return { kind: 'error', error: describeNetworkError(err, timeoutMs) };
    }
  };
}

/**
 * fetch refuses a URL with user-info, so user:password@ becomes a Basic
 * Authorization header. Only http and https are POSTed to.
 */
function parseTarget(raw: string): { url: URL; headers: Record<string, string> } | string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return 'the Secret does not hold a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'the URL is not http or https';
  const headers: Record<string, string> = {};
  if (url.username || url.password) {
    let user: string;
    let pass: string;
    try {
      user = decodeURIComponent(url.username);
      pass = decodeURIComponent(url.password);
    } catch {
      return 'the user or password in the URL is not valid percent-encoding';
    }
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  return { url, headers };
}
