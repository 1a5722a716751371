import { sanitizeNotification } from './sanitize.ts';
import type { Notification, Notifier } from './types.ts';

/** One plain-text line (or a drill's summary) per notification, for a person at a terminal. */
export function describeNotification(message: Notification): string {
  switch (message.kind) {
    case 'drill-finished':
      return `${message.summary}${message.pdfPath ? `\nReport: ${message.pdfPath}` : ''}`;
    case 'backup-succeeded':
      return `[backup] ${message.database}: ${message.backup.key} ${message.backup.sizeBytes} bytes in ${message.backup.durationMs} ms`;
    case 'job-failed':
      return `[${message.job} FAILED] ${message.database}, attempt ${message.attempt} of ${message.attempts}: ${message.error}`;
    case 'escalation':
      return `[${message.level.toUpperCase()}] ${message.database}: ${message.job} ${message.level === 'recovered' ? `succeeded again after ${message.consecutiveFailures} failure(s)` : `failed ${message.consecutiveFailures} time(s) in a row`}`;
    case 'monitor':
      return `[monitor ${message.state}] ${message.database}: ${message.monitor}: ${message.detail}`;
  }
}

/** Prints each notification (scrubbed like every other notifier's). `write` defaults to console.log (tests pass a collector). */
export function createConsoleNotifier(write: (line: string) => void = console.log): Notifier {
  return {
    name: 'console',
    async notify(message: Notification): Promise<void> {
      write(describeNotification(sanitizeNotification(message)));
    },
  };
}
