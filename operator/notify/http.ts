// One POST to a webhook, as an Attempt. Nothing here logs: the caller gets a
// status or an error in words that never include the URL.
import { httpTarget, networkError, timedOut, type TargetProblem } from '../runtime/http-target.js';
import { retryAfterMs, type Attempt } from './retry.js';

export const POST_TIMEOUT_MS = 10_000;

export type Post = (url: string, body: string) => Promise<Attempt>;

export function createPost({ timeoutMs = POST_TIMEOUT_MS } = {}): Post {
  return async (raw, body) => {
    const target = httpTarget(raw);
    if (typeof target === 'string') return { kind: 'error', error: PROBLEMS[target] };
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'cutover', ...target.headers },
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

const PROBLEMS: Readonly<Record<TargetProblem, string>> = {
  'not-a-url': 'the Secret does not hold a URL',
  'not-http': 'the URL is not http or https',
  'bad-user-info': 'the user or password in the URL is not valid percent-encoding',
};

/** A failed POST in words, without the URL. */
export function describeNetworkError(err: unknown, timeoutMs: number): string {
  return timedOut(err) ? `no answer within ${timeoutMs / 1000} s` : networkError(err);
}
