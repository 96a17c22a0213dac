import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify, inspect } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.js';
import { spawnServer, type RunAs, type ServerProcess } from './process.js';
import { waitFor } from './wait.js';

const execFileAsync = promisify(execFile);

/** Debian's PostgreSQL 15: server and client tools (pg_dump, pg_basebackup) of one version. */
export const DEFAULT_PG_BIN = '/usr/lib/postgresql/15/bin';
const HOST = '127.0.0.1';
const PORT_ATTEMPTS = 3;
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export interface StartPostgresOptions {
  /** Database the URL points at; created after start. Default `cutover`. */
  database?: string;
  /** Superuser created by initdb, with a generated password. Default `cutover`. */
  user?: string;
  /**
   * Turns on WAL archiving into `walArchiveDir`. Off by default because it
   * copies every 16 MB segment; point-in-time-recovery tests opt in.
   */
  archiveWal?: boolean;
  /** Extra postgresql.conf settings, e.g. `{ statement_timeout: '5s' }`. */
  settings?: Record<string, string | number | boolean>;
  /** Deadline for the server to accept connections. Default 60 s. */
  startTimeoutMs?: number;
}

export interface PostgresInstance {
  /** `postgres://user:password@127.0.0.1:port/database`, as an app would receive it. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  readonly binDir: string;
  readonly dataDir: string;
  /** Everything the instance owns lives under this directory; stop() removes it. */
  readonly baseDir: string;
  readonly walArchiveDir: string | undefined;
  /** Fast shutdown, wait for the postmaster to exit, remove `baseDir`. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a throwaway PostgreSQL cluster with password authentication on a free
 * port of 127.0.0.1, for integration tests that need the real server.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresInstance> {
  const binDir = process.env.PG_BIN ?? DEFAULT_PG_BIN;
  const user = options.user ?? 'cutover';
  const database = options.database ?? 'cutover';
  for (const [what, name] of [
    ['user', user],
    ['database', database],
  ] as const) {
    if (!IDENTIFIER.test(name))
      throw new Error(`startPostgres: ${what} ${JSON.stringify(name)} is not a plain identifier`);
  }
  for (const tool of ['initdb', 'postgres']) {
    try {
      await access(join(binDir, tool), constants.X_OK);
    } catch {
      throw new Error(
        `PostgreSQL ${tool} not found at ${join(binDir, tool)}: install postgresql-15 or set PG_BIN to its bin directory`,
      );
    }
  }
  const runAs = await runAsIdentity();

  // base64url needs no escaping in a URL or in a pwfile.
  const password = randomBytes(24).toString('base64url');
  const redact = (text: string): string => text.split(password).join('******');

  const baseDir = await mkdtemp(join(tmpdir(), 'cutover-pg-'));
  const dataDir = join(baseDir, 'data');
  const socketDir = join(baseDir, 'socket');
  const walArchiveDir = options.archiveWal ? join(baseDir, 'wal-archive') : undefined;
  let server: ServerProcess | undefined;
  try {
    if (runAs) await assertReachable(baseDir, runAs);
    for (const dir of [socketDir, walArchiveDir]) if (dir) await mkdir(dir, { mode: 0o700 });
    if (runAs) {
      for (const dir of [baseDir, socketDir, walArchiveDir]) if (dir) await chown(dir, runAs.uid, runAs.gid);
    }
    const env = childEnv();

    // The password goes through a file, never argv, where `ps` would show it.
    const pwfile = join(baseDir, 'pwfile');
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (runAs) await chown(pwfile, runAs.uid, runAs.gid);
    try {
      await execFileAsync(
        join(binDir, 'initdb'),
        [
          `--pgdata=${dataDir}`,
          `--username=${user}`,
          `--pwfile=${pwfile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--no-locale',
          '--no-sync',
          '--no-instructions',
        ],
        { cwd: baseDir, env, maxBuffer: 4 * 1024 * 1024, ...(runAs ?? {}) },
      );
    } finally {
      await rm(pwfile, { force: true });
    }

    // Written out in full rather than trusting initdb's defaults, so the
    // replication entries later backup tests depend on are guaranteed.
    await writeFile(
      join(dataDir, 'pg_hba.conf'),
      [
        '# TYPE  DATABASE     USER  ADDRESS       METHOD',
        'local   all          all                 scram-sha-256',
        'host    all          all   127.0.0.1/32  scram-sha-256',
        'local   replication  all                 scram-sha-256',
        'host    replication  all   127.0.0.1/32  scram-sha-256',
        '',
      ].join('\n'),
    );
    const confPath = join(dataDir, 'postgresql.conf');
    const initdbConf = await readFile(confPath, 'utf8');

    const startTimeoutMs = options.startTimeoutMs ?? 60_000;
    let port = 0;
    for (let attempt = 1; ; attempt += 1) {
      port = await freePort(HOST);
      await writeFile(
        confPath,
        initdbConf + settingsBlock({ port, socketDir, walArchiveDir, extra: options.settings ?? {} }),
      );
      const logPath = join(baseDir, 'postgres.log');
      await rm(logPath, { force: true });
      server = spawnServer(join(binDir, 'postgres'), ['-D', dataDir], { logPath, cwd: baseDir, env, runAs });
      try {
        await waitFor(
          () => connectAndRun({ host: HOST, port, user, password, database: 'postgres' }, 'SELECT 1'),
          {
            timeoutMs: startTimeoutMs,
            intervalMs: 50,
            description: `PostgreSQL on ${HOST}:${port} to accept connections`,
            signal: server.exitSignal,
          },
        );
        break;
      } catch (err) {
        if (!server.exitSignal.aborted) throw err;
        const log = await server.logTail();
        // freePort() cannot reserve the port; losing the race is not a failure.
        if (attempt < PORT_ATTEMPTS && /could not bind|address already in use/i.test(log)) continue;
        throw new Error(`${errorMessage(server.exitSignal.reason)}; server log:\n${log}`);
      }
    }

    if (database !== 'postgres') {
      await connectAndRun(
        { host: HOST, port, user, password, database: 'postgres' },
        `CREATE DATABASE "${database}"`,
      );
    }
    return new PostgresServer({
      port,
      database,
      user,
      password,
      binDir,
      dataDir,
      baseDir,
      walArchiveDir,
      server,
    });
  } catch (err) {
    // Immediate shutdown: nothing in a cluster that failed to start is worth a checkpoint.
    await server?.terminate('SIGQUIT', 10_000);
    await rm(baseDir, { recursive: true, force: true });
    // A fresh error without `cause`: the original may carry connection details.
    throw new Error(redact(`could not start PostgreSQL from ${binDir}: ${errorMessage(err)}`));
  }
}

/**
 * Starts PostgreSQL on a data directory restored from a backup of `source`
 * (same user and password), on a free port of its own. The directory is
 * handed to the server's user first; stop() removes it with the rest.
 */
export async function startRestoredPostgres(
  source: PostgresInstance,
  dataDir: string,
  options: { startTimeoutMs?: number } = {},
): Promise<PostgresInstance> {
  const runAs = await runAsIdentity();
  const baseDir = dirname(dataDir);
  const socketDir = await mkdtemp(join(baseDir, 'socket-'));
  if (runAs) {
    await execFileAsync('chown', ['-R', `${runAs.uid}:${runAs.gid}`, baseDir]);
    await assertReachable(dataDir, runAs);
  }
  const port = await freePort(HOST);
  // The restored postgresql.conf still names the source's port, socket and WAL archive.
  const args = [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-k',
    socketDir,
    '-c',
    `listen_addresses=${HOST}`,
    '-c',
    'archive_mode=off',
  ];
  const server = spawnServer(join(source.binDir, 'postgres'), args, {
    logPath: join(baseDir, 'postgres.log'),
    cwd: baseDir,
    env: childEnv(),
    runAs,
  });
  try {
    const config = { host: HOST, port, user: source.user, password: source.password, database: 'postgres' };
    await waitFor(() => connectAndRun(config, 'SELECT 1'), {
      timeoutMs: options.startTimeoutMs ?? 60_000,
      intervalMs: 50,
      description: `restored PostgreSQL on ${HOST}:${port} to accept connections`,
      signal: server.exitSignal,
    });
  } catch (err) {
    const log = await server.logTail();
    await server.terminate('SIGQUIT', 10_000);
    throw new Error(`${errorMessage(err)}; server log:\n${log}`);
  }
  return new PostgresServer({
    port,
    database: source.database,
    user: source.user,
    password: source.password,
    binDir: source.binDir,
    dataDir,
    baseDir,
    walArchiveDir: undefined,
    server,
  });
}

interface PostgresServerInit {
  port: number;
  database: string;
  user: string;
  password: string;
  binDir: string;
  dataDir: string;
  baseDir: string;
  walArchiveDir: string | undefined;
  server: ServerProcess;
}

class PostgresServer implements PostgresInstance {
  readonly host = HOST;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  readonly binDir: string;
  readonly dataDir: string;
  readonly baseDir: string;
  readonly walArchiveDir: string | undefined;
  readonly #server: ServerProcess;
  #stopping: Promise<void> | undefined;

