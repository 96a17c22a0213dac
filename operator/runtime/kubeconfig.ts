// Where the operator finds its cluster: --kubeconfig, then $KUBECONFIG, then
// the in-cluster service account, then ~/.kube/config.
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface KubeconfigSource {
  config: KubeConfig;
  source: string;
}

export function loadKubeconfig(flag?: string, env: NodeJS.ProcessEnv = process.env): KubeconfigSource {
  const kc = new KubeConfig();
  const file = flag ?? env.KUBECONFIG;
  if (file) {
    if (!existsSync(file)) throw new Error(`kubeconfig ${file} does not exist`);
    try {
      kc.loadFromFile(file);
    } catch (err) {
      throw new Error(
        `kubeconfig ${file} is not readable: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${file} has no current context with a cluster`);
    return { config: kc, source: file };
  }
  if (env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
    return { config: kc, source: 'in-cluster service account' };
  }
  const home = join(homedir(), '.kube', 'config');
  if (existsSync(home)) {
    kc.loadFromFile(home);
    return { config: kc, source: home };
  }
  throw new Error('no kubeconfig: pass --kubeconfig, set KUBECONFIG, or run in a cluster');
}
