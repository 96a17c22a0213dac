// Every reconciler the operator runs, in one place.
import { backupPolicyController } from './backup/controller.js';
import { environmentController } from './environment/controller.js';
import { releaseController } from './release/controller.js';
import { rollbackPolicyController } from './rollback/controller.js';
import type { Logger } from './runtime/log.js';
import type { Manager } from './runtime/manager.js';
import type { OperatorMetrics } from './runtime/metrics.js';

export interface ControllerOptions {
  migrateImage?: string;
  /** The clock every reconciler reads; defaults to the system's. */
  now?: () => Date;
}

export function registerControllers(
  m: Manager,
  log: Logger,
  metrics: OperatorMetrics,
  opts: ControllerOptions = {},
): void {
  for (const c of [
    releaseController(m, metrics, log, opts),
    environmentController(m, opts),
    backupPolicyController(m, opts),
    rollbackPolicyController(m, opts),
  ]) {
    m.register(c);
    log.debug({ kind: c.kind }, 'controller registered');
  }
}