  constructor(init: PostgresServerInit) {
    this.port = init.port;
    this.database = init.database;
    this.user = init.user;
    this.password = init.password;
    this.binDir = init.binDir;
    this.dataDir = init.dataDir;
    this.baseDir = init.baseDir;
    this.walArchiveDir = init.walArchiveDir;
    this.#server = init.server;
  }

  get url(): string {
    return `postgres://${this.user}:${encodeURIComponent(this.password)}@${this.host}:${this.port}/${this.database}`;
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      // SIGINT is PostgreSQL's "fast" shutdown: roll back sessions, checkpoint, exit.
      await this.#server.terminate('SIGINT', 30_000);
      await rm(this.baseDir, { recursive: true, force: true });
    })();
    return this.#stopping;
  }

  // Test failures print objects they touch; keep the password out of them.
  [inspect.custom](): string {
    return `PostgresInstance(postgres://${this.user}:******@${this.host}:${this.port}/${this.database})`;
  }

  toJSON(): Record<string, unknown> {
    return { host: this.host, port: this.port, database: this.database, user: this.user, password: '******' };
  }
}

interface ConnectionConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

async function connectAndRun(config: ConnectionConfig, sql: string): Promise<true> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 5_000 });
  // A server going away mid-attempt emits 'error'; the awaited calls report it.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(sql);
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function settingsBlock(input: {
  port: number;
  socketDir: string;
  walArchiveDir: string | undefined;
  extra: Record<string, string | number | boolean>;
}): string {
  const settings: Record<string, string | number | boolean> = {
    listen_addresses: HOST,
    port: input.port,
    unix_socket_directories: input.socketDir,
    // Durability is worthless in a cluster that lives for one test run.
    fsync: false,
    synchronous_commit: false,
    // full_page_writes stays on: base backups and PITR replay rely on it.
    wal_level: 'replica',
    max_wal_senders: 4,
    max_replication_slots: 4,
    archive_mode: input.walArchiveDir !== undefined,
    ...(input.walArchiveDir
      ? { archive_command: `test ! -f '${input.walArchiveDir}/%f' && cp '%p' '${input.walArchiveDir}/%f'` }
      : {}),
    shared_buffers: '32MB',
    logging_collector: false,
    timezone: 'UTC',
    ...input.extra,
  };
  const lines = Object.entries(settings).map(([name, value]) => {
    if (!IDENTIFIER.test(name))
      throw new Error(`startPostgres: setting name ${JSON.stringify(name)} is invalid`);
    return `${name} = ${confValue(value)}`;
  });
  return `\n# Added by test/harness/postgres.ts\n${lines.join('\n')}\n`;
}

