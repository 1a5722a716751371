// What a drill file imports: `drillTest` (vitest's test with drill fixtures), `expect`, and
// `registerChecks` for the check definitions in checks/.
export { drillTest, registerChecks, CheckFailed, type DrillFixtures } from './fixtures.ts';
export { defineCheck, type CheckContext, type CheckOutcome, type CheckStatus, type DrillCheck, type DrillState, type PitrOutcome, type PointInTimeCheckContext } from '../check/index.ts';
export { expect } from 'vitest';
