// What a drill file imports: `drillTest` (vitest's test with drill fixtures), `expect`, and
// `registerChecks` for the check definitions in checks/, `registerSensitivity` for the proof that they can fail.
export { drillTest, registerChecks, CheckFailed, type DrillFixtures } from './fixtures.ts';
export { registerSensitivity } from './sensitivity.ts';
export { defineCheck, type CheckContext, type CheckOutcome, type CheckStatus, type DrillCheck, type DrillState, type PitrOutcome, type PointInTimeCheckContext } from '../check/index.ts';
export { expect } from 'vitest';
