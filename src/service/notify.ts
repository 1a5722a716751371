import type { Logger } from 'pino';
import { createConsoleNotifier, type Notification, type Notifier } from '../notify/index.ts';
import type { ServiceState } from './state.ts';

/**
 * How the service tells people: every configured notifier gets the message, each on its own; one
 * that fails is logged and counted (pgdrill_notification_failures_total), never fails the job.
 */
export function serviceNotify(options: { notifiers?: Notifier[]; state: ServiceState; log: Logger }): (message: Notification) => Promise<void> {
  const notifiers = options.notifiers ?? [createConsoleNotifier((line) => options.log.info({ notification: true }, line))];
  return async (message) => {
    for (const notifier of notifiers) {
      try {
        await notifier.notify(message);
      } catch (error) {
        options.log.warn({ notifier: notifier.name, kind: message.kind, error: (error as Error).message }, 'notification not delivered');
        await options.state.countNotificationFailure(notifier.name).catch(() => {});
      }
    }
  };
}
