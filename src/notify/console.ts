import type { DrillNotification, Notifier } from './types.ts';

/** Prints the summary and the PDF path. `write` defaults to console.log (tests pass a collector). */
export function createConsoleNotifier(write: (line: string) => void = console.log): Notifier {
  return {
    name: 'console',
    async notify(message: DrillNotification): Promise<void> {
      write(`${message.summary}\nReport: ${message.pdfPath}`);
    },
  };
}
