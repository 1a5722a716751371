import type { Verdict } from '../evidence/index.ts';

/** What a drill hands to every notifier once its report is rendered. */
export interface DrillNotification {
  verdict: Verdict;
  drillId: string;
  /** Plain-text summary (a few lines), safe for email bodies, chat messages and logs. */
  summary: string;
  /** Local path of the rendered PDF. */
  pdfPath: string;
  /** Titles of the failed checks; empty for a passing drill. */
  failedChecks: string[];
}

/**
 * Delivers a drill result somewhere (console now; email and webhook later). Implementations
 * throw on delivery failure; the caller decides whether a failed notification fails the drill.
 */
export interface Notifier {
  /** Short name for logs, e.g. `console`, `email`, `webhook`. */
  readonly name: string;
  notify(message: DrillNotification): Promise<void>;
}
