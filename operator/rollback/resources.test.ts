import { parseQuantity, podResources, type ContainerLike } from './resources.js';

describe('parseQuantity', () => {
  test.each([
    ['500m', 0.5],
    ['2', 2],
    ['1.5', 1.5],
    ['0.25', 0.25],
    ['.5', 0.5],
    ['100u', 0.0001],
    ['250000n', 0.00025],
    ['256Mi', 268_435_456],
    ['123Mi', 128_974_848],
    ['1Gi', 1_073_741_824],
    ['1.5Gi', 1_610_612_736],
    ['512Ki', 524_288],
    ['1G', 1_000_000_000],
    ['129M', 129_000_000],
    ['1k', 1000],
    ['2T', 2e12],
    ['1E', 1e18],
    ['128974848', 128_974_848],
    ['129e6', 129_000_000],
    ['1.29E8', 129_000_000],
    ['5e-1', 0.5],
    ['+3', 3],
    [' 64Mi ', 67_108_864],
    [4, 4],
    [0.5, 0.5],
  ])('%p is %p', (text, expected) => {
    expect(parseQuantity(text)).toBeCloseTo(expected, 12);
  });

  test.each([
    '',
    'abc',
    '-1',
    '-500m',
    '1.2.3',
    '1KiB',
    '1mi',
    '1K',
    '1e',
    'e6',
    '1 Gi',
    '12Mi3',
    'Infinity',
  ])('%p is not a quantity', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });

  test.each([Number.NaN, Number.POSITIVE_INFINITY, -1])('the number %p is not a quantity', (n) => {
    expect(parseQuantity(n)).toBeUndefined();
  });
});

function template(containers: ContainerLike[], initContainers?: ContainerLike[]) {
  return { spec: { containers, initContainers } };
}

describe('podResources', () => {
  test('sums limits over the containers', () => {
    const app = { resources: { limits: { cpu: '500m', memory: '256Mi' } } };
    const proxy = { resources: { limits: { cpu: '100m', memory: '64Mi' } } };
    const r = podResources(template([app, proxy]));
    expect(r.cpuCores).toBeCloseTo(0.6, 12);
    expect(r.memoryBytes).toBe(320 * 2 ** 20);
  });

  test('falls back to the request per container and per resource', () => {
    const limited = { resources: { limits: { cpu: '1' }, requests: { cpu: '250m', memory: '1Gi' } } };
    const requested = { resources: { requests: { cpu: '250m', memory: '512Mi' } } };
    expect(podResources(template([limited, requested]))).toEqual({
      cpuCores: 1.25,
      memoryBytes: 1.5 * 2 ** 30,
    });
  });

  test('a container with neither limit nor request leaves that resource undefined', () => {
    const app = { resources: { limits: { cpu: '1', memory: '1Gi' } } };
    const bare = { resources: { limits: { memory: '64Mi' } } };
    expect(podResources(template([app, bare]))).toEqual({ cpuCores: undefined, memoryBytes: 1088 * 2 ** 20 });
    expect(podResources(template([app, {}]))).toEqual({ cpuCores: undefined, memoryBytes: undefined });
  });

  test('counts native sidecars, not init containers that run to completion', () => {
    const app = { resources: { limits: { cpu: '1', memory: '1Gi' } } };
    const sidecar = { restartPolicy: 'Always', resources: { limits: { cpu: '500m', memory: '128Mi' } } };
    const setup = { resources: { limits: { cpu: '4', memory: '8Gi' } } };
    expect(podResources(template([app], [sidecar, setup]))).toEqual({
      cpuCores: 1.5,
      memoryBytes: 1152 * 2 ** 20,
    });
  });

  test('an unparseable or zero amount is not a denominator', () => {
    expect(podResources(template([{ resources: { limits: { cpu: 'lots' } } }])).cpuCores).toBeUndefined();
    expect(podResources(template([{ resources: { limits: { cpu: '0' } } }])).cpuCores).toBeUndefined();
  });

  test('a template without containers has no resources', () => {
    expect(podResources({})).toEqual({ cpuCores: undefined, memoryBytes: undefined });
  });
});
