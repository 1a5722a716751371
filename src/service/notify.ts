import type { Logger } from 'pino';
import type { PgdrillConfig } from '../config/index.ts';
import { createConsoleNotifier, createNotifiers, notifyAll, notifyConfigFor, shouldSend, type Notification, type Notifier } from '../notify/index.ts';
import type { FleetDatabase } from './fleet.ts';

/**
 * How the service tells people: each database's configured notifiers (e-mail, webhooks; the log
 * always) get what `notify.onSuccess` lets through, each on its own with a few retries. One that
 * fails is logged and counted (pgdrill_notification_failures_total); a job never fails because of
 * it. Built at start-up, so a notification setting that cannot work is an error before any job.
 */
export function serviceNotify(options: {
  config: PgdrillConfig;
  fleet: readonly FleetDatabase[];
  log: Logger;
  /** Counts a notification a notifier could not deliver (the service's shared state). */
  countFailure: (notifier: string) => Promise<void>;
}): (message: Notification) => Promise<void> {
  const log = createConsoleNotifier((line) => options.log.info({ notification: true }, line));
  const routes = new Map(
    options.fleet.map((database) => {
      const settings = notifyConfigFor(options.config, database.name);
      const notifiers: Notifier[] = createNotifiers(settings, {
        databaseUrl: typeof database.overrides.databaseUrl === 'string' ? database.overrides.databaseUrl : options.config.databaseUrl,
        onWarning: (text) => options.log.warn({ database: database.name }, text),
      });
      return [database.name, { settings, notifiers }] as const;
    }),
  );
  return async (message) => {
    await log.notify(message);
    const route = routes.get(message.database);
    if (!route || !shouldSend(message, route.settings)) return;
    await notifyAll(route.notifiers, message, {
      onFailure: (name, error, attempts) => {
        options.log.warn({ notifier: name, kind: message.kind, attempts, error: error.message }, 'notification not delivered');
        void options.countFailure(name).catch(() => {});
      },
    });
  };
}
