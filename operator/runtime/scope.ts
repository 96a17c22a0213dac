// Which namespaces one installation of the operator watches and may write to:
// every namespace (the default), a fixed list (--namespaces a,b), or those
// whose labels match a selector (--namespace-selector), so a platform can run
// one installation per tenant group.
import { DNS1123_LABEL } from '../api/schema/patterns.js';
import { UsageError } from '../usage.js';
import { parseSelector } from './selector.js';

export type WatchScope =
  | { kind: 'cluster' }
  | { kind: 'namespaces'; namespaces: readonly string[] }
  | { kind: 'selector'; selector: string };

export interface ScopeFlags {
  namespaces?: string;
  namespaceSelector?: string;
}

const NAMESPACE = new RegExp(DNS1123_LABEL);

/** The scope the flags ask for; throws UsageError with a message naming the flag. */
export function parseWatchScope({ namespaces, namespaceSelector }: ScopeFlags): WatchScope {
  if (namespaces !== undefined && namespaceSelector !== undefined)
    throw new UsageError('--namespaces and --namespace-selector exclude each other: give one of them');
  if (namespaceSelector !== undefined) {
    try {
      parseSelector(namespaceSelector);
    } catch (err) {
      throw new UsageError(`--namespace-selector: ${err instanceof Error ? err.message : String(err)}`);
    }
    return { kind: 'selector', selector: namespaceSelector.trim() };
  }
  if (namespaces === undefined) return { kind: 'cluster' };
  const names = [
    ...new Set(
      namespaces
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean),
    ),
  ];
  if (names.length === 0)
    throw new UsageError('--namespaces: no namespace given (omit the flag to watch every namespace)');
  const bad = names.filter((n) => n.length > 63 || !NAMESPACE.test(n));
  if (bad.length > 0)
    throw new UsageError(
      `--namespaces: ${bad.map((n) => `"${n}"`).join(', ')} ${bad.length === 1 ? 'is not a namespace name' : 'are not namespace names'} (lower-case letters, digits and '-', at most 63)`,
    );
  return { kind: 'namespaces', namespaces: names.sort() };
}

/** For the start-up log line. */
export function describeScope(scope: WatchScope): string {
  switch (scope.kind) {
    case 'cluster':
      return 'every namespace';
    case 'namespaces':
      return `namespaces ${scope.namespaces.join(', ')}`;
    case 'selector':
      return `namespaces labelled ${scope.selector}`;
  }
}

/** A write refused because its namespace is outside the watch scope (it left the selector mid-reconcile). */
export class OutOfScopeError extends Error {
  constructor(readonly namespace: string) {
    super(`namespace ${namespace} is outside the watch scope: write refused`);
    this.name = 'OutOfScopeError';
  }
}
