import type { RollbackPolicySpec } from '../api/generated/index.js';
import { UsageError } from '../usage.js';
import { parsePrometheusAddress, withPrometheusAddress } from './address.js';

const OPERATOR = 'http://prometheus.monitoring:9090';
const triggers: RollbackPolicySpec['triggers'] = [{ name: 'errors', builtin: 'ErrorRate', threshold: '1%' }];

describe('parsePrometheusAddress (--prometheus-address)', () => {
  test.each([
    ['http://prometheus.monitoring:9090', 'http://prometheus.monitoring:9090'],
    ['https://prom.example.com/prometheus', 'https://prom.example.com/prometheus'],
    ['  http://10.0.0.7:9090 ', 'http://10.0.0.7:9090'],
  ])('accepts %j', (raw, address) => {
    expect(parsePrometheusAddress(raw)).toBe(address);
  });

  test('unset or empty (an empty environment variable): no operator default', () => {
    expect(parsePrometheusAddress(undefined)).toBeUndefined();
    expect(parsePrometheusAddress('')).toBeUndefined();
    expect(parsePrometheusAddress('   ')).toBeUndefined();
  });

  test.each([
    ['prometheus.monitoring:9090', 'prometheus.monitoring:9090'],
    ['ftp://prometheus:21', 'ftp://prometheus:21'],
    ['http://', 'http://'],
    ['http://prom etheus:9090', 'http://prom etheus:9090'],
    ['http://[::1', 'http://[::1'],
    // As the CRD's pattern, which a policy's own address must match.
    ['HTTP://prometheus:9090', 'HTTP://prometheus:9090'],
  ])('refuses %j, naming the flag and the value', (raw, shown) => {
    expect(() => parsePrometheusAddress(raw)).toThrow(UsageError);
    expect(() => parsePrometheusAddress(raw)).toThrow(
      `--prometheus-address: "${shown}" is not an http:// or https:// URL (e.g. http://prometheus.monitoring:9090)`,
    );
  });

  test('a refused value with a password does not repeat it', () => {
    for (const raw of ['ftp://reader:s3cret@prom:9090', 'reader:s3cret@prom:9090']) {
      let message = '';
      try {
        parsePrometheusAddress(raw);
      } catch (err) {
        message = err instanceof Error ? err.message : String(err);
      }
      expect(message).toMatch(/^--prometheus-address: ".*\*\*\*@prom:9090" is not/);
      expect(message).not.toContain('s3cret');
    }
  });
});

describe('withPrometheusAddress', () => {
  test("the policy's own address wins over the operator's", () => {
    const spec: RollbackPolicySpec = { prometheus: { address: 'https://own:9090', timeout: '2s' }, triggers };
    expect(withPrometheusAddress(spec, OPERATOR)?.prometheus).toEqual({
      address: 'https://own:9090',
      timeout: '2s',
    });
    expect(withPrometheusAddress(spec, undefined)?.prometheus.address).toBe('https://own:9090');
  });

  test("without one, the operator's applies and the policy's timeout stays", () => {
    expect(withPrometheusAddress({ prometheus: { timeout: '5s' }, triggers }, OPERATOR)).toEqual({
      prometheus: { address: OPERATOR, timeout: '5s' },
      triggers,
    });
    // A spec not read back through the API server has no defaulted prometheus at all.
    expect(withPrometheusAddress({ triggers }, OPERATOR)?.prometheus).toEqual({ address: OPERATOR });
  });

  test('neither: nothing to read signals from', () => {
    expect(withPrometheusAddress({ prometheus: { timeout: '5s' }, triggers }, undefined)).toBeUndefined();
    expect(withPrometheusAddress({ triggers }, undefined)).toBeUndefined();
  });
});
