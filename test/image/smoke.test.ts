// The image `make image` built, run as a container would run it: unpacked
// from its OCI archive by umoci, as its own non-root user, on a read-only
// root filesystem with nothing writable at all. The operator inside it talks
// to the local cluster, `cutover migrate` to a throwaway PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../harness/free-port.js';
import { builtImage, runInImage, startInImage, type UnpackedImage, unpackImage } from '../harness/image.js';
import { installCrds, kubectl } from '../harness/kube.js';
import { operatorArgs, waitOperatorReady } from '../harness/operator.js';
import { startPostgres, type PostgresInstance } from '../harness/postgres.js';
import { waitFor } from '../harness/wait.js';

const root = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const run = promisify(execFile);

let image: UnpackedImage;
/** Host directory the image sees, read-only, at /tmp. */
let files: string;

beforeAll(async () => {
  image = await unpackImage(builtImage());
  files = await mkdtemp(join(tmpdir(), 'cutover-image-files-'));
  // Owned by the image's user: the kubeconfig in it holds a client key (mode 0600).
  await chown(files, image.process.user.uid, image.process.user.gid);
}, 120_000);

afterAll(async () => {
  await image?.remove();
  if (files) await rm(files, { recursive: true, force: true });
});

/** Writes a file for the image's user into the directory it sees at /tmp. */
async function give(name: string, content: string): Promise<string> {
  const { uid, gid } = image.process.user;
  const path = join(files, name);
  const dir = dirname(path);
  if (dir !== files) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chown(dir, uid, gid);
  }
  await writeFile(path, content, { mode: 0o600 });
  await chown(path, uid, gid);
  return `/tmp/${name}`;
}

describe('the image', () => {
  it('runs as the non-root user 65532 through the cutover entrypoint, labelled with version and commit', async () => {
    expect(image.process.user).toMatchObject({ uid: 65532, gid: 65532 });
    expect(image.process.args).toEqual(['/usr/local/bin/cutover']);
    expect(image.annotations['org.opencontainers.image.version']).toBe(pkg.version);
    const head = (await run('git', ['-C', root, 'rev-parse', 'HEAD'])).stdout.trim();
    expect(image.annotations['org.opencontainers.image.revision']).toMatch(new RegExp(`^${head}(-dirty)?$`));
    expect(image.annotations['org.opencontainers.image.created']).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );

    const version = await runInImage(image, ['--version'], { files });
    expect(version).toMatchObject({ code: 0, stdout: `cutover ${pkg.version}\n` });
  });

  it('gets a root filesystem with nothing writable, so what passes below needs no volume', async () => {
    const probe = await runInImage(image, ['/tmp/probe', '/home/cutover/probe', '/app/probe'], {
      files,
      entrypoint: ['/usr/bin/touch'],
    });
    expect(probe.code).not.toBe(0);
    expect(probe.stderr.match(/Read-only file system/g)).toHaveLength(3);
  });

  it('has the kubectl plugin on PATH and the PostgreSQL 15 tools the backup commands call', async () => {
    const plugin = await runInImage(image, ['--help'], { files, entrypoint: ['kubectl-cutover'] });
    expect(plugin.code).toBe(0);
    expect(plugin.stdout).toContain('status <release>');
    for (const tool of [
      'pg_dump',
      'pg_restore',
      'pg_basebackup',
      'pg_receivewal',
      'pg_waldump',
      'psql',
      'postgres',
    ]) {
      const out = await runInImage(image, ['--version'], {
        files,
        entrypoint: [`/usr/lib/postgresql/15/bin/${tool}`],
      });
      expect({ tool, code: out.code, stdout: out.stdout }).toMatchObject({
        tool,
        code: 0,
        stdout: expect.stringMatching(/\(PostgreSQL\) 15\./),
      });
    }
  });

  describe('cutover migrate --dry-run', () => {
    let db: PostgresInstance;
    beforeAll(async () => {
      db = await startPostgres({ database: 'smoke' });
    });
    afterAll(async () => {
      await db?.stop();
    });

    it('runs the pending migrations against PostgreSQL and rolls them back', async () => {
      await give('migrations/001_orders.up.sql', 'CREATE TABLE orders (id bigint PRIMARY KEY);\n');
      await give('migrations/001_orders.down.sql', 'DROP TABLE orders;\n');

      const out = await runInImage(image, ['migrate', '--dir', '/tmp/migrations', '--dry-run'], {
        files,
        env: { DATABASE_URL: db.url },
      });
      expect({ code: out.code, stderr: out.stderr }).toEqual({ code: 0, stderr: '' });
      expect(out.stdout).toContain('done (dry run, nothing kept): 1 applied, 0 already applied');
      expect(out.stdout).not.toContain(db.password);

      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ t: string | null }>(
          `SELECT to_regclass('public.orders')::text AS t`,
        );
        expect(rows).toEqual([{ t: null }]);
      } finally {
        await client.end();
      }
    });
  });

  it('runs the operator against the local cluster until it holds the leader lease, and stops on SIGTERM', async () => {
    await installCrds();
    // The lease other tests use stays untouched: an operator from the image must
    // not take over from (or wait behind) one a test has started.
    const lease = `image-smoke-${process.pid}`;
    const identity = `image-smoke-${process.pid}`;
    const kubeconfig = await give(
      'kubeconfig',
      await kubectl('config', 'view', '--raw', '--flatten', '--minify'),
    );
    const port = await freePort();
    const op = startInImage(image, operatorArgs(port, { kubeconfig, identity, leaseName: lease }), {
      files,
      logPath: join(tmpdir(), `cutover-image-operator-${process.pid}.log`),
    });
    try {
      const holder = await waitFor(
        async () => {
          const h = await kubectl(
            '-n',
            'default',
            'get',
            'lease',
            lease,
            '-o',
            'jsonpath={.spec.holderIdentity}',
          );
          return h === identity && h;
        },
        {
          timeoutMs: 60_000,
          intervalMs: 250,
          description: `lease ${lease} held by ${identity}`,
          signal: op.exitSignal,
        },
      ).catch(async (err: unknown) => {
        throw new Error(`${String(err)}\noperator log:\n${await op.logTail()}`);
      });
      expect(holder).toBe(identity);
      await waitOperatorReady(port, op.exitSignal);
      const status = await op.terminate('SIGTERM', 15_000);
      expect(status).toMatchObject({ code: 0, signal: null });
    } finally {
      await op.terminate('SIGKILL', 0);
      await kubectl('-n', 'default', 'delete', 'lease', lease, '--ignore-not-found');
      await rm(op.logPath, { force: true });
    }
  });
});
