// One database (and Secret) per application on the shared test PostgreSQL:
// each has its own migration history.
import type { KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import pg from 'pg';

export async function query<T>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Creates database `app` on the server at `serverUrl` and the Secret `db-<app>` holding its URL. */
export async function appDatabase(
  api: KubernetesObjectApi,
  namespace: string,
  serverUrl: string,
  app: string,
): Promise<string> {
  await query(serverUrl, `CREATE DATABASE ${app}`);
  const url = new URL(serverUrl);
  url.pathname = `/${app}`;
  await api.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `db-${app}`, namespace },
    stringData: { url: url.toString() },
  } as KubernetesObject);
  return url.toString();
}
