// Health of the databases pgdrill protects: the snapshot the service builds, the monitors that
// judge it, and the metrics that expose it.
export type { BackupFacts, DatabaseHealth, DrillFacts, HealthSnapshot, JobRunCounts } from './types.ts';
export {
  MONITOR_NAMES,
  drillDueAt,
  evaluateMonitors,
  monitorKey,
  monitorTransitions,
  transitionNotifications,
  type FiringMonitor,
  type MonitorName,
  type MonitorSettings,
  type MonitorTransitions,
  type ResolvedMonitor,
} from './monitors.ts';
