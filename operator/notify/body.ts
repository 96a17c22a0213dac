// What a webhook receives. The json body is a documented, stable document
// (docs/notifications.md): fields are only ever added to schema v1. The slack
// body is what Slack incoming webhooks (and the many tools that mimic them)
// accept: a plain `text` for notifications, and blocks for the channel.
import type { NOTIFY_FORMATS } from '../api/v1alpha1/notify.js';
import type { Decision } from '../runtime/journal.js';
import type { Severity } from './severity.js';

export type Format = (typeof NOTIFY_FORMATS)[number];

export const SCHEMA = 'cutover.dev/notification/v1';

export interface Notification {
  /**
   * The same for every attempt and every target, and when the decision is
   * recorded again from the same state (Decision.id): receivers drop duplicates by it.
   */
  id: string;
  severity: Severity;
  environment: { namespace: string; name: string; tier?: string };
  decision: Decision;
}

export function notificationOf(
  decision: Decision,
  severity: Severity,
  environment: Notification['environment'],
): Notification {
  return { id: decision.id, severity, environment, decision };
}

/** Longest message a body carries; a drift report can be longer, and receivers cap bodies. */
const MESSAGE_MAX = 4000;
const SLACK_MESSAGE_MAX = 2000;

const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

export interface JsonBody {
  schema: typeof SCHEMA;
  id: string;
  severity: Severity;
  environment: Notification['environment'];
  at: string;
  type: Decision['type'];
  reason: string;
  message: string;
  object: Decision['object'];
  details?: Decision['details'];
}

export function jsonBody(n: Notification): JsonBody {
  const d = n.decision;
  return {
    schema: SCHEMA,
    id: n.id,
    severity: n.severity,
    environment: n.environment,
    at: d.at,
    type: d.type,
    reason: d.reason,
    message: clip(d.message, MESSAGE_MAX),
    object: d.object,
    ...(d.details ? { details: d.details } : {}),
  };
}

interface SlackText {
  type: 'mrkdwn';
  text: string;
}
export interface SlackBody {
  text: string;
  blocks: Array<{ type: 'section'; text: SlackText } | { type: 'context'; elements: SlackText[] }>;
}

const EMOJI: Readonly<Record<Severity, string>> = {
  critical: ':rotating_light:',
  warning: ':warning:',
  info: ':information_source:',
};

/** Slack reads &, < and > as markup (links, mentions); everything else is literal enough. */
const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Escaped, then clipped without cutting an entity in half. */
function escapeWithin(s: string, max: number): string {
  const e = escape(s);
  return e.length <= max ? e : `${e.slice(0, max - 1).replace(/&[a-z]{0,3}$/, '')}…`;
}

export function slackBody(n: Notification): SlackBody {
  const d = n.decision;
  const o = d.object;
  const subject = `${o.kind} ${o.namespace}/${o.name}`;
  const version = typeof d.details?.version === 'string' ? ` (version ${d.details.version})` : '';
  const env = n.environment;
  const message = escapeWithin(d.message, SLACK_MESSAGE_MAX);
  return {
    text: `${EMOJI[n.severity]} [${n.severity}] ${escape(d.reason)}: ${escape(subject)}${escape(version)}: ${message}`,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `${EMOJI[n.severity]} *${escape(d.reason)}* on ${escape(o.kind)} \`${escape(`${o.namespace}/${o.name}`)}\`${escape(version)}\n${message}`,
        },
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: escape(
              `${n.severity} · Environment ${env.namespace}/${env.name}${env.tier ? ` (${env.tier})` : ''} · ${d.at}`,
            ),
          },
        ],
      },
    ],
  };
}

/** The bytes POSTed to a target of `format`. */
export function render(format: Format, n: Notification): string {
  return JSON.stringify(format === 'slack' ? slackBody(n) : jsonBody(n));
}
