// Control annotations on a Release: the plugin writes them, the operator reads
// and clears them. One list so the two can never disagree on a key.
export const ANNOTATIONS = {
  promote: 'cutover.dev/promote',
  abort: 'cutover.dev/abort',
  retry: 'cutover.dev/retry',
  approvedBy: 'cutover.dev/approved-by',
  changedBy: 'cutover.dev/changed-by',
} as const;

export type ControlAnnotation = (typeof ANNOTATIONS)[keyof typeof ANNOTATIONS];
