// Every reconciler the operator runs, in one place.
import { backupPolicyController } from './backup/controller.js';
import { environmentController } from './environment/controller.js';
import { releaseController } from './release/controller.js';
import { rollbackPolicyController } from './rollback/controller.js';
import type { Logger } from './runtime/log.js';
import type { Manager } from './runtime/manager.js';

export function registerControllers(m: Manager, log: Logger): void {
  for (const c of [
    releaseController(m),
    environmentController(m),
    backupPolicyController(m),
    rollbackPolicyController(m),
  ]) {
    m.register(c);
    log.debug({ kind: c.kind }, 'controller registered');
  }
}
