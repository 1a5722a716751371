// Runner side of drills (CLI, demo, tests). Drill files use './test.ts' (vitest's test API); check
// files use src/check.
export { runDrill } from './run.ts';
export { DrillReporter, drillExitCode, type DrillResult } from './reporter.ts';
export { prepareDrill, drillRunner, type DrillOptions, type PreparedDrill } from './prepare.ts';