function confValue(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'number') return String(value);
  return `'${value.replaceAll("'", "''")}'`;
}

// Passing the parent's environment would hand PG* variables (PGPASSWORD, say)
// and the parent's locale to the server; a fixed one keeps runs reproducible.
function childEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C', TZ: 'UTC' };
}

/**
 * PostgreSQL refuses to run as root. As root, run it as the `postgres` system
 * user (or PG_RUN_AS); as anyone else, run it as ourselves.
 */
async function runAsIdentity(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const name = process.env.PG_RUN_AS ?? 'postgres';
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const [entry, , uid, gid] = line.split(':');
    if (entry === name && uid !== undefined && gid !== undefined)
      return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error(
    `PostgreSQL refuses to run as root and there is no '${name}' user to run it as: create one or set PG_RUN_AS`,
  );
}

// initdb's own error for an unreachable directory is a bare "permission
// denied"; name the directory that blocks the way instead.
async function assertReachable(dir: string, who: RunAs): Promise<void> {
  for (let current = dirname(dir); ; current = dirname(current)) {
    const info = await stat(current);
    const searchable =
      (info.mode & 0o001) !== 0 ||
      (info.uid === who.uid && (info.mode & 0o100) !== 0) ||
      (info.gid === who.gid && (info.mode & 0o010) !== 0);
    if (!searchable) {
      throw new Error(
        `uid ${who.uid} cannot reach ${dir} because ${current} is not searchable for it: set TMPDIR to a world-searchable directory`,
      );
    }
    if (current === dirname(current)) return;
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
