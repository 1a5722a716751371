import { WebhookConfig, type NotifyConfig, type NotifyOverride } from '../config/index.ts';
import { ConfigError } from '../errors/index.ts';
import { createConsoleNotifier } from './console.ts';
import { createEmailNotifier } from './email.ts';
import type { Notifier } from './types.ts';
import { createWebhookNotifier, PAGERDUTY_EVENTS_URL } from './webhook.ts';

/** The variable of the one webhook of the simple case (`notify.webhooks` absent). */
export const DEFAULT_WEBHOOK_URL_ENV = 'PGDRILL_WEBHOOK_URL';

export interface CreateNotifiersOptions {
  /** Where the variables named in the config are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The source database of this database's jobs, for `notify.email.recipientsQuery`. */
  databaseUrl?: string;
  /** Add the console notifier (true: console.log; or a writer). Default false. */
  console?: boolean | ((line: string) => void);
  /** Problems that do not stop a message (default: a line on stderr). */
  onWarning?: (message: string) => void;
  /** Other notification templates (default pgdrill's templates/notify/). */
  templatesDir?: string;
}

/**
 * A fleet's per-database notify settings over the top-level ones: `onSuccess`, `email.from`,
 * `email.to`, `email.recipientsQuery` and `webhooks` replace the top level's when the database
 * sets them (a list replaces, it does not add); the SMTP server is shared. A config without
 * `databases` (one database) has only the top level.
 */
export function notifyConfigFor(
  config: { notify: NotifyConfig; databases?: ReadonlyArray<{ name: string; notify?: NotifyOverride }> },
  databaseName: string,
): NotifyConfig {
  if (!config.databases?.length) return config.notify;
  const database = config.databases.find((d) => d.name === databaseName);
  if (!database) {
    throw new ConfigError(`No database named "${databaseName}" in the configuration`, { hint: `Use one of: ${config.databases.map((d) => d.name).join(', ')}` });
  }
  const override = database.notify ?? {};
  const defined = <T extends object>(value: T | undefined): Partial<T> =>
    Object.fromEntries(Object.entries(value ?? {}).filter(([, item]) => item !== undefined)) as Partial<T>;
  return {
    ...config.notify,
    ...defined({ onSuccess: override.onSuccess, webhooks: override.webhooks }),
    email: { ...config.notify.email, ...defined(override.email) },
  };
}

function variable(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`${what}: the environment variable ${name} is not set`, { hint: `Set ${name}, or change the variable named in notify.webhooks` });
  return value;
}

/** Default names (`slack`, `json`, `pagerduty`), numbered when a format repeats: names label metrics. */
function webhookNames(webhooks: readonly WebhookConfig[]): string[] {
  const seen = new Map<string, number>();
  return webhooks.map((webhook) => {
    const base = webhook.name ?? webhook.format;
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    return count === 1 ? base : `${base}-${count}`;
  });
}

/**
 * The notifiers a resolved notify config asks for: e-mail when `email.smtpUrl` is set, one per
 * webhook (with `webhooks` absent: one of `webhookFormat` when PGDRILL_WEBHOOK_URL is set), and the
 * console when asked. Secrets come from the environment variables the config names. Throws a
 * ConfigError (exit 3) naming what is missing; call it once at start-up, not per message.
 */
export function createNotifiers(config: NotifyConfig, options: CreateNotifiersOptions = {}): Notifier[] {
  const env = options.env ?? process.env;
  const webhooks: WebhookConfig[] =
    config.webhooks ?? (env[DEFAULT_WEBHOOK_URL_ENV] ? [WebhookConfig.parse({ format: config.webhookFormat, urlEnv: DEFAULT_WEBHOOK_URL_ENV })] : []);
  const names = webhookNames(webhooks);
  const resolved = webhooks.map((webhook, index) => {
    const name = names[index]!;
    const what = `webhook ${name}`;
    const url = webhook.urlEnv ? variable(env, webhook.urlEnv, what) : PAGERDUTY_EVENTS_URL;
    const secret = webhook.format === 'json' ? variable(env, webhook.secretEnv, what) : undefined;
    const routingKey = webhook.format === 'pagerduty' ? variable(env, webhook.routingKeyEnv, what) : undefined;
    return { webhook, name, url, secret, routingKey };
  });
  // Every secret any notifier knows is masked in every notifier's messages.
  const secrets = [
    ...(config.email.password ? [config.email.password] : []),
    ...(options.databaseUrl ? [options.databaseUrl] : []),
    ...resolved.flatMap((r) => [r.url, r.secret ?? '', r.routingKey ?? '']).filter((s) => s !== '' && s !== PAGERDUTY_EVENTS_URL),
  ];

  const notifiers: Notifier[] = [];
  if (options.console) notifiers.push(createConsoleNotifier(typeof options.console === 'function' ? options.console : undefined));
  const { email } = config;
  if (email.smtpUrl) {
    if (!email.from) throw new ConfigError('E-mail notifications have no sender address', { hint: 'Set PGDRILL_MAIL_FROM (notify.email.from)' });
    notifiers.push(
      createEmailNotifier({
        smtpUrl: email.smtpUrl,
        password: email.password,
        from: email.from,
        to: email.to,
        recipientsQuery: email.recipientsQuery,
        databaseUrl: options.databaseUrl,
        attachMaxBytes: email.attachMaxBytes,
        requireTls: email.requireTls,
        timeoutMs: email.timeoutMs,
        queryTimeoutMs: email.queryTimeoutMs,
        templatesDir: options.templatesDir,
        secrets,
        onWarning: options.onWarning,
      }),
    );
  } else if (email.to?.length || email.recipientsQuery) {
    throw new ConfigError('E-mail recipients are set but no SMTP server', { hint: 'Set PGDRILL_SMTP_URL=smtp://user@host:587 (password in PGDRILL_SMTP_PASSWORD)' });
  }
  for (const { webhook, name, url, secret, routingKey } of resolved) {
    notifiers.push(
      createWebhookNotifier({ url, format: webhook.format, name, secret, routingKey, timeoutMs: webhook.timeoutMs, templatesDir: options.templatesDir, secrets }),
    );
  }
  return notifiers;
}
