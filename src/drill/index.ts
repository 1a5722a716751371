// Runner side of drills (CLI, demo, tests). Drill files use './test.ts' (vitest's test API).
export { defineCheck, slug } from './define.ts';
export { runDrill } from './run.ts';
export { DrillReporter, type DrillResult } from './reporter.ts';
export { prepareDrill, drillRunner, type DrillOptions, type PreparedDrill } from './prepare.ts';
export type { CheckContext, CheckOutcome, CheckStatus, DrillCheck, DrillState, CatalogItem, CheckMeta } from './types.ts';
