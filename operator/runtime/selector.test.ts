import { keyProblem, parseSelector } from './selector.js';

test('equality, set and existence requirements, as the apiserver reads them', () => {
  expect(parseSelector('cutover.dev/tenant-group=blue')).toEqual([
    { key: 'cutover.dev/tenant-group', operator: '=', values: ['blue'] },
  ]);
  expect(parseSelector(' tier == prod , team in (a, b),env notin (dev),managed,!legacy,tier!=qa')).toEqual([
    { key: 'tier', operator: '=', values: ['prod'] },
    { key: 'team', operator: 'in', values: ['a', 'b'] },
    { key: 'env', operator: 'notin', values: ['dev'] },
    { key: 'managed', operator: 'exists', values: [] },
    { key: 'legacy', operator: '!', values: [] },
    { key: 'tier', operator: '!=', values: ['qa'] },
  ]);
  expect(parseSelector('replicas>2,rank<-1')).toEqual([
    { key: 'replicas', operator: '>', values: ['2'] },
    { key: 'rank', operator: '<', values: ['-1'] },
  ]);
});

test('an empty value is a value', () => {
  expect(parseSelector('tier=')).toEqual([{ key: 'tier', operator: '=', values: [''] }]);
  expect(parseSelector('tier in (,a)')).toEqual([{ key: 'tier', operator: 'in', values: ['', 'a'] }]);
});

test.each([
  ['', /empty/],
  ['   ', /empty/],
  ['a=b,', /expected a key, found the end/],
  [',a', /expected a key, found ','/],
  ['a b', /expected '=', '==', '!=', 'in', 'notin'/],
  ['a=b c=d', /expected ',' between requirements, found "c"/],
  ['a in b', /expected '\(' after "a in"/],
  ['a in (b', /expected ',' or '\)'/],
  ['!a=b', /expected ',' between requirements, found '='/],
  ['a>b', /compares with an integer/],
  ['Tier/x=y', /"Tier" is not a DNS subdomain/],
  ['-a=b', /"-a" is not a label key/],
  ['a=b,!', /expected a key after "!", found the end/],
  ['a=b!', /expected ',' between requirements, found '!'/],
  ['a=-b', /"-b" is not a label value/],
  [`a=${'x'.repeat(64)}`, /is not a label value/],
])('refuses %j', (selector, message) => {
  expect(() => parseSelector(selector)).toThrow(message);
});

test('label keys: prefix and name checked apart', () => {
  expect(keyProblem('app.kubernetes.io/name')).toBeUndefined();
  expect(keyProblem('a_b.c')).toBeUndefined();
  expect(keyProblem(`${'x'.repeat(64)}`)).toMatch(/not a label key/);
  expect(keyProblem('example.com/')).toMatch(/not a label key/);
});
