// Enforced=False once said that parts of a spec were admitted but not yet
// acted on. Every part is acted on now; objects written by an older operator
// may still carry the condition, so the reconcilers remove it.
export const ENFORCED = 'Enforced';
