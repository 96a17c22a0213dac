// S3-compatible object storage over its REST API, path-style, signed with
// AWS Signature Version 4 (our own signer: a few HMACs, no SDK in the image).
// Endpoint, region and credentials come from the standard AWS variables:
// AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.
import { createHash, createHmac } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StorageError, sha256Tap, type Storage } from './storage.js';

export interface S3Config {
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
}

/**
 * `prefix` names another set of the same variables (CUTOVER_REPLICA_1_AWS_…):
 * a second region has its own endpoint and keys.
 */
export function s3ConfigFrom(env: NodeJS.ProcessEnv, prefix = ''): S3Config {
  const endpoint = env[`${prefix}AWS_ENDPOINT_URL`];
  const accessKey = env[`${prefix}AWS_ACCESS_KEY_ID`];
  const secretKey = env[`${prefix}AWS_SECRET_ACCESS_KEY`];
  if (!endpoint || !accessKey || !secretKey) {
    throw new StorageError(
      `s3:// needs ${prefix}AWS_ENDPOINT_URL, ${prefix}AWS_ACCESS_KEY_ID and ${prefix}AWS_SECRET_ACCESS_KEY`,
    );
  }
  return {
    endpoint: endpoint.replace(/\/+$/, ''),
    region: env[`${prefix}AWS_REGION`] ?? 'us-east-1',
    accessKey,
    secretKey,
  };
}

const EMPTY = createHash('sha256').update('').digest('hex');
const encode = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

interface RequestOptions {
  query?: Record<string, string>;
  body?: Buffer | Readable;
  length?: number;
  /** sha256 of a body given whole; a streamed body goes UNSIGNED-PAYLOAD. */
  payloadHash?: string;
}

interface Signed {
  url: string;
  headers: Record<string, string>;
}

/** One signed request. `key` is the object key ('' for the bucket itself). */
export async function s3Request(
  c: S3Config,
  method: string,
  bucket: string,
  key: string,
  opts: RequestOptions = {},
): Promise<Response> {
  const { url, headers } = sign(c, method, bucket, key, opts);
  const body = opts.body instanceof Readable ? (Readable.toWeb(opts.body) as ReadableStream) : opts.body;
  try {
    return await fetch(url, { method, headers, body, duplex: 'half' } as RequestInit);
  } catch (err) {
    throw unreachable(c, err);
  }
}

/**
 * A network failure names the endpoint it could not reach and why, not just
 * "fetch failed": this line is what a stalled rollout shows its user.
 */
function unreachable(c: S3Config, err: unknown): StorageError {
  return new StorageError(`cannot reach S3 at ${c.endpoint}: ${socketCode(err) ?? messageOf(err)}`);
}

// Duck-typed: under test runners fetch's errors come from another realm, where instanceof fails.
function socketCode(err: unknown, depth = 0): string | undefined {
  if (typeof err !== 'object' || err === null || depth > 3) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string') return e.code;
  for (const inner of Array.isArray(e.errors) ? (e.errors as unknown[]) : []) {
    const code = socketCode(inner, depth + 1);
    if (code) return code;
  }
  return socketCode(e.cause, depth + 1);
}

function messageOf(err: unknown): string {
  const m = (err as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : String(err);
}

function sign(c: S3Config, method: string, bucket: string, key: string, opts: RequestOptions = {}): Signed {
  const url = new URL(c.endpoint);
  const path = `/${[bucket, ...key.split('/')]
    .filter((p, i) => i === 0 || key !== '')
    .map(encode)
    .join('/')}`;
  const query = Object.entries(opts.query ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .join('&');
  const amzDate = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const payload = opts.payloadHash ?? (opts.body === undefined ? EMPTY : 'UNSIGNED-PAYLOAD');
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-content-sha256': payload,
    'x-amz-date': amzDate,
  };
  if (opts.length !== undefined) headers['content-length'] = String(opts.length);
  const signed = Object.keys(headers).sort();
  const canonical = [
    method,
    `${url.pathname.replace(/\/$/, '')}${path}`,
    query,
    ...signed.map((h) => `${h}:${headers[h] ?? ''}`),
    '',
    signed.join(';'),
    payload,
  ].join('\n');
  const scope = `${day}/${c.region}/s3/aws4_request`;
  const toSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n');
  const key4 = hmac(hmac(hmac(hmac(`AWS4${c.secretKey}`, day), c.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key4).update(toSign).digest('hex');
  const { host: _host, ...sent } = headers;
  return {
    url: `${url.origin}${url.pathname.replace(/\/$/, '')}${path}${query ? `?${query}` : ''}`,
    headers: {
      ...sent,
      authorization: `AWS4-HMAC-SHA256 Credential=${c.accessKey}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`,
    },
  };
}

/**
 * A large object straight to a file through node:http: fetch's parser
 * tripped an internal assertion when the server ended the connection while
 * a multi-megabyte body was still being read under backpressure.
 */
function download(c: S3Config, bucket: string, key: string, path: string, tap: Transform): Promise<number> {
  const { url, headers } = sign(c, 'GET', bucket, key);
  const get = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = get(url, { method: 'GET', headers }, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        res.resume();
        return resolve(status);
      }
      pipeline(res, tap, createWriteStream(path)).then(() => resolve(status), reject);
    });
    req.on('error', (err) => reject(unreachable(c, err)));
    req.end();
  });
}

