// The condition a kind carries while parts of its spec are admitted but not
// yet acted on. It is part of the API, like the annotation keys: users and
// scripts read it (`kubectl wait --for=condition=Enforced=False`), so the
// type and reason live in one place.
//
// Positive polarity (Enforced=False means "not acted on"), as the Kubernetes
// API conventions ask, and separate from Ready: an object that is valid but
// partly unimplemented is still Ready, and kstatus only reads Ready,
// Reconciling and Stalled, so Flux and Argo CD are not disturbed by it.
export const ENFORCED = 'Enforced';
export const NOT_IMPLEMENTED = 'NotImplemented';

/** "not enforced yet: a, b and c" — the message of Enforced=False. */
export function notEnforcedMessage(parts: readonly string[], note?: string): string {
  const list =
    parts.length <= 1
      ? parts.join('')
      : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1] ?? ''}`;
  return `not enforced yet: ${list}${note ? `; ${note}` : ''}`;
}
