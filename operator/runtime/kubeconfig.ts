// Where the operator finds its cluster: --kubeconfig, then $KUBECONFIG, then
// the in-cluster service account, then ~/.kube/config.
//
// Why not client-node's KubeConfig class: its module (config.js) imports the
// generated API index, every model and API class, which costs ~40 MiB of RSS
// in a process that uses none of them (docs/runtime.md, "Memory"). The
// operator only needs a server URL, TLS material and an Authorization header,
// so it reads the file itself and keeps client-node where the semantics are
// subtle: kubeconfig entry parsing and validation (config_types), exec
// credential plugins (ExecAuth, with its expiry-aware cache) and token files
// (FileAuth, re-read every minute). Anything else (auth-provider plugins such
// as oidc, gcp or azure, and proxy-url) falls back to the full KubeConfig,
// loaded only then.
import {
  newClusters,
  newContexts,
  newUsers,
  type Cluster,
  type User,
} from '@kubernetes/client-node/dist/config_types.js';
import { ExecAuth } from '@kubernetes/client-node/dist/exec_auth.js';
import { FileAuth } from '@kubernetes/client-node/dist/file_auth.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import { parse } from 'yaml';

/** What a request needs to reach the cluster as us. */
export interface Connection {
  headers: Record<string, string>;
  /** undefined: plain http without TLS settings (undici's global dispatcher). */
  dispatcher: Dispatcher | undefined;
}

/** The cluster and credentials the operator talks to; `connect()` is called per request and must be cheap. */
export interface ClusterAccess {
  readonly server: string;
  connect(): Promise<Connection>;
}

