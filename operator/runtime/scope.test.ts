import { describeScope, parseWatchScope } from './scope.js';

test('no flag: every namespace', () => {
  expect(parseWatchScope({})).toEqual({ kind: 'cluster' });
  expect(describeScope(parseWatchScope({}))).toBe('every namespace');
});

test('--namespaces: trimmed, deduplicated, sorted', () => {
  const scope = parseWatchScope({ namespaces: ' shop-b,shop-a , shop-b,' });
  expect(scope).toEqual({ kind: 'namespaces', namespaces: ['shop-a', 'shop-b'] });
  expect(describeScope(scope)).toBe('namespaces shop-a, shop-b');
});

test('--namespace-selector: checked, kept as written', () => {
  const scope = parseWatchScope({ namespaceSelector: 'cutover.dev/tenant-group=blue' });
  expect(scope).toEqual({ kind: 'selector', selector: 'cutover.dev/tenant-group=blue' });
  expect(describeScope(scope)).toBe('namespaces labelled cutover.dev/tenant-group=blue');
});

test.each([
  [{ namespaces: 'a', namespaceSelector: 'x=y' }, /exclude each other/],
  [{ namespaces: '' }, /--namespaces: no namespace given \(omit the flag to watch every namespace\)/],
  [{ namespaces: ' , ,' }, /no namespace given/],
  [{ namespaces: 'shop,Shop_B' }, /--namespaces: "Shop_B" is not a namespace name/],
  [{ namespaces: `a,-b,${'c'.repeat(64)}` }, /"-b", "c+" are not namespace names/],
  [{ namespaceSelector: '' }, /--namespace-selector: label selector "": empty/],
  [
    { namespaceSelector: 'tenant in blue' },
    /--namespace-selector: label selector "tenant in blue": expected '\('/,
  ],
])('refuses %j', (flags, message) => {
  expect(() => parseWatchScope(flags)).toThrow(message);
});
