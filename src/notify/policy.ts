import { setTimeout as sleep } from 'node:timers/promises';
import type { NotifyConfig } from '../config/index.ts';
import type { Notification, Notifier } from './types.ts';

/**
 * Whether a notification is sent at all, by `notify.onSuccess`: failures, drills (PASS or FAIL),
 * escalations, recoveries and monitor alerts always; a successful backup only with `always`, or
 * with `after-failure` (the default) when it is the first success after failures (`recovered`).
 */
export function shouldSend(message: Notification, config: Pick<NotifyConfig, 'onSuccess'>): boolean {
  if (message.kind !== 'backup-succeeded') return true;
  switch (config.onSuccess) {
    case 'always':
      return true;
    case 'after-failure':
      return message.recovered;
    case 'never':
      return false;
  }
}

export interface NotifyAllOptions {
  /** Tries per notifier (default 3). */
  attempts?: number;
  /** Wait before the 2nd try; doubled before each later one (default 2000 ms). */
  backoffMs?: number;
  /** Called once per notifier that failed every try, with its last error. Never throws into notifyAll. */
  onFailure?: (notifierName: string, error: Error, attempts: number) => void;
  /** Stops retrying (a worker shutting down); the current try still ends on its own timeout. */
  signal?: AbortSignal;
}

export interface NotifyAllResult {
  delivered: string[];
  failed: Array<{ notifier: string; error: Error; attempts: number }>;
}

/**
 * Delivers `message` to every notifier independently and at the same time, each tried up to
 * `attempts` times with a growing wait. Never throws: a notifier that still fails is reported
 * through `onFailure` and in the result (the caller logs and counts it; the job's outcome stands).
 */
export async function notifyAll(notifiers: readonly Notifier[], message: Notification, options: NotifyAllOptions = {}): Promise<NotifyAllResult> {
  const attempts = Math.max(1, options.attempts ?? 3);
  const backoffMs = options.backoffMs ?? 2_000;
  const result: NotifyAllResult = { delivered: [], failed: [] };

  const deliver = async (notifier: Notifier): Promise<void> => {
    let lastError: Error = new Error('not tried');
    let tried = 0;
    while (tried < attempts) {
      if (tried > 0) {
        const stopped = await sleep(backoffMs * 2 ** (tried - 1), undefined, { signal: options.signal }).then(
          () => false,
          () => true,
        );
        if (stopped) break;
      }
      tried += 1;
      try {
        await notifier.notify(message);
        result.delivered.push(notifier.name);
        return;
      } catch (error) {
        lastError = error instanceof Error ? error : new Error(String(error));
      }
    }
    result.failed.push({ notifier: notifier.name, error: lastError, attempts: tried });
    try {
      options.onFailure?.(notifier.name, lastError, tried);
    } catch {
      // A broken failure handler must not turn a lost message into a failed job.
    }
  };

  await Promise.all(notifiers.map(deliver));
  return result;
}
