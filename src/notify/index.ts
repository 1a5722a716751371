// What pgdrill tells people, and how: the Notification union (types.ts) and its notifiers
// (console, e-mail over SMTP, Slack/JSON/PagerDuty webhooks), the policy (shouldSend, notifyAll)
// and the routing from config (createNotifiers, notifyConfigFor). Light: nodemailer, handlebars
// and pg load inside the backends on their first message.
export { createConsoleNotifier, describeNotification } from './console.ts';
export { buildNotification } from './drill-finished.ts';
export { createEmailNotifier, type EmailNotifierOptions } from './email.ts';
export { notifyAll, shouldSend, type NotifyAllOptions, type NotifyAllResult } from './policy.ts';
export { resolveRecipients, type ResolveRecipientsOptions } from './recipients.ts';
export { DEFAULT_NOTIFY_TEMPLATES_DIR, NOTIFICATION_KINDS, renderMessage, type RenderedMessage } from './render.ts';
export { createNotifiers, DEFAULT_WEBHOOK_URL_ENV, notifyConfigFor, type CreateNotifiersOptions } from './routing.ts';
export { sanitizeNotification, scrubText } from './sanitize.ts';
export type { BackupSucceeded, DrillFigures, DrillFinished, Escalation, JobFailed, JobKind, MonitorAlert, Notification, Notifier, Severity } from './types.ts';
export { createWebhookNotifier, PAGERDUTY_EVENTS_URL, SIGNATURE_HEADER, TIMESTAMP_HEADER, type WebhookFormat, type WebhookNotifierOptions } from './webhook.ts';
