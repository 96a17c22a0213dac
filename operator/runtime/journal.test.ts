import { decisionOf } from './journal.js';
import type { EventInput } from './status.js';

const release = {
  apiVersion: 'cutover.dev/v1alpha1',
  kind: 'Release',
  metadata: { namespace: 'shop', name: 'web', uid: 'u1' },
  spec: { version: '2.0.0' },
  status: { revision: 'abc123' },
};

describe('decisionOf', () => {
  it('carries the object, the Release version and revision, and the details', () => {
    const d = decisionOf(
      release,
      { type: 'Warning', reason: 'AnalysisBreached', message: 'p95 breached', details: { metric: 'p95' } },
      new Date('2026-12-03T10:00:00Z'),
    );
    expect(d).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/) as unknown,
      at: '2026-12-03T10:00:00.000Z',
      type: 'Warning',
      reason: 'AnalysisBreached',
      message: 'p95 breached',
      object: {
        apiVersion: 'cutover.dev/v1alpha1',
        kind: 'Release',
        namespace: 'shop',
        name: 'web',
        uid: 'u1',
      },
      details: { version: '2.0.0', revision: 'abc123', metric: 'p95' },
    });
  });

  it('has no details for an object without version or revision', () => {
    const d = decisionOf(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'a', name: 'b' } },
      { type: 'Normal', reason: 'X', message: 'y' },
      new Date(0),
    );
    expect(d.details).toBeUndefined();
  });
});

describe('decision id', () => {
  const rel = {
    apiVersion: 'cutover.dev/v1alpha1',
    kind: 'Release',
    metadata: {
      namespace: 'shop',
      name: 'web',
      uid: 'u1',
      generation: 3,
      resourceVersion: '100',
      annotations: { 'cutover.dev/promote': '2026-12-03T09:59:00Z', 'kubectl.kubernetes.io/note': 'x' },
    },
    spec: { version: '2.0.0' },
    status: { revision: 'abc123', phase: 'Shifting', currentStep: 1 },
  };
  const e: EventInput = { type: 'Warning', reason: 'AnalysisFailed', message: 'p95 600ms > 500ms' };
  const id = (obj: typeof rel, ev = e, at = new Date('2026-12-03T10:00:00Z')) => decisionOf(obj, ev, at).id;

  it('is the same when a reconcile retried after a conflict decides again from the same state', () => {
    // Later, and the object moved on in ways that are not its state: another
    // resourceVersion (what made the status write conflict), another label or annotation.
    const again = {
      ...rel,
      metadata: {
        ...rel.metadata,
        resourceVersion: '101',
        labels: { team: 'a' },
        annotations: { ...rel.metadata.annotations, 'kubectl.kubernetes.io/note': 'y' },
      },
    };
    expect(id(again, e, new Date('2026-12-03T10:00:00.250Z'))).toBe(id(rel));
    // Key order is not state.
    expect(id({ ...rel, status: { currentStep: 1, phase: 'Shifting', revision: 'abc123' } })).toBe(id(rel));
  });

  it('differs for the same reason and message taken from another state', () => {
    const ids = [
      id(rel),
      // The status after the first decision was recorded (a second rollback after a retry).
      id({ ...rel, status: { ...rel.status, phase: 'Shifting', currentStep: 2 } }),
      id({ ...rel, metadata: { ...rel.metadata, generation: 4 } }),
      // A new request: kubectl cutover writes a fresh time each time.
      id({
        ...rel,
        metadata: {
          ...rel.metadata,
          annotations: { ...rel.metadata.annotations, 'cutover.dev/promote': '2026-12-03T10:05:00Z' },
        },
      }),
      id({ ...rel, metadata: { ...rel.metadata, uid: 'u2' } }),
      id(rel, { ...e, message: 'p95 700ms > 500ms' }),
      id(rel, { ...e, reason: 'AnalysisBreached' }),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });
});
