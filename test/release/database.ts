// One database (and Secret) per application on the shared test PostgreSQL:
// each has its own migration history.
import type { KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import pg from 'pg';

export async function query<T>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, values)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Creates database `name` on the server at `serverUrl`; returns its URL. */
export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  await query(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Creates database `app` on the server at `serverUrl` and the Secret `db-<app>` holding its URL. */
export async function appDatabase(
  api: KubernetesObjectApi,
  namespace: string,
  serverUrl: string,
  app: string,
): Promise<string> {
  const url = await createDatabase(serverUrl, app);
  await api.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `db-${app}`, namespace },
    stringData: { url },
  } as KubernetesObject);
  return url;
}
