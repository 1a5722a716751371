// Health of the databases pgdrill protects: the snapshot the service builds, the monitors that
// judge it, and the metrics that expose it. Light: prom-client loads only in createMetricsRegistry.
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
export { diskFreeRatio } from './disk.ts';
export { BACKUP_DURATION_BUCKETS, METRIC_NAMES, PROMETHEUS_CONTENT_TYPE, createMetricsRegistry, type MetricsRegistry } from './metrics.ts';
export { writeTextfile } from './textfile.ts';
export { metricsHandler } from './http.ts';
