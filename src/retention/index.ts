export { DEFAULT_RETENTION, RETENTION_TIERS, assertRetentionPolicy, planRetention, policyCount } from './plan.ts';
export type {
  RetentionCandidate,
  RetentionDecision,
  RetentionPlan,
  RetentionPlanInput,
  RetentionPolicy,
  RetentionPromotion,
  RetentionTierName,
  UnreadableManifest,
} from './plan.ts';
export { retentionCoverage } from './coverage.ts';
export type { Coverage, DaySlot, MonthSlot, PeriodSlot, RetentionCoverage, RetentionCoverageInput, SlotState, TierCoverage } from './coverage.ts';
export { applyRetention, deleteBackup, planCatalogRetention, pruneBackups, type ApplyRetentionOptions, type RetentionOutcome } from './apply.ts';
export { expiryKey, retentionExpiries, type BackupExpiry } from './expiry.ts';