export interface KubeconfigSource {
  access: ClusterAccess;
  source: string;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

export async function loadKubeconfig(
  flag?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<KubeconfigSource> {
  const file = flag ?? env.KUBECONFIG;
  if (file) {
    if (!existsSync(file)) throw new Error(`kubeconfig ${file} does not exist`);
    return { access: await fromFile(file), source: file };
  }
  if (env.KUBERNETES_SERVICE_HOST) {
    return { access: inCluster(env), source: 'in-cluster service account' };
  }
  const home = join(homedir(), '.kube', 'config');
  if (existsSync(home)) return { access: await fromFile(home), source: home };
  throw new Error('no kubeconfig: pass --kubeconfig, set KUBECONFIG, or run in a cluster');
}

async function fromFile(file: string): Promise<ClusterAccess> {
  let cluster: Cluster | undefined;
  let user: User | undefined;
  try {
    const doc = (parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
    // Every entry is validated, as KubeConfig.loadFromFile does, not only the current one.
    const clusters = newClusters(doc.clusters);
    const users = newUsers(doc.users);
    const current = newContexts(doc.contexts).find((c) => c.name === doc['current-context']);
    cluster = clusters.find((c) => c.name === current?.cluster);
    user = users.find((u) => u.name === current?.user);
  } catch (err) {
    throw new Error(
      `kubeconfig ${file} is not readable: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (!cluster) throw new Error(`kubeconfig ${file} has no current context with a cluster`);
  // Relative certificate and key paths are relative to the kubeconfig's folder, as kubectl reads them.
  const root = dirname(file);
  const abs = (p: string | undefined) => (p && !isAbsolute(p) ? join(root, p) : p);
  cluster = { ...cluster, caFile: abs(cluster.caFile) };
  user = user && { ...user, certFile: abs(user.certFile), keyFile: abs(user.keyFile) };
  if (
    cluster.proxyUrl ||
    (user?.authProvider && !FILE_AUTH.isAuthProvider(user) && !EXEC_AUTH.isAuthProvider(user))
  )
    return fullKubeConfig(file);
  return new LeanAccess(cluster, user ?? { name: 'anonymous' });
}

function inCluster(env: NodeJS.ProcessEnv): ClusterAccess {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  return new LeanAccess(
    { name: 'in-cluster', server, caFile: `${SERVICE_ACCOUNT}/ca.crt`, skipTLSVerify: false },
    // Projected tokens rotate: FileAuth re-reads the file every minute.
    {
      name: 'in-cluster',
      authProvider: { name: 'tokenFile', config: { tokenFile: `${SERVICE_ACCOUNT}/token` } },
    },
  );
}

const FILE_AUTH = new FileAuth();
const EXEC_AUTH = new ExecAuth();

/** TLS material and credentials from one kubeconfig user, with one connection pool. */
class LeanAccess implements ClusterAccess {
  private pool: { agent: Agent | undefined; tlsKey: string } | undefined;

  constructor(
    private readonly cluster: Cluster,
    private readonly user: User,
  ) {
    if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify)
      throw new Error('HTTP protocol is not allowed when skipTLSVerify is not set or false');
  }

  get server(): string {
    return this.cluster.server;
  }

  async connect(): Promise<Connection> {
    // The shape client-node's authenticators write into (https.RequestOptions).
    const opts: { headers: Record<string, string>; cert?: string | Buffer; key?: string | Buffer } = {
      headers: {},
    };
    const cert = fileOrData(this.user.certFile, this.user.certData);
    const key = fileOrData(this.user.keyFile, this.user.keyData);
    if (cert) opts.cert = cert;
    if (key) opts.key = key;
    if (EXEC_AUTH.isAuthProvider(this.user)) await EXEC_AUTH.applyAuthentication(this.user, opts);
    else if (FILE_AUTH.isAuthProvider(this.user)) await FILE_AUTH.applyAuthentication(this.user, opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers)) headers[k.toLowerCase()] = v;
    if (this.user.token) headers.authorization = `Bearer ${this.user.token}`;
    if (this.user.username)
      headers.authorization = `Basic ${Buffer.from(`${this.user.username}:${this.user.password ?? ''}`).toString('base64')}`;
    if (this.user.impersonateUser) headers['impersonate-user'] = this.user.impersonateUser;
    return { headers, dispatcher: this.dispatcher(opts.cert, opts.key) };
  }

  /**
   * One pool while the TLS material stays the same. Only an exec plugin that
   * issues client certificates changes it; then a new pool replaces the old,
   * which finishes its requests in flight and closes.
   */
  private dispatcher(cert: string | Buffer | undefined, key: string | Buffer | undefined): Agent | undefined {
    const tlsKey = `${cert?.toString() ?? ''}\n${key?.toString() ?? ''}`;
    if (this.pool?.tlsKey === tlsKey) return this.pool.agent;
    const tls: Record<string, string | Buffer | boolean> = {};
    const ca = fileOrData(this.cluster.caFile, this.cluster.caData);
    if (ca) tls.ca = ca;
    if (cert) tls.cert = cert;
    if (key) tls.key = key;
    if (this.cluster.skipTLSVerify) tls.rejectUnauthorized = false;
    if (this.cluster.tlsServerName) tls.servername = this.cluster.tlsServerName;
    const old = this.pool?.agent;
    // keepAliveInitialDelay 30 s as client-go and client-node: undici's 60 s races load-balancer idle timeouts.
    // HTTP/1.1 only: undici 8 offers h2 by default, and the apiserver takes it;
    // an idle h2 session is then destroyed with an error nothing listens for,
    // which ended a process under test (CI, test/release/analysis.test.ts).
    const agent =
      Object.keys(tls).length === 0
        ? undefined
        : new Agent({ allowH2: false, connect: { ...tls, keepAlive: true, keepAliveInitialDelay: 30_000 } });
    this.pool = { agent, tlsKey };
    void old?.close().catch(() => undefined);
    return agent;
  }
}

function fileOrData(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) return readFileSync(file);
  if (data) return Buffer.from(data, 'base64');
  return undefined;
}

/** Everything the lean path does not cover, through client-node's own KubeConfig. */
async function fullKubeConfig(file: string): Promise<ClusterAccess> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kubeConfigAccess(kc);
}

/**
 * ClusterAccess over a client-node KubeConfig (tests and benchmarks build one;
 * the operator only for kubeconfigs the lean path does not cover).
 */
export function kubeConfigAccess(kc: KubeConfig): ClusterAccess {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig has no current cluster');
  let pool: Promise<Dispatcher | undefined> | undefined;
  return {
    server,
    async connect() {
      // client-node builds a new undici Agent for every request it authenticates
      // (a TLS handshake each); TLS settings do not change for a loaded
      // kubeconfig, so the first one is kept.
      pool ??= (async () => {
        const { HttpMethod, RequestContext } = await import('@kubernetes/client-node');
        const ctx = new RequestContext(server, HttpMethod.GET);
        await kc.applySecurityAuthentication(ctx);
        return ctx.getDispatcher() as Dispatcher | undefined;
      })();
      const opts: { headers?: Record<string, string>; auth?: string } = {};
      await kc.applyToHTTPSOptions(opts);
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.auth) headers.authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
      return { headers, dispatcher: await pool };
    },
  };
}
