// Reads of objects the operator does not cache (ConfigMaps, Secrets, PVCs):
// a GET by name, never a list, and only the fact of existence leaves here.
import type { KubernetesObject } from '@kubernetes/client-node';
import { ApiError, type KubeClient } from './client.js';

export async function getOptional<T extends KubernetesObject>(
  client: KubeClient,
  apiVersion: string,
  resource: string,
  namespace: string,
  name: string,
): Promise<T | undefined> {
  try {
    return await client.get<T>({ apiVersion, resource, namespace, name });
  } catch (err) {
    if (err instanceof ApiError && err.isNotFound) return undefined;
    throw err;
  }
}
