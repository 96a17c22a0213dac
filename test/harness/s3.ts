// A real S3-compatible server for backup tests: versitygw (built from its Go
// module into the cache by test/cluster/build.sh) serving a temporary
// directory, on a free port, with throwaway credentials.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir } from '../../image/spec.js';
import { s3Request, type S3Config } from '../../operator/backup/s3.js';
import { freePort } from './free-port.js';
import { spawnServer, type ServerProcess } from './process.js';
import { waitFor } from './wait.js';

const VERSION = 'v1.8.0';

export interface S3Server {
  readonly config: S3Config;
  /** The AWS_* variables a cutover command reads. */
  readonly env: Record<string, string>;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startS3(): Promise<S3Server> {
  const bin = join(cacheDir(), `versitygw-${VERSION}`, 'bin', 'versitygw');
  try {
    await access(bin, constants.X_OK);
  } catch {
    throw new Error(`versitygw not found at ${bin}: run \`make deps\` (test/cluster/build.sh s3)`);
  }
  const baseDir = await mkdtemp(join(tmpdir(), 'cutover-s3-'));
  const root = join(baseDir, 'root');
  await mkdir(root);
  const port = await freePort('127.0.0.1');
  const config: S3Config = {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    accessKey: `test${randomBytes(6).toString('hex')}`,
    secretKey: randomBytes(18).toString('base64url'),
  };
  const server: ServerProcess = spawnServer(
    bin,
    [
      '--access',
      config.accessKey,
      '--secret',
      config.secretKey,
      '--port',
      `127.0.0.1:${port}`,
      'posix',
      root,
    ],
    {
      logPath: join(baseDir, 'versitygw.log'),
      cwd: baseDir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    },
  );
  await waitFor(
    async () => (await fetch(`${config.endpoint}/`, { signal: AbortSignal.timeout(1_000) })).status > 0,
    {
      timeoutMs: 30_000,
      intervalMs: 100,
      description: `versitygw on port ${port}`,
      signal: server.exitSignal,
    },
  );
  return {
    config,
    env: {
      AWS_ENDPOINT_URL: config.endpoint,
      AWS_REGION: config.region,
      AWS_ACCESS_KEY_ID: config.accessKey,
      AWS_SECRET_ACCESS_KEY: config.secretKey,
    },
    async createBucket(name) {
      const res = await s3Request(config, 'PUT', name, '');
      if (!res.ok) throw new Error(`create bucket ${name}: HTTP ${res.status} ${await res.text()}`);
    },
    async stop() {
      await server.terminate('SIGTERM', 10_000);
      await rm(baseDir, { recursive: true, force: true });
    },
  };
}
