import type { CustomResourceDefinition } from '../schema.js';
import { backupPolicy } from './backuppolicy.js';
import { environment } from './environment.js';
import { release } from './release.js';
import { rollbackPolicy } from './rollbackpolicy.js';

export { backupPolicy, environment, release, rollbackPolicy };

// Order is the order of generated output; keep it stable.
export const customResourceDefinitions: readonly CustomResourceDefinition[] = [
  release,
  environment,
  backupPolicy,
  rollbackPolicy,
];
