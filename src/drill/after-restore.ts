import type { DrillOptions } from './prepare.ts';

const KEY = Symbol.for('pgdrill.drill.afterRestore');
type Slot = Record<symbol, DrillOptions['afterRestore']>;

/**
 * The programmatic `afterRestore` hook, from runDrill to the drill project's global setup. A
 * function cannot go through vitest's provide (values are serialised), and vitest may load the two
 * as separate module instances in one process, hence a global slot; everything else is provided.
 */
export const afterRestoreSlot = {
  set(hook: DrillOptions['afterRestore']): void {
    (globalThis as unknown as Slot)[KEY] = hook;
  },
  get(): DrillOptions['afterRestore'] {
    return (globalThis as unknown as Slot)[KEY];
  },
};
