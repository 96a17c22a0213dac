// Where each kind lives on the API server, for informers and writes.

/** A kind's place on the API server; the runtime's informer references take this shape. */
export interface KindRef {
  apiVersion: string;
  /** Lower-case plural resource name. */
  resource: string;
  kind: string;
}

export const API_VERSION = 'cutover.dev/v1alpha1';

export const RELEASES: KindRef = { apiVersion: API_VERSION, resource: 'releases', kind: 'Release' };
export const ENVIRONMENTS: KindRef = {
  apiVersion: API_VERSION,
  resource: 'environments',
  kind: 'Environment',
};
export const BACKUP_POLICIES: KindRef = {
  apiVersion: API_VERSION,
  resource: 'backuppolicies',
  kind: 'BackupPolicy',
};
export const ROLLBACK_POLICIES: KindRef = {
  apiVersion: API_VERSION,
  resource: 'rollbackpolicies',
  kind: 'RollbackPolicy',
};

/** Namespaces that belong to a tenant (cutover.dev/tenant): promotion across namespaces reads their labels. */
export const TENANT_NAMESPACES = {
  apiVersion: 'v1',
  resource: 'namespaces',
  kind: 'Namespace',
  labelSelector: 'cutover.dev/tenant',
  clusterScoped: true,
};
