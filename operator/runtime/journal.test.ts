import { decisionOf } from './journal.js';

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
