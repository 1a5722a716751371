export { DEFAULT_RETENTION, assertRetentionPolicy, planRetention } from './plan.ts';
export type {
  RetentionCandidate,
  RetentionDecision,
  RetentionPlan,
  RetentionPlanInput,
  RetentionPolicy,
  RetentionPromotion,
  UnreadableManifest,
} from './plan.ts';
export { retentionCoverage } from './coverage.ts';
export type { Coverage, DaySlot, MonthSlot, RetentionCoverage, RetentionCoverageInput, SlotState } from './coverage.ts';
export { applyRetention, deleteBackup, planCatalogRetention, pruneBackups, type ApplyRetentionOptions, type RetentionOutcome } from './apply.ts';
export { expiryKey, retentionExpiries, type BackupExpiry } from './expiry.ts';
