import type { PgdrillConfig } from '../config/index.ts';
import { formatAge, formatBytes, formatHours } from '../format/index.ts';
import type { MonitorAlert, Severity } from '../notify/index.ts';
import type { DatabaseHealth, HealthSnapshot } from './types.ts';

// The health monitors: pure judgements of a HealthSnapshot against the configured limits. The
// service evaluates them after each job and on a schedule, notifies once per episode
// (monitorTransitions), and the metrics and `pgdrill status` show what is firing.

export type MonitorName = MonitorAlert['monitor'];
export const MONITOR_NAMES: readonly MonitorName[] = ['backup-age', 'backup-size-change', 'disk-free', 'drill-overdue'];

/** What the monitors read of the configuration (the whole config fits). */
export type MonitorSettings = Pick<PgdrillConfig, 'monitors'> & { drill: Pick<PgdrillConfig['drill'], 'intervalDays'> };

/** A monitor firing for one database. */
export interface FiringMonitor {
  /** `${database}:${monitor}`: one episode per database and monitor. */
  key: string;
  database: string;
  monitor: MonitorName;
  severity: Severity;
  /** One line: what was measured against what limit. */
  detail: string;
}

/** A monitor that stopped firing. */
export interface ResolvedMonitor {
  key: string;
  database: string;
  monitor: MonitorName;
}

