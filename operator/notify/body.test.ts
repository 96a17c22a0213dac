import { decisionOf, type Decision } from '../runtime/journal.js';
import { SCHEMA, jsonBody, notificationOf, render, slackBody } from './body.js';

const d: Decision = {
  id: '4f6e2a9c0b1d3e5f7a8c9b0d1e2f3a4b',
  at: '2026-12-03T10:00:00.000Z',
  type: 'Warning',
  reason: 'AnalysisFailed',
  message: 'p95 600ms > 500ms <@here> & co; traffic is going back to the blue slot',
  object: { apiVersion: 'cutover.dev/v1alpha1', kind: 'Release', namespace: 'shop', name: 'web', uid: 'u1' },
  details: { version: '2.0.0', revision: 'abc' },
};
const env = { namespace: 'shop', name: 'production', tier: 'production' };

describe('notificationOf', () => {
  test('the id is stable for a decision and differs between decisions', () => {
    const rel = {
      apiVersion: 'cutover.dev/v1alpha1',
      kind: 'Release',
      metadata: { namespace: 'shop', name: 'web', uid: 'u1' },
    };
    const e = { type: 'Warning', reason: d.reason, message: d.message } as const;
    const recorded = decisionOf(rel, e, new Date(d.at));
    const a = notificationOf(recorded, 'warning', env);
    expect(notificationOf(recorded, 'warning', env).id).toBe(a.id);
    expect(a.id).toMatch(/^[0-9a-f]{32}$/);
    const other = decisionOf(
      rel,
      { ...e, message: 'p95 700ms > 500ms' },
      new Date('2026-12-03T10:00:01.000Z'),
    );
    expect(notificationOf(other, 'warning', env).id).not.toBe(a.id);
  });

  test('a decision recorded again from the same state, later (a reconcile retried on a conflict), has the same id', () => {
    const rel = {
      apiVersion: 'cutover.dev/v1alpha1',
      kind: 'Release',
      metadata: { namespace: 'shop', name: 'web', uid: 'u1', generation: 2, resourceVersion: '7' },
      status: { phase: 'Shifting' },
    };
    const e = { type: 'Warning', reason: 'AnalysisFailed', message: 'p95 600ms > 500ms' } as const;
    const first = decisionOf(rel, e, new Date('2026-12-03T10:00:00Z'));
    const again = decisionOf(
      { ...rel, metadata: { ...rel.metadata, resourceVersion: '8' } },
      e,
      new Date('2026-12-03T10:00:00.300Z'),
    );
    expect(notificationOf(again, 'warning', env).id).toBe(notificationOf(first, 'warning', env).id);
    expect(notificationOf(first, 'warning', env).id).toBe(first.id);
  });
});

describe('jsonBody', () => {
  test('the documented v1 document: the decision fields, severity and environment', () => {
    const n = notificationOf(d, 'warning', env);
    expect(jsonBody(n)).toEqual({
      schema: SCHEMA,
      id: n.id,
      severity: 'warning',
      environment: env,
      at: d.at,
      type: 'Warning',
      reason: 'AnalysisFailed',
      message: d.message,
      object: d.object,
      details: d.details,
    });
    expect(JSON.parse(render('json', n))).toEqual(jsonBody(n));
  });

  test('a long message is clipped', () => {
    const body = jsonBody(notificationOf({ ...d, message: 'x'.repeat(10_000) }, 'info', env));
    expect(body.message.length).toBeLessThanOrEqual(4000);
    expect(body.message.endsWith('…')).toBe(true);
  });
});

describe('slackBody', () => {
  const s = slackBody(notificationOf(d, 'critical', env));

  test('text for the notification, escaped so nothing turns into a mention or a link', () => {
    expect(s.text).toBe(
      ':rotating_light: [critical] AnalysisFailed: Release shop/web (version 2.0.0): p95 600ms &gt; 500ms &lt;@here&gt; &amp; co; traffic is going back to the blue slot',
    );
  });

  test('a section with the reason and the message, and a context line with severity, Environment and time', () => {
    expect(s.blocks).toEqual([
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: ':rotating_light: *AnalysisFailed* on Release `shop/web` (version 2.0.0)\np95 600ms &gt; 500ms &lt;@here&gt; &amp; co; traffic is going back to the blue slot',
        },
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: 'critical · Environment shop/production (production) · 2026-12-03T10:00:00.000Z',
          },
        ],
      },
    ]);
  });

  test('within what Slack takes in a section (3000 characters)', () => {
    const long = slackBody(notificationOf({ ...d, message: '<'.repeat(5000) }, 'info', env));
    const section = long.blocks[0];
    expect(section?.type === 'section' && section.text.text.length).toBeLessThanOrEqual(3000);
  });
});
