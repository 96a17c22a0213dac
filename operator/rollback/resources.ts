// What one pod of a slot may use, the denominator of the CPU and Memory
// signals. Read from the pod template rather than from the cluster, so the
// analysis needs no Kubernetes I/O.

/** The parts of a V1PodTemplateSpec the resource sum reads. */
export interface PodTemplateLike {
  spec?: {
    containers?: readonly ContainerLike[];
    initContainers?: readonly ContainerLike[];
  };
}

export interface ContainerLike {
  restartPolicy?: string;
  resources?: {
    limits?: Readonly<Record<string, string | number | undefined>>;
    requests?: Readonly<Record<string, string | number | undefined>>;
  };
}

export interface PodResources {
  cpuCores?: number;
  memoryBytes?: number;
}

const SUFFIX: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const QUANTITY = /^\+?(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|([a-zA-Z]*))$/;

/**
 * A Kubernetes resource quantity as a plain number (cores, bytes):
 * `500m` → 0.5, `256Mi` → 268435456, `129e6` → 129000000. Undefined for
 * anything the API server would not have accepted, and for negative amounts,
 * which no limit or request can be.
 */
export function parseQuantity(quantity: string | number): number | undefined {
  if (typeof quantity === 'number') return Number.isFinite(quantity) && quantity >= 0 ? quantity : undefined;
  const match = QUANTITY.exec(quantity.trim());
  if (!match) return undefined;
  const [, digits = '', exponent, suffix = ''] = match;
  if (exponent !== undefined) return Number(`${digits}${exponent}`);
  const scale = SUFFIX[suffix];
  return scale === undefined ? undefined : Number(digits) * scale;
}

/**
 * Limits (else requests) summed over the containers that run side by side:
 * the regular ones and the native sidecars (init containers that keep
 * running), since cAdvisor counts their usage in the pod too. One container
 * with neither leaves that resource undefined: a share of a partial sum
 * would overstate how close the pod is to its ceiling.
 */
export function podResources(template: PodTemplateLike): PodResources {
  const running = [
    ...(template.spec?.containers ?? []),
    ...(template.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always'),
  ];
  return { cpuCores: sum(running, 'cpu'), memoryBytes: sum(running, 'memory') };
}

function sum(containers: readonly ContainerLike[], resource: 'cpu' | 'memory'): number | undefined {
  if (containers.length === 0) return undefined;
  let total = 0;
  for (const c of containers) {
    const raw = c.resources?.limits?.[resource] ?? c.resources?.requests?.[resource];
    const amount = raw === undefined ? undefined : parseQuantity(raw);
    if (amount === undefined) return undefined;
    total += amount;
  }
  // A zero limit or request cannot be divided by; treat it as not set.
  return total > 0 ? total : undefined;
}
