import type { ConfigRule } from '../api/generated/index.js';
import { checkConfig, configHash, summarizeViolations, type ConfigSources } from './config-rules.js';

const cm = (data: Record<string, string>): ConfigSources => ({ configMap: data });
const check = (rule: ConfigRule, sources: ConfigSources) => checkConfig([rule], sources);
const ok = (rule: ConfigRule, value: string) => check(rule, cm({ [rule.key]: value })).length === 0;

describe('checkConfig: presence', () => {
  test('a required key set nowhere is a violation', () => {
    expect(check({ key: 'DATABASE_URL', required: true }, { configMap: {}, secret: {} })).toEqual([
      { key: 'DATABASE_URL', message: 'is required but set in neither the ConfigMap nor the Secret' },
    ]);
  });

  test('an optional key that is absent passes every other check', () => {
    expect(check({ key: 'POOL', type: 'integer', minimum: 1 }, cm({}))).toEqual([]);
    expect(check({ key: 'LEVEL', enum: ['info'] }, {})).toEqual([]);
  });

  test('a required key found in the Secret is present', () => {
    expect(check({ key: 'TOKEN', required: true }, { configMap: {}, secret: { TOKEN: 'x' } })).toEqual([]);
  });

  test('an empty value is present (required holds) but still judged by its type', () => {
    expect(check({ key: 'A', required: true }, cm({ A: '' }))).toEqual([]);
    expect(check({ key: 'A', type: 'integer' }, cm({ A: '' }))[0]?.message).toBe(
      'value "" is not an integer',
    );
  });

  test('the ConfigMap wins over the Secret for a key in both', () => {
    const sources = { configMap: { LEVEL: 'info' }, secret: { LEVEL: 'loud' } };
    expect(check({ key: 'LEVEL', enum: ['info'] }, sources)).toEqual([]);
  });
});

describe('checkConfig: types', () => {
  test.each<[NonNullable<ConfigRule['type']>, string[], string[]]>([
    ['integer', ['0', '42', '-7', '+3', '007'], ['1.5', '1e3', 'ten', ' 1', '']],
    ['number', ['0', '1.5', '-.5', '2e10', '3.'], ['1,5', 'NaN', 'Infinity', '0x10', '']],
    ['boolean', ['true', 'false'], ['True', 'yes', '1', '']],
    [
      'url',
      ['https://example.com', 'postgres://u@db:5432/shop', 'redis://cache'],
      ['example.com', 'mailto:a@b', 'http://', '://x', 'https://exa mple.com'],
    ],
    ['duration', ['500ms', '30s', '10m', '1h30m', '2d'], ['10', '1.5h', '10 m', 'm', '', '1w']],
    ['string', ['anything', ''], []],
  ])('%s accepts %j and refuses %j', (type, good, bad) => {
    for (const v of good) expect([v, ok({ key: 'K', type }, v)]).toEqual([v, true]);
    for (const v of bad) expect([v, ok({ key: 'K', type }, v)]).toEqual([v, false]);
  });

  test('bounds are inclusive and checked only once the type holds', () => {
    const rule: ConfigRule = { key: 'POOL', type: 'integer', minimum: 1, maximum: 100 };
    expect(ok(rule, '1')).toBe(true);
    expect(ok(rule, '100')).toBe(true);
    expect(check(rule, cm({ POOL: '0' }))[0]?.message).toBe('value "0" is below the minimum 1');
    expect(check(rule, cm({ POOL: '101' }))[0]?.message).toBe('value "101" is above the maximum 100');
    expect(check(rule, cm({ POOL: 'many' }))[0]?.message).toBe('value "many" is not an integer');
  });

  test('number bounds compare numerically', () => {
    const rule: ConfigRule = { key: 'RATIO', type: 'number', minimum: 0.5, maximum: 2 };
    expect(ok(rule, '0.75')).toBe(true);
    expect(ok(rule, '10')).toBe(false);
    expect(ok(rule, '2e0')).toBe(true);
  });
});

describe('checkConfig: pattern and enum', () => {
  test('a pattern matches anywhere unless anchored, like RE2', () => {
    expect(ok({ key: 'U', pattern: 'postgres' }, 'x-postgres-y')).toBe(true);
    expect(ok({ key: 'U', pattern: '^postgres(ql)?://' }, 'mysql://x')).toBe(false);
    expect(check({ key: 'U', pattern: '^postgres(ql)?://' }, cm({ U: 'mysql://x' }))[0]?.message).toBe(
      'value "mysql://x" does not match pattern "^postgres(ql)?://"',
    );
  });

  test('an invalid pattern is a violation of its rule, not a crash, and the other rules still run', () => {
    const v = checkConfig(
      [
        { key: 'A', pattern: '(unclosed' },
        { key: 'B', required: true },
      ],
      cm({ A: 'x' }),
    );
    expect(v.map((x) => x.key)).toEqual(['A', 'B']);
    expect(v[0]?.message).toMatch(
      /^pattern "\(unclosed" is not a valid regular expression here \(JavaScript RegExp syntax\): /,
    );
  });

  test('an RE2-only construct is reported the same way', () => {
    expect(ok({ key: 'A', pattern: '(?P<n>x)' }, 'x')).toBe(false);
  });

  test('enum lists the allowed values', () => {
    expect(check({ key: 'LOG_LEVEL', enum: ['debug', 'info'] }, cm({ LOG_LEVEL: 'loud' }))).toEqual([
      { key: 'LOG_LEVEL', message: 'value "loud" is not one of "debug", "info"' },
    ]);
  });

  test('type and pattern failing together are both named in one violation', () => {
    expect(check({ key: 'P', type: 'integer', pattern: '^[0-9]{2}$' }, cm({ P: 'abc' }))).toEqual([
      { key: 'P', message: 'value "abc" is not an integer; does not match pattern "^[0-9]{2}$"' },
    ]);
  });
});