/**
 * A file as one object through node:http, read in 1 MiB chunks: fetch with a
 * web stream body moved half as many bytes per second (a 64 MiB object).
 * Resolves with the status and the body of the answer; `tap` sees the bytes sent.
 */
function upload(
  c: S3Config,
  bucket: string,
  key: string,
  path: string,
  size: number,
  tap: Transform,
): Promise<Response> {
  const { url, headers } = sign(c, 'PUT', bucket, key, { length: size, payloadHash: 'UNSIGNED-PAYLOAD' });
  const put = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = put(url, { method: 'PUT', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0 })));
      res.on('error', reject);
    });
    req.on('error', (err) => reject(unreachable(c, err)));
    // A socket error reaches req's listener first; what is left is the file's own.
    pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), tap, req).catch(reject);
  });
}

export class S3Storage implements Storage {
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(
    readonly uri: string,
    private readonly c: S3Config,
  ) {
    const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(uri);
    if (!m) throw new StorageError(`${uri}: not an s3://bucket/prefix URI`);
    this.bucket = m[1] ?? '';
    this.prefix = (m[2] ?? '').replace(/\/+$/, '');
  }

  private key(k: string): string {
    return this.prefix ? `${this.prefix}/${k}` : k;
  }

  private async check(res: Response, what: string): Promise<void> {
    if (res.ok) return;
    const text = await res.text();
    const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? `HTTP ${res.status}`;
    if (code === 'NoSuchBucket')
      throw new StorageError(`bucket ${this.bucket} does not exist at ${this.c.endpoint}`);
    throw new StorageError(`${what} ${this.uri}: ${code}`);
  }

  async putFile(key: string, path: string): Promise<string> {
    const { size } = await stat(path);
    const hash = sha256Tap();
    const res = await upload(this.c, this.bucket, this.key(key), path, size, hash.tap);
    await this.check(res, `put ${key} into`);
    return hash.digest();
  }

  async putText(key: string, text: string): Promise<void> {
    const body = Buffer.from(text);
    const payloadHash = createHash('sha256').update(body).digest('hex');
    const res = await s3Request(this.c, 'PUT', this.bucket, this.key(key), {
      body,
      length: body.length,
      payloadHash,
    });
    await this.check(res, `put ${key} into`);
  }

  async getFile(key: string, path: string): Promise<string> {
    const hash = sha256Tap();
    const status = await download(this.c, this.bucket, this.key(key), path, hash.tap);
    if (status !== 200) throw new StorageError(`get ${key} from ${this.uri}: HTTP ${status}`);
    return hash.digest();
  }

  async getText(key: string): Promise<string | undefined> {
    const res = await s3Request(this.c, 'GET', this.bucket, this.key(key));
    if (res.status === 404 && /NoSuchKey/.test(await res.clone().text())) return undefined;
    await this.check(res, `get ${key} from`);
    return res.text();
  }

  /** Deletes every object under `prefix` (what a failed backup left). */
  async remove(prefix: string): Promise<void> {
    const p = `${this.key(prefix).replace(/\/?$/, '/')}`;
    // Listing again after each page of deletes: what was deleted is no longer listed.
    for (;;) {
      const res = await s3Request(this.c, 'GET', this.bucket, '', { query: { 'list-type': '2', prefix: p } });
      await this.check(res, 'list');
      const keys = [...(await res.text()).matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1] ?? '');
      if (keys.length === 0) return;
      for (const k of keys)
        await this.check(await s3Request(this.c, 'DELETE', this.bucket, k), 'delete from');
    }
  }

  async delete(key: string): Promise<void> {
    // S3 answers 204 whether or not the key existed.
    await this.check(await s3Request(this.c, 'DELETE', this.bucket, this.key(key)), `delete ${key} from`);
  }

  async list(prefix: string): Promise<string[]> {
    const p = `${this.key(prefix).replace(/\/?$/, '/')}`;
    const out: string[] = [];
    let token: string | undefined;
    do {
      const query: Record<string, string> = { 'list-type': '2', prefix: p, delimiter: '/' };
      if (token) query['continuation-token'] = token;
      const res = await s3Request(this.c, 'GET', this.bucket, '', { query });
      await this.check(res, 'list');
      const xml = await res.text();
      for (const m of xml.matchAll(/<CommonPrefixes><Prefix>([^<]+)<\/Prefix><\/CommonPrefixes>/g)) {
        out.push(unprefix(this.prefix, (m[1] ?? '').replace(/\/$/, '')));
      }
      for (const m of xml.matchAll(/<Contents>.*?<Key>([^<]+)<\/Key>.*?<\/Contents>/gs))
        out.push(unprefix(this.prefix, m[1] ?? ''));
      token = /<IsTruncated>true<\/IsTruncated>/.test(xml)
        ? /<NextContinuationToken>([^<]+)</.exec(xml)?.[1]
        : undefined;
    } while (token);
    return out;
  }
}

function unprefix(prefix: string, key: string): string {
  return prefix && key.startsWith(`${prefix}/`) ? key.slice(prefix.length + 1) : key;
}
