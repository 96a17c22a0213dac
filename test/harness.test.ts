import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify, inspect } from 'node:util';
import pg from 'pg';
import { register as globalRegistry } from 'prom-client';
import { startAppMetrics, type AppMetricsServer } from './harness/app-metrics.js';
import { startPostgres, type PostgresInstance } from './harness/postgres.js';
import { startPrometheus, type PrometheusInstance } from './harness/prometheus.js';
import { waitFor } from './harness/wait.js';

const execFileAsync = promisify(execFile);

// Passed explicitly: jest-circus reads testTimeout only from the global
// config, so the integration project's own setting does not reach it.
const SLOW_MS = 120_000;

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The error code a connection attempt fails with, or 'connected'. */
async function connectOutcome(config: pg.ClientConfig): Promise<string> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.end();
    return 'connected';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

async function fetchOutcome(url: string): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return `HTTP ${res.status}`;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    return cause?.code ?? String(err);
  }
}

describe('startPostgres', () => {
  let db: PostgresInstance | undefined;
  const started = (): PostgresInstance => {
    if (!db) throw new Error('PostgreSQL was not started by the first test');
    return db;
  };

  afterAll(async () => {
    await db?.stop();
  }, SLOW_MS);

  it(
    'runs PostgreSQL 15 behind a postgres:// URL with a password',
    async () => {
      db = await startPostgres();
      const url = new URL(db.url);
      expect(url.protocol).toBe('postgres:');
      expect(url.hostname).toBe('127.0.0.1');
      expect(Number(url.port)).toBe(db.port);
      expect(url.username).toBe(db.user);
      expect(decodeURIComponent(url.password)).toBe(db.password);
      expect(db.password.length).toBeGreaterThanOrEqual(24);
      expect(url.pathname).toBe(`/${db.database}`);

      const major = await withClient(db.url, async (c) => {
        const r = await c.query<{ major: number }>(
          "SELECT current_setting('server_version_num')::int / 10000 AS major",
        );
        return r.rows[0]?.major;
      });
      expect(major).toBe(15);
    },
    SLOW_MS,
  );

  it('stores and reads back data in the database the URL names', async () => {
    const rows = await withClient(started().url, async (c) => {
      await c.query('CREATE TABLE widgets (id int PRIMARY KEY, name text NOT NULL)');
      await c.query("INSERT INTO widgets VALUES (1, 'sprocket'), (2, 'gear')");
      const r = await c.query<{ db: string; id: number; name: string }>(
        'SELECT current_database() AS db, id, name FROM widgets ORDER BY id',
      );
      return r.rows;
    });
    expect(rows).toEqual([
      { db: started().database, id: 1, name: 'sprocket' },
      { db: started().database, id: 2, name: 'gear' },
    ]);
  });

  it('enforces password authentication', async () => {
    const { host, port, user, database } = started();
    expect(await connectOutcome({ host, port, user, database, password: 'wrong' })).toBe('28P01');
  });

  it('is configured for base backups and WAL streaming', async () => {
    const db = started();
    const settings = await withClient(db.url, async (c) => {
      const r = await c.query<{ wal_level: string; senders: number; replication_rules: number }>(
        `SELECT current_setting('wal_level') AS wal_level,
                current_setting('max_wal_senders')::int AS senders,
                (SELECT count(*)::int FROM pg_hba_file_rules WHERE 'replication' = ANY(database)) AS replication_rules`,
      );
      return r.rows[0];
    });
    expect(settings).toEqual({ wal_level: 'replica', senders: expect.any(Number), replication_rules: 2 });
    expect(settings?.senders).toBeGreaterThan(0);

    // A physical replication connection, as pg_basebackup opens it.
    const system = await withClient(`${db.url}?replication=true`, async (c) => {
      const r = await c.query<{ systemid: string; timeline: number }>('IDENTIFY_SYSTEM');
      return r.rows[0];
    });
    expect(system?.systemid).toMatch(/^\d+$/);
    expect(Number(system?.timeline)).toBe(1);
  });

  it('has client tools that match the server', async () => {
    const db = started();
    const { stdout } = await execFileAsync(
      join(db.binDir, 'pg_dump'),
      [
        '--host',
        db.host,
        '--port',
        String(db.port),
        '--username',
        db.user,
        '--schema-only',
        '--table',
        'widgets',
        db.database,
      ],
      { env: { PGPASSWORD: db.password, PATH: process.env.PATH ?? '/usr/bin:/bin' } },
    );
    expect(stdout).toContain('CREATE TABLE public.widgets');
    expect(stdout).toMatch(/Dumped from database version 15\./);
  });

  it('keeps the password out of printed and serialised forms', () => {
    const db = started();
    expect(inspect(db)).toContain(`127.0.0.1:${db.port}`);
    expect(inspect(db)).not.toContain(db.password);
    expect(JSON.stringify(db)).not.toContain(db.password);
  });

  it(
    'archives WAL when asked to',
    async () => {
      const archiving = await startPostgres({ archiveWal: true, database: 'pitr' });
      try {
        const archiveDir = archiving.walArchiveDir;
        if (archiveDir === undefined) throw new Error('walArchiveDir is not set');
        const segment = await withClient(archiving.url, async (c) => {
          await c.query('CREATE TABLE t AS SELECT generate_series(1, 1000) AS n');
          const r = await c.query<{ segment: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS segment');
          return r.rows[0]?.segment;
        });
        expect(segment).toMatch(/^[0-9A-F]{24}$/);
        await waitFor(() => existsSync(join(archiveDir, String(segment))), {
          timeoutMs: 30_000,
          description: `WAL segment ${String(segment)} to be archived`,
        });
        expect(existsSync(join(archiveDir, String(segment)))).toBe(true);
      } finally {
        await archiving.stop();
      }
      expect(existsSync(archiving.baseDir)).toBe(false);
    },
    SLOW_MS,
  );

  it('names a missing PG_BIN without leaking anything', async () => {
    const saved = process.env.PG_BIN;
    process.env.PG_BIN = '/nonexistent/pg/bin';
    try {
      await expect(startPostgres()).rejects.toThrow(
        'PostgreSQL initdb not found at /nonexistent/pg/bin/initdb: install postgresql-15 or set PG_BIN',
      );
    } finally {
      if (saved === undefined) delete process.env.PG_BIN;
      else process.env.PG_BIN = saved;
    }
  });

  it(
    'stop() shuts the server down and removes its directory',
    async () => {
      const db = started();
      const { host, port, user, password, database, baseDir, dataDir } = db;
      expect(existsSync(dataDir)).toBe(true);
      await db.stop();
      expect(await connectOutcome({ host, port, user, password, database })).toBe('ECONNREFUSED');
      expect(existsSync(baseDir)).toBe(false);
      await expect(db.stop()).resolves.toBeUndefined();
    },
    SLOW_MS,
  );
});

describe('startAppMetrics', () => {
  let app: AppMetricsServer | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('serves its own registry at /metrics and nothing else', async () => {
    app = await startAppMetrics();
    app.setTraffic({ app: 'shop', slot: 'green', version: 'v2', rps: 0, errorRatio: 0, latencySeconds: 0.1 });
    const res = await fetch(`${app.url}/metrics`);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('http_requests_total{app="shop",slot="green",version="v2",code="500"} 0');
    expect(body).toContain(
      'http_request_duration_seconds_bucket{le="0.3",app="shop",slot="green",version="v2"} 0',
    );
    expect((await fetch(`${app.url}/`)).status).toBe(404);
    expect(globalRegistry.getSingleMetric('http_requests_total')).toBeUndefined();
  });

  it(
    'spreads errors exactly by the configured ratio',
    async () => {
      const server = await startAppMetrics({ tickMs: 10 });
      app = server;
      server.setTraffic({
        app: 'shop',
        slot: 'blue',
        version: 'v1',
        rps: 1_000,
        errorRatio: 0.25,
        latencySeconds: 0.05,
      });
      const counts = async (): Promise<{ ok: number; failed: number; observed: number }> => {
        const [requests, duration] = await Promise.all([
          server.registry.getSingleMetric('http_requests_total')?.get(),
          server.registry.getSingleMetric('http_request_duration_seconds')?.get(),
        ]);
        const value = (
          pred: (l: Record<string, unknown>) => boolean,
          values = requests?.values ?? [],
        ): number => values.filter((v) => pred(v.labels)).reduce((sum, v) => sum + v.value, 0);
        return {
          ok: value((l) => l.code === '200'),
          failed: value((l) => l.code === '500'),
          observed: value(
            () => true,
            duration?.values.filter((v) => v.labels.le === '+Inf'),
          ),
        };
      };
      const c = await waitFor(
        async () => {
          const now = await counts();
          return now.ok + now.failed >= 200 && now;
        },
        { timeoutMs: 10_000, description: '200 simulated requests' },
      );
      expect(c.failed).toBe(Math.floor((c.ok + c.failed) * 0.25));
      expect(c.observed).toBe(c.ok + c.failed);
    },
    SLOW_MS,
  );

  it('rejects traffic outside its bounds', async () => {
    app = await startAppMetrics();
    const base = { app: 'shop', slot: 'green', version: 'v2', rps: 1, errorRatio: 0, latencySeconds: 0.1 };
    expect(() => app?.setTraffic({ ...base, rps: 1_000_000 })).toThrow(/rps must be within/);
    expect(() => app?.setTraffic({ ...base, errorRatio: 1.5 })).toThrow(/errorRatio must be within/);
    expect(() => app?.setTraffic({ ...base, latencySeconds: Number.NaN })).toThrow(/latencySeconds/);
  });
});

describe('startPrometheus', () => {
  const green = 'app="shop",slot="green"';
  const blue = 'app="shop",slot="blue"';
  const p95 = (sel: string): string =>
    `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{${sel}}[30s])))`;
  const errorRate = (sel: string): string =>
    `sum(rate(http_requests_total{${sel},code=~"5.."}[30s])) / sum(rate(http_requests_total{${sel}}[30s]))`;

  let app: AppMetricsServer | undefined;
  let extra: AppMetricsServer | undefined;
  let prom: PrometheusInstance | undefined;
  const running = (): { app: AppMetricsServer; prom: PrometheusInstance } => {
    if (!app || !prom) throw new Error('Prometheus was not started in beforeAll');
    return { app, prom };
  };

  beforeAll(async () => {
    app = await startAppMetrics();
    app.setTraffic({
      app: 'shop',
      slot: 'green',
      version: 'v2',
      rps: 40,
      errorRatio: 0.2,
      latencySeconds: 0.3,
    });
    app.setTraffic({
      app: 'shop',
      slot: 'blue',
      version: 'v1',
      rps: 40,
      errorRatio: 0,
      latencySeconds: 0.02,
    });
    prom = await startPrometheus({ scrapeTargets: [app.target], scrapeInterval: '1s' });
  }, SLOW_MS);

  afterAll(async () => {
    await prom?.stop();
    await extra?.close();
    await app?.close();
  }, SLOW_MS);

  it(
    'scrapes the app-metrics server',
    async () => {
      const { app, prom } = running();
      await prom.waitForTargetsUp(30_000);
      const up = await prom.query(`up{instance="${app.target}"}`);
      expect(up).toHaveLength(1);
      expect(up[0]?.value).toBe(1);
    },
    SLOW_MS,
  );

  it(
    'reports p95 latency in the bucket of the configured latency, per slot',
    async () => {
      const { prom } = running();
      // rate() needs several scrapes in its window before it means anything.
      await waitFor(
        async () => {
          const n = await prom.query(
            `min(count_over_time(http_request_duration_seconds_count{app="shop"}[30s]))`,
          );
          return (n[0]?.value ?? 0) >= 5;
        },
        { timeoutMs: 60_000, intervalMs: 500, description: 'five scrapes of the latency histogram' },
      );
      const [greenP95] = await prom.query(p95(green));
      const [blueP95] = await prom.query(p95(blue));
      // 0.3 s observations sit in the (0.25, 0.3] bucket; 0.02 s ones in (0.01, 0.025].
      expect(greenP95?.value).toBeGreaterThan(0.25);
      expect(greenP95?.value).toBeLessThanOrEqual(0.3);
      expect(blueP95?.value).toBeGreaterThan(0.01);
      expect(blueP95?.value).toBeLessThanOrEqual(0.025);
    },
    SLOW_MS,
  );

  it(
    'reports the configured error ratio, per slot',
    async () => {
      const { prom } = running();
      await waitFor(
        async () => {
          const n = await prom.query(`min(count_over_time(http_requests_total{app="shop"}[30s]))`);
          return (n[0]?.value ?? 0) >= 5;
        },
        { timeoutMs: 60_000, intervalMs: 500, description: 'five scrapes of the request counter' },
      );
      const [greenRate] = await prom.query(errorRate(green));
      const [blueRate] = await prom.query(errorRate(blue));
      expect(greenRate?.value).toBeCloseTo(0.2, 1);
      expect(Math.abs((greenRate?.value ?? Number.NaN) - 0.2)).toBeLessThan(0.02);
      expect(blueRate?.value).toBe(0);
    },
    SLOW_MS,
  );

  it(
    'picks up new scrape targets on reload',
    async () => {
      const { app, prom } = running();
      extra = await startAppMetrics();
      await prom.setScrapeTargets([app.target, extra.target]);
      await prom.waitForTargetsUp(30_000);
      const up = await prom.query('up == 1');
      expect(up.map((s) => s.metric.instance).sort()).toEqual([app.target, extra.target].sort());
    },
    SLOW_MS,
  );

  it('says how to install prometheus when the binary is missing', async () => {
    const saved = process.env.PROMETHEUS_BIN;
    process.env.PROMETHEUS_BIN = '/nonexistent/prometheus';
    try {
      await expect(startPrometheus({ scrapeTargets: ['127.0.0.1:1'] })).rejects.toThrow(
        'prometheus not found at /nonexistent/prometheus: run `make deps` (apt-get install prometheus)',
      );
    } finally {
      if (saved === undefined) delete process.env.PROMETHEUS_BIN;
      else process.env.PROMETHEUS_BIN = saved;
    }
  });

  it(
    'stop() terminates Prometheus and removes its directory',
    async () => {
      const { app, prom } = running();
      await prom.stop();
      expect(await fetchOutcome(`${prom.url}/-/ready`)).toBe('ECONNREFUSED');
      expect(existsSync(prom.baseDir)).toBe(false);
      await app.close();
      expect(await fetchOutcome(`${app.url}/metrics`)).toBe('ECONNREFUSED');
    },
    SLOW_MS,
  );
});

describe('waitFor', () => {
  it('resolves with the first value that is not false, null or undefined', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : false), {
      timeoutMs: 5_000,
      intervalMs: 1,
      description: 'the third call',
    });
    expect(value).toEqual({ calls: 3 });
  });

  it('names what it waited for and the last error when time runs out', async () => {
    let calls = 0;
    await expect(
      waitFor(
        () => {
          calls += 1;
          throw new Error(`refused #${calls}`);
        },
        { timeoutMs: 200, intervalMs: 20, description: 'the door to open' },
      ),
    ).rejects.toThrow(
      /^timed out after 200 ms waiting for the door to open \(\d+ attempts\); last error: refused #\d+$/,
    );
    expect(calls).toBeGreaterThan(1);
  });

  it('does not let a hanging attempt outlive the deadline', async () => {
    const started = performance.now();
    await expect(
      waitFor(() => new Promise<boolean>(() => undefined), {
        timeoutMs: 150,
        description: 'a promise that never settles',
      }),
    ).rejects.toThrow(/waiting for a promise that never settles .*still running/);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
