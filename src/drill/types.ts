import type { CheckStatus, DrillState } from '../check/index.ts';
import type { DrillFiles } from './files.ts';
import type { DrillOptions } from './prepare.ts';

/** What a drill test leaves in `task.meta` for the reporter. */
export interface CheckMeta {
  id: string;
  title?: string;
  description?: string;
  builtIn?: boolean;
  /** Registered from a defineCheck definition (its outcome is its verdict), not a plain drill test. */
  defined?: boolean;
  status?: CheckStatus;
  summary?: string;
  evidence?: Record<string, unknown>;
}

/** The check metadata slot in a vitest task's `meta` (vitest passes `meta` to reporters). */
export function checkMetaOf(meta: object): { pgdrill?: CheckMeta } {
  return meta as { pgdrill?: CheckMeta };
}

declare module 'vitest' {
  interface ProvidedContext {
    /** The drill's state, provided by the global setup to drill files and the reporter. */
    pgdrill: DrillState;
    /** The run's options (serialisable part), provided by runDrill to the global setup. */
    pgdrillOptions?: Omit<DrillOptions, 'afterRestore'>;
    /** Check modules the monthly drill registers: pgdrill's own and the project's (DrillFiles.checks). */
    pgdrillChecks: DrillFiles['checks'];
  }
}

/** A check id from a test name. */
export const slug = (name: string): string =>
  name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '') || 'check';
