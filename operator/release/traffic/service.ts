// Service mode: no steps. The stable Service's selector switches from one slot
// to the other all at once, after the new slot is available.
import { selectCanary, selectStable, type TrafficProvider } from './provider.js';

export const service: TrafficProvider = {
  stepped: false,
  // Never asked for: a mode without steps promotes straight from Deploying.
  setWeight: () => [],
  shows: () => false,
  promote: selectCanary,
  rollBack: selectStable,
};
