import { createHmac, randomUUID } from 'node:crypto';
import { ConfigError, PgdrillError } from '../errors/index.ts';
import { renderMessage } from './render.ts';
import { sanitizeNotification, scrubText } from './sanitize.ts';
import type { Notification, Notifier } from './types.ts';

// Webhooks: Slack-compatible JSON, a generic JSON body signed with HMAC-SHA256, PagerDuty Events
// API v2. A webhook URL is a credential (a Slack URL is all it takes to post): no message, error
// or log line shows more of it than its host.

export type WebhookFormat = 'slack' | 'json' | 'pagerduty';

/** PagerDuty's Events API v2 endpoint (the default URL of a `pagerduty` webhook). */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';
export const SIGNATURE_HEADER = 'X-Pgdrill-Signature';
export const TIMESTAMP_HEADER = 'X-Pgdrill-Timestamp';

export interface WebhookNotifierOptions {
  url: string;
  format: WebhookFormat;
  /** Name in logs and metrics (default: the format). */
  name?: string;
  /** `json`: the HMAC-SHA256 key that signs `{timestamp}.{body}`. */
  secret?: string;
  /** `pagerduty`: the integration's routing key. */
  routingKey?: string;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  templatesDir?: string;
  /** More strings never to show in a message. */
  secrets?: readonly string[];
  /** The clock of the signature timestamp (tests pass a fixed one). */
  now?: () => Date;
}

interface WebhookRequest {
  body: string;
  headers: Record<string, string>;
}

/** The PagerDuty event of a notification, or undefined when it neither pages nor resolves a page. */
function pagerDutyEvent(message: Notification, routingKey: string, summary: string, text: string): object | undefined {
  let action: 'trigger' | 'resolve';
  let component: string;
  if (message.kind === 'escalation') {
    if (message.level !== 'page' && message.level !== 'recovered') return undefined;
    action = message.level === 'page' ? 'trigger' : 'resolve';
    component = message.job;
  } else if (message.kind === 'monitor') {
    if (message.state === 'firing' && message.severity !== 'critical') return undefined;
    action = message.state === 'firing' ? 'trigger' : 'resolve';
    component = `monitor:${message.monitor}`;
  } else {
    return undefined;
  }
  // The same key for the page and its resolution: one incident per database and job kind (or monitor).
  const dedupKey = `pgdrill/${message.database}/${component}`;
  if (action === 'resolve') return { routing_key: routingKey, event_action: 'resolve', dedup_key: dedupKey };
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: dedupKey,
    client: 'pgdrill',
    payload: {
      summary: summary.slice(0, 1024),
      source: message.database,
      severity: 'critical',
      timestamp: message.at,
      component,
      group: message.database,
      class: message.kind,
      custom_details: { text },
    },
  };
}

/** Slack's mrkdwn treats &, < and > as markup. */
const slackEscape = (text: string): string => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** Slack allows 3000 characters in a section's text. */
const SLACK_SECTION_MAX = 3000;

/**
 * Posts each notification to a webhook with Node's fetch: `slack` → `{ text, blocks }`; `json` →
 * the notification plus `subject` and `text`, signed (X-Pgdrill-Timestamp, X-Pgdrill-Signature:
 * sha256=HMAC-SHA256(secret, `{timestamp}.{body}`) in hex); `pagerduty` → an Events API v2
 * trigger for an escalation to `page` or a critical monitor alert, a resolve (same dedup_key) on
 * `recovered`/`resolved`, nothing for other messages. A non-2xx answer or no answer within
 * `timeoutMs` throws, naming the status and the host only.
 */
export function createWebhookNotifier(options: WebhookNotifierOptions): Notifier {
  const name = options.name ?? options.format;
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new ConfigError(`webhook ${name}: the URL is not a valid URL`, { hint: 'Expected https://host/path' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`webhook ${name}: the URL must be http:// or https://, not ${url.protocol}//`);
  }
  if (options.format === 'json' && !options.secret) {
    throw new ConfigError(`webhook ${name}: a json webhook needs a signing secret`, { hint: 'Set the variable named by secretEnv (default PGDRILL_WEBHOOK_SECRET)' });
  }
  if (options.format === 'pagerduty' && !options.routingKey) {
    throw new ConfigError(`webhook ${name}: a pagerduty webhook needs a routing key`, { hint: 'Set the variable named by routingKeyEnv (default PGDRILL_PAGERDUTY_ROUTING_KEY)' });
  }
  const host = url.host;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const secrets = [options.url, url.pathname.length > 1 ? url.pathname : '', url.search, options.secret ?? '', options.routingKey ?? '', ...(options.secrets ?? [])].filter(
    (s) => s.length > 0,
  );
  const now = options.now ?? (() => new Date());

  async function buildRequest(message: Notification): Promise<WebhookRequest | undefined> {
    const clean = sanitizeNotification(message, secrets);
    const rendered = await renderMessage(clean, { templatesDir: options.templatesDir });
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'pgdrill' };
    switch (options.format) {
      case 'slack':
        return {
          headers,
          body: JSON.stringify({
            text: rendered.subject,
            blocks: [
              { type: 'section', text: { type: 'mrkdwn', text: `*${slackEscape(rendered.subject)}*` } },
              { type: 'section', text: { type: 'mrkdwn', text: slackEscape(rendered.text).slice(0, SLACK_SECTION_MAX) } },
            ],
          }),
        };
      case 'json': {
        const body = JSON.stringify({ ...clean, subject: rendered.subject, text: rendered.text });
        const timestamp = String(Math.floor(now().getTime() / 1000));
        const signature = createHmac('sha256', options.secret!).update(`${timestamp}.${body}`).digest('hex');
        return {
          body,
          headers: { ...headers, [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: `sha256=${signature}`, 'X-Pgdrill-Delivery': randomUUID() },
        };
      }
      case 'pagerduty': {
        const event = pagerDutyEvent(clean, options.routingKey!, rendered.subject, rendered.text);
        return event ? { headers, body: JSON.stringify(event) } : undefined;
      }
    }
  }

  return {
    name,
    async notify(message: Notification): Promise<void> {
      const request = await buildRequest(message);
      if (!request) return;
      let response: Response;
      try {
        response = await fetch(url, { method: 'POST', headers: request.headers, body: request.body, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        const reason =
          (error as Error).name === 'TimeoutError'
            ? `no answer within ${timeoutMs} ms`
            : scrubText(`${(error as Error).message}${(error as { cause?: Error }).cause ? `: ${(error as { cause: Error }).cause.message}` : ''}`, secrets);
        throw new PgdrillError(`webhook ${name} (${host}) could not be reached: ${reason}`);
      }
      if (!response.ok) {
        // A receiver's short error code helps (Slack answers "invalid_token"); never more than a line of it.
        const answer = scrubText((await response.text().catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 120), secrets);
        throw new PgdrillError(`webhook ${name} (${host}) answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${answer ? `: ${answer}` : ''}`);
      }
      await response.body?.cancel();
    },
  };
}
