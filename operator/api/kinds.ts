// Where each kind lives on the API server, for informers and writes.
import type { InformerRef } from '../runtime/manager.js';

export const API_VERSION = 'cutover.dev/v1alpha1';

export const RELEASES: InformerRef = { apiVersion: API_VERSION, resource: 'releases', kind: 'Release' };
export const ENVIRONMENTS: InformerRef = {
  apiVersion: API_VERSION,
  resource: 'environments',
  kind: 'Environment',
};
export const BACKUP_POLICIES: InformerRef = {
  apiVersion: API_VERSION,
  resource: 'backuppolicies',
  kind: 'BackupPolicy',
};
export const ROLLBACK_POLICIES: InformerRef = {
  apiVersion: API_VERSION,
  resource: 'rollbackpolicies',
  kind: 'RollbackPolicy',
};
