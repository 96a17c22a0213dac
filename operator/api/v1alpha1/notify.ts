// Notifications of an Environment: webhook targets in spec.notify and their
// delivery health in status.notifications (operator/notify/ delivers).
import {
  DNS1123_LABEL,
  enumOf,
  list,
  named,
  obj,
  objectName,
  required,
  secretKeyRef,
  str,
  timestamp,
  type JSONSchemaProps,
} from '../schema.js';

export const NOTIFY_FORMATS = ['json', 'slack'] as const;
export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export const NOTIFY_STATES = ['Delivering', 'Failing'] as const;
export const MAX_NOTIFY_TARGETS = 10;

const target = named(
  'NotificationTarget',
  obj(
    'A webhook that receives the decisions of this Environment (its own, those of its Releases, and those of the RollbackPolicies and BackupPolicies it or its Releases reference) by HTTP POST.',
    {
      name: required(
        objectName('Name of the target, unique in the list; status and logs name it.', DNS1123_LABEL, 63),
      ),
      urlSecretRef: required(
        secretKeyRef(
          'Key of a Secret in this namespace holding the webhook URL. The URL is treated as a secret: it is read when sending and never appears in logs, Events, status or metrics.',
        ),
      ),
      format: enumOf(
        'Body of each POST: json (the generic document described in docs/notifications.md) or slack (a Slack incoming-webhook message: text and blocks).',
        NOTIFY_FORMATS,
        { default: 'json' },
      ),
      severities: list(
        'Send decisions of these severities. When neither severities nor reasons is set, critical and warning are sent.',
        enumOf('A severity.', SEVERITIES),
        { maxItems: 3, listType: 'set' },
      ),
      reasons: list(
        'Send decisions with these reasons (the reason of the Event Cutover records, e.g. RolloutSucceeded, AnalysisFailed, BackupFailed) whatever their severity.',
        str('A reason.', { pattern: '^[A-Z][A-Za-z0-9]*$', maxLength: 128 }),
        { maxItems: 50, listType: 'set' },
      ),
    },
  ),
);

export function notifyTargets(): JSONSchemaProps {
  return list(
    'Webhooks that receive decisions (a rollback, a failed backup, a rollout that succeeded, ...) as they are taken. Delivery never holds a rollout or a rollback: each target has a bounded queue, retried with backoff for up to an hour.',
    target,
    { maxItems: MAX_NOTIFY_TARGETS, listType: 'map', mapKeys: ['name'] },
  );
}

export function notificationHealth(): JSONSchemaProps {
  return list(
    'Delivery health of each target in spec.notify that the operator has sent to, by name; written when the state or the error changes, never the URL.',
    named(
      'NotificationHealth',
      obj('How deliveries to one target go.', {
        name: required(objectName('Name of the target.', DNS1123_LABEL, 63)),
        state: enumOf(
          'Delivering: the last attempt was accepted. Failing: the last attempt failed; temporary errors are retried with backoff.',
          NOTIFY_STATES,
        ),
        since: timestamp(
          'When the state last changed: every attempt since then was accepted (Delivering) or failed (Failing).',
        ),
        lastError: str(
          'What the last failed attempt got: an HTTP status or a network error, never the URL.',
          {
            maxLength: 256,
          },
        ),
      }),
    ),
    { maxItems: MAX_NOTIFY_TARGETS },
  );
}
