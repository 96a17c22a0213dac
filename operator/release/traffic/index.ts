import type { TrafficMode } from '../../api/defaults.js';
import { gatewayApi } from './gateway-api.js';
import type { TrafficProvider } from './provider.js';
import { replicas } from './replicas.js';
import { service } from './service.js';

const PROVIDERS: Record<TrafficMode, TrafficProvider> = {
  GatewayAPI: gatewayApi,
  Replicas: replicas,
  Service: service,
};

export const providerFor = (mode: TrafficMode): TrafficProvider => PROVIDERS[mode];

export type { TrafficAction, TrafficProvider, TrafficView } from './provider.js';
export { canaryReplicas, stableReplicas } from './replicas.js';
