import type { DrillCheck } from './types.ts';

/** Declares a check in a `checks/` file; drill files register them with `registerChecks`. */
export function defineCheck(check: DrillCheck): DrillCheck {
  return check;
}

/** A check id from a test name. */
export const slug = (name: string): string =>
  name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '') || 'check';

