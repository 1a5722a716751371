import type { Notification } from './types.ts';

// The last guard before text leaves pgdrill in a message: an error message may quote a connection
// string, a libpq conninfo or a person's address that no caller meant to send. Messages are built
// from the notification only after every string in it went through scrubText.

const MASK = '***';

/** `scheme://[userinfo@]host[:port][rest]`; userinfo is everything up to the last `@` before the path. */
const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*):\/\/(?:[^\s/?#]*@)?([^\s/?#@:]*)(:\d+)?([^\s]*)/gi;
/** `password=…`, `sslpassword='…'`, `token=…` (libpq conninfo, query strings, log lines). */
const SECRET_ASSIGNMENT = /\b([a-z_]*(?:password|passwd|secret|token|apikey|api_key))(\s*=\s*)('[^']*'|"[^"]*"|[^\s,;&]+)/gi;
const EMAIL_IN_TEXT = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;

/**
 * `text` safe to send: each known secret (and its URL-encoded form) masked; every URL reduced to
 * its scheme and host (credentials dropped, and the path, which is the secret of a Slack webhook;
 * `file://` paths stay); `password=…`-style assignments masked; e-mail addresses replaced.
 */
export function scrubText(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    out = out.replaceAll(secret, MASK).replaceAll(encodeURIComponent(secret), MASK);
  }
  return out
    .replace(URL_IN_TEXT, (whole, scheme: string, host: string, port: string | undefined, rest: string) =>
      scheme.toLowerCase() === 'file' ? whole : `${scheme}://${host}${port ?? ''}${rest ? '/...' : ''}`,
    )
    .replace(SECRET_ASSIGNMENT, (_, name: string, equals: string) => `${name}${equals}${MASK}`)
    .replace(EMAIL_IN_TEXT, '[e-mail address]');
}

function scrubValue(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return scrubText(value, secrets);
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, secrets));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, scrubValue(item, secrets)]));
  }
  return value;
}

/** The notification with every string scrubbed (scrubText), as every notifier renders it. */
export function sanitizeNotification<T extends Notification>(message: T, secrets: readonly string[] = []): T {
  return scrubValue(message, secrets) as T;
}
