// An http(s) address as fetch takes it, and a failed fetch in words: shared by
// the webhooks (notify/http.ts) and the Prometheus client. Either address may
// hold a password, so nothing here repeats an address or an error's message.

export interface HttpTarget {
  /** The address without its user-info. */
  url: URL;
  /** An Authorization header when the address had user-info. */
  headers: Record<string, string>;
}

/** Why an address is not a target; each caller says it in its own words. */
export type TargetProblem = 'not-a-url' | 'not-http' | 'bad-user-info';

/**
 * fetch refuses a URL with user-info, so user:password@ becomes a Basic
 * Authorization header. Only http and https are targets.
 */
export function httpTarget(raw: string): HttpTarget | TargetProblem {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return 'not-a-url';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'not-http';
  const headers: Record<string, string> = {};
  if (url.username || url.password) {
    let pair: string;
    try {
      pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    } catch {
      return 'bad-user-info';
    }
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  return { url, headers };
}

/** Whether a fetch gave up for want of an answer within its signal's timeout. */
export function timedOut(err: unknown): boolean {
  // DOMException is not an Error in every realm: its name is what counts.
  const name = (err as { name?: unknown } | undefined)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connect timeout',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'no answer in time',
};

/**
 * A failed fetch in words, from its error code (fetch says only "fetch failed";
 * the code is on its cause). Never the message: it carries the address. An
 * unknown code is shown; `withCode` shows a known one too.
 */
export function networkError(err: unknown, { withCode = false } = {}): string {
  const code = codeOf(err) ?? codeOf((err as { cause?: unknown } | undefined)?.cause);
  if (code === undefined || !/^[A-Z][A-Z0-9_]*$/.test(code)) return 'network error';
  const words = NETWORK_ERRORS[code];
  if (words === undefined) return `network error (${code})`;
  return withCode ? `${words} (${code})` : words;
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