export interface MonitorTransitions {
  /** Firing now and not before: notify `firing` once. */
  started: FiringMonitor[];
  /** Firing before and not now: notify `resolved` once. */
  resolved: ResolvedMonitor[];
  /** The keys firing now: store them for the next evaluation. */
  firing: Set<string>;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export function monitorKey(database: string, monitor: MonitorName): string {
  return `${database}:${monitor}`;
}

/** `${database}:${monitor}` back to its parts; null for a key of no known monitor. */
function parseMonitorKey(key: string): ResolvedMonitor | null {
  const colon = key.lastIndexOf(':');
  const monitor = key.slice(colon + 1) as MonitorName;
  if (colon <= 0 || !MONITOR_NAMES.includes(monitor)) return null;
  return { key, database: key.slice(0, colon), monitor };
}

/** What one monitor found for one database: null when it does not fire. */
type Finding = Pick<FiringMonitor, 'severity' | 'detail'> | null;

function percent(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10} %`;
}

function backupAge(health: DatabaseHealth, settings: MonitorSettings, now: Date): Finding {
  const limit = formatHours(settings.monitors.backupMaxAgeHours);
  const last = health.lastBackup;
  // No backup at all is the oldest backup there can be.
  if (!last) return { severity: 'critical', detail: `no valid full backup in storage (limit ${limit})` };
  const ageMs = now.getTime() - Date.parse(last.takenAt);
  if (ageMs <= settings.monitors.backupMaxAgeHours * HOUR_MS) return null;
  return { severity: 'critical', detail: `newest valid backup ${last.id} is ${formatAge(ageMs)} old (limit ${limit})` };
}

function backupSizeChange(health: DatabaseHealth, settings: MonitorSettings): Finding {
  const { lastBackup: last, previousBackup: previous } = health;
  if (!last || !previous || previous.sizeBytes <= 0) return null;
  const change = (last.sizeBytes - previous.sizeBytes) / previous.sizeBytes;
  if (Math.abs(change) <= settings.monitors.sizeChangeRatio) return null;
  const signed = `${change > 0 ? '+' : '-'}${percent(Math.abs(change))}`;
  return {
    severity: 'warning',
    detail: `backup ${last.id} is ${formatBytes(last.sizeBytes)}, ${signed} against ${formatBytes(previous.sizeBytes)} of ${previous.id} (limit ±${percent(settings.monitors.sizeChangeRatio)})`,
  };
}

function diskFree(health: DatabaseHealth, settings: MonitorSettings): Finding {
  const min = settings.monitors.diskFreeMinRatio;
  const low = health.diskFree.filter((disk) => disk.freeRatio < min);
  if (!low.length) return null;
  return { severity: 'warning', detail: `${low.map((disk) => `${disk.path} has ${percent(disk.freeRatio)} free`).join('; ')} (limit ${percent(min)})` };
}

/**
 * When the next drill is due: `drill.intervalDays` after the last drill (PASS or FAIL: a failed
 * drill is reported on its own), or, before the first drill, after the oldest backup; null with no
 * backup (nothing to drill yet).
 */
export function drillDueAt(health: DatabaseHealth, intervalDays: number): Date | null {
  const since = health.lastDrill?.at ?? health.oldestBackupAt ?? health.previousBackup?.takenAt ?? health.lastBackup?.takenAt;
  return since === undefined ? null : new Date(Date.parse(since) + intervalDays * DAY_MS);
}

function drillOverdue(health: DatabaseHealth, settings: MonitorSettings, now: Date): Finding {
  const due = drillDueAt(health, settings.drill.intervalDays);
  if (!due || now.getTime() <= due.getTime() + settings.monitors.drillOverdueGraceDays * DAY_MS) return null;
  const limit = `every ${settings.drill.intervalDays} days + ${settings.monitors.drillOverdueGraceDays} days grace`;
  const last = health.lastDrill;
  const since = last ? `last drill ${last.drillId} (${last.verdict}) ${formatAge(now.getTime() - Date.parse(last.at))} ago` : 'no drill on record';
  return { severity: 'warning', detail: `drill overdue: ${since}, due ${due.toISOString().slice(0, 10)} (${limit})` };
}

/** The monitors firing for each database of the snapshot, at `now`, in database then monitor order. */
export function evaluateMonitors(snapshot: HealthSnapshot, settings: MonitorSettings, now: Date): FiringMonitor[] {
  return snapshot.databases.flatMap((health) => {
    const results: Record<MonitorName, Finding> = {
      'backup-age': backupAge(health, settings, now),
      'backup-size-change': backupSizeChange(health, settings),
      'disk-free': diskFree(health, settings),
      'drill-overdue': drillOverdue(health, settings, now),
    };
    return MONITOR_NAMES.flatMap((monitor) => {
      const result = results[monitor];
      return result ? [{ key: monitorKey(health.database, monitor), database: health.database, monitor, ...result }] : [];
    });
  });
}

/**
 * Episodes: which monitors start firing and which stop, given the keys that fired at the previous
 * evaluation (the service keeps them in Redis). A monitor that keeps firing is not announced again.
 */
export function monitorTransitions(previouslyFiring: ReadonlySet<string>, nowFiring: readonly FiringMonitor[]): MonitorTransitions {
  const firing = new Set(nowFiring.map((alert) => alert.key));
  return {
    started: nowFiring.filter((alert) => !previouslyFiring.has(alert.key)),
    // Keys of monitors this version does not know (renamed since they were stored) end silently.
    resolved: [...previouslyFiring].filter((key) => !firing.has(key)).flatMap((key) => parseMonitorKey(key) ?? []),
    firing,
  };
}

const RESOLVED_DETAIL: Record<MonitorName, string> = {
  'backup-age': 'the newest valid backup is within the age limit again',
  'backup-size-change': 'the newest backup is within the size-change limit of the one before it',
  'disk-free': 'the watched file systems have enough free space again',
  'drill-overdue': 'a drill ran; the next one is not overdue',
};

/** The notifications of a set of transitions: `firing` for each start, `resolved` (info) for each end. */
export function transitionNotifications(transitions: Pick<MonitorTransitions, 'started' | 'resolved'>, at: string): MonitorAlert[] {
  return [
    ...transitions.started.map(({ database, monitor, severity, detail }): MonitorAlert => ({ kind: 'monitor', database, monitor, severity, at, state: 'firing', detail })),
    ...transitions.resolved.map(({ database, monitor }): MonitorAlert => ({
      kind: 'monitor',
      database,
      monitor,
      severity: 'info',
      at,
      state: 'resolved',
      detail: RESOLVED_DETAIL[monitor],
    })),
  ];
}
