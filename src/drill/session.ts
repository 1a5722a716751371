import type { DrillOptions } from './prepare.ts';
import type { DrillResult } from './reporter.ts';
import type { DrillState } from './types.ts';

export interface DrillSession {
  options?: DrillOptions;
  state?: DrillState;
  result?: DrillResult;
}

const KEY = Symbol.for('pgdrill.drill.session');

/**
 * Shared between runDrill, the drill project's global setup and the reporter. They run in one
 * process but vitest may load them as separate module instances, hence a global slot.
 */
export function drillSession(): DrillSession {
  const slot = globalThis as unknown as Record<symbol, DrillSession | undefined>;
  return (slot[KEY] ??= {});
}
