import {
  cpuQuery,
  customQuery,
  errorRateQuery,
  latencyP95Query,
  memoryQuery,
  promString,
  rangeOf,
  requestRateQuery,
} from './queries.js';

const green = { namespace: 'shop-prod', app: 'shop', slot: 'green', version: 'v2' };

describe('promString', () => {
  test.each([
    ['v2', '"v2"'],
    ['', '""'],
    ['say "hi"', '"say \\"hi\\""'],
    ['C:\\path', '"C:\\\\path"'],
    ['two\nlines\ttab\r', '"two\\nlines\\ttab\\r"'],
    ['ünïcode', '"ünïcode"'],
  ])('%p is written as %s', (value, literal) => {
    expect(promString(value)).toBe(literal);
  });
});

describe('rangeOf', () => {
  test.each([
    ['1m', '[1m]'],
    ['60s', '[1m]'],
    ['90s', '[90s]'],
    ['1m30s', '[90s]'],
    ['2h', '[120m]'],
    ['1500ms', '[1500ms]'],
  ])('%s is %s', (window, range) => {
    expect(rangeOf(window)).toBe(range);
  });

  test('refuses a window shorter than a second or not a duration', () => {
    expect(() => rangeOf('500ms')).toThrow('analysis window 500ms is shorter than 1s');
    expect(() => rangeOf('1 minute')).toThrow('invalid duration');
  });
});

describe('HTTP signals', () => {
  test('select on app, slot and version, never on namespace', () => {
    const queries = [requestRateQuery, latencyP95Query, errorRateQuery].map((q) => q(green, '1m'));
    for (const q of queries) {
      expect(q).toContain('app="shop",slot="green",version="v2"');
      expect(q).not.toContain('namespace');
    }
  });

  test('request rate', () => {
    expect(requestRateQuery(green, '2m')).toBe(
      'sum(rate(http_requests_total{app="shop",slot="green",version="v2"}[2m]))',
    );
  });

  test('LatencyP95', () => {
    expect(latencyP95Query(green, '1m')).toBe(
      'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{app="shop",slot="green",version="v2"}[1m])))',
    );
  });

  test('ErrorRate: 5xx over all, with 0 errors when no 5xx series exists', () => {
    expect(errorRateQuery(green, '30s')).toBe(
      '(sum(rate(http_requests_total{app="shop",slot="green",version="v2",code=~"5.."}[30s])) or vector(0))' +
        ' / sum(rate(http_requests_total{app="shop",slot="green",version="v2"}[30s]))',
    );
  });

  test('label values are escaped', () => {
    const odd = { ...green, version: 'v2"} or vector(1) #' };
    expect(requestRateQuery(odd, '1m')).toContain('version="v2\\"} or vector(1) #"}');
  });
});

describe('resource signals', () => {
  const pods = 'namespace="shop-prod",pod=~"shop-green-[a-z0-9]+-[a-z0-9]+",container!="",container!="POD"';

  test('CPU: the busiest pod over the cores one pod may use', () => {
    expect(cpuQuery(green, '1m', 0.5)).toBe(
      `max(sum by (pod) (rate(container_cpu_usage_seconds_total{${pods}}[1m]))) / 0.5`,
    );
  });

  test('Memory: the largest working set over the bytes one pod may use', () => {
    expect(memoryQuery(green, 268_435_456)).toBe(
      `max(sum by (pod) (container_memory_working_set_bytes{${pods}})) / 268435456`,
    );
  });

  test('regex metacharacters in names match only themselves', () => {
    const dotted = { ...green, app: 'a.b+c' };
    expect(memoryQuery(dotted, 1)).toContain('pod=~"a\\\\.b\\\\+c-green-[a-z0-9]+-[a-z0-9]+"');
  });
});

describe('customQuery', () => {
  test('replaces every placeholder, spaced or not', () => {
    const q = 'sum(rate(x{app="{{app}}",slot="{{ slot }}",version="{{version}}",ns="{{namespace}}"}[1m]))';
    expect(customQuery(q, green)).toBe(
      'sum(rate(x{app="shop",slot="green",version="v2",ns="shop-prod"}[1m]))',
    );
  });

  test('replaces with the stable slot for a baseline', () => {
    const blue = { ...green, slot: 'blue', version: 'v1' };
    expect(customQuery('up{slot="{{slot}}",v="{{version}}"}', blue)).toBe('up{slot="blue",v="v1"}');
  });

  test('leaves unknown placeholders and other braces alone', () => {
    expect(customQuery('x{a="{{pod}}"} / {{app}}', green)).toBe('x{a="{{pod}}"} / shop');
  });

  test('a value cannot end the string literal it is put in', () => {
    const odd = { ...green, version: 'v2"} or vector(1) or x{a="' };
    expect(customQuery('x{version="{{version}}"}', odd)).toBe('x{version="v2\\"} or vector(1) or x{a=\\""}');
  });
});