describe('checkConfig: every violation at once', () => {
  const rules: ConfigRule[] = [
    { key: 'DATABASE_URL', required: true, pattern: '^postgres(ql)?://' },
    { key: 'DATABASE_POOL_SIZE', type: 'integer', minimum: 1, maximum: 100 },
    { key: 'LOG_LEVEL', enum: ['debug', 'info', 'warn', 'error'] },
    { key: 'TIMEOUT', type: 'duration' },
    { key: 'FEATURE_X', type: 'boolean' },
  ];

  test('all failing rules, in rule order; passing ones left out', () => {
    const v = checkConfig(rules, {
      configMap: { DATABASE_POOL_SIZE: '500', LOG_LEVEL: 'loud', TIMEOUT: '30s', FEATURE_X: 'maybe' },
      secret: {},
    });
    expect(v.map((x) => x.key)).toEqual(['DATABASE_URL', 'DATABASE_POOL_SIZE', 'LOG_LEVEL', 'FEATURE_X']);
  });

  test('a valid configuration has no violation', () => {
    expect(
      checkConfig(rules, {
        configMap: { DATABASE_POOL_SIZE: '10', LOG_LEVEL: 'info', TIMEOUT: '30s', FEATURE_X: 'true' },
        secret: { DATABASE_URL: 'postgresql://shop:pw@db/shop' },
      }),
    ).toEqual([]);
  });
});

describe('checkConfig: secrecy', () => {
  const secret = 'hunter2-very-secret-Value';
  const rules: ConfigRule[] = [
    { key: 'S1', type: 'integer' },
    { key: 'S2', pattern: '^postgres://' },
    { key: 'S3', enum: ['a', 'b'] },
    { key: 'S4', type: 'url' },
    { key: 'S5', type: 'duration' },
    { key: 'S6', pattern: '(bad' },
  ];

  test('no message holds a Secret value, whatever the rule', () => {
    const data = Object.fromEntries(rules.map((r) => [r.key, secret]));
    const v = checkConfig(rules, { configMap: {}, secret: data });
    expect(v).toHaveLength(rules.length);
    for (const x of v) {
      expect(x.message).not.toContain(secret);
      expect(x.message).not.toContain('hunter2');
      if (x.key !== 'S6') expect(x.message).toMatch(/^the value \(from the Secret, not shown\) /);
    }
  });

  test('a long ConfigMap value is quoted cut short', () => {
    const long = 'x'.repeat(500);
    const [v] = check({ key: 'A', type: 'integer' }, cm({ A: long }));
    expect(v?.message).toBe(`value "${'x'.repeat(40)}…" is not an integer`);
  });

  test('a long pattern is quoted cut short, so a message stays within status limits', () => {
    const pattern = `^${'a'.repeat(1000)}$`;
    const [v] = check({ key: 'A', pattern }, cm({ A: 'b' }));
    expect(v?.message.length).toBeLessThan(300);
  });
});

describe('configHash', () => {
  test('the same data in any key order gives the same short hash', () => {
    const a = configHash({ configMap: { A: '1', B: '2' }, secret: { S: 'x' } });
    const b = configHash({ configMap: { B: '2', A: '1' }, secret: { S: 'x' } });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });

  test('any change of a value, of a key, or of which source holds it changes the hash', () => {
    const base = configHash({ configMap: { A: '1' }, secret: { S: 'x' } });
    expect(configHash({ configMap: { A: '2' }, secret: { S: 'x' } })).not.toBe(base);
    expect(configHash({ configMap: { A: '1' }, secret: { S: 'y' } })).not.toBe(base);
    expect(configHash({ configMap: { A: '1', S: 'x' }, secret: {} })).not.toBe(base);
    expect(configHash({ configMap: { A: '1' } })).not.toBe(configHash({ configMap: { A: '1' }, secret: {} }));
  });

  test('never contains the data', () => {
    expect(configHash({ secret: { S: 'abcdef0123' } })).not.toContain('abcdef0123');
  });

  test("salted by the Secret's uid: the same short secret in another Secret hashes differently", () => {
    const a = configHash({ secret: { PIN: '1234' }, secretUid: 'uid-a' });
    expect(configHash({ secret: { PIN: '1234' }, secretUid: 'uid-b' })).not.toBe(a);
    expect(configHash({ secret: { PIN: '1234' } })).not.toBe(a);
  });
});

describe('summarizeViolations', () => {
  test('names every key when they fit', () => {
    expect(
      summarizeViolations([
        { key: 'A', message: 'is required but set in neither the ConfigMap nor the Secret' },
        { key: 'B', message: 'value "x" is not an integer' },
      ]),
    ).toBe(
      '2 configuration rules violated: A: is required but set in neither the ConfigMap nor the Secret; B: value "x" is not an integer',
    );
  });

  test('stays bounded and counts the rest', () => {
    const many = Array.from({ length: 100 }, (_, i) => ({ key: `KEY_${i}`, message: 'y'.repeat(60) }));
    const s = summarizeViolations(many);
    expect(s.length).toBeLessThan(1100);
    expect(s).toMatch(/^100 configuration rules violated: KEY_0: /);
    expect(s).toMatch(/and \d+ more \(see the Environment's status\.configErrors\)$/);
  });
});
