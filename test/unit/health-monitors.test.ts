import { describe, expect, it } from 'vitest';
import { PgdrillConfig } from '../../src/config/index.ts';
import {
  evaluateMonitors,
  monitorTransitions,
  transitionNotifications,
  type DatabaseHealth,
  type FiringMonitor,
  type HealthSnapshot,
  type MonitorName,
} from '../../src/health/index.ts';

// Every monitor at its boundary, against the defaults of the schema (26 h, ±50 %, 20 % free,
// 30 + 2 days), at fixed instants.

const DEFAULTS = PgdrillConfig.parse({});
const BACKUP_AT = '2026-11-23T01:00:00.000Z';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (iso: string, plusMs = 0) => new Date(Date.parse(iso) + plusMs);

function health(overrides: Partial<DatabaseHealth> = {}): DatabaseHealth {
  const zero = { success: 0, failure: 0 };
  return {
    database: 'oslrs',
    lastBackup: { id: '2026-11-23-oslrs', key: 'backups/daily/2026-11-23-oslrs.dump.zst.enc', takenAt: BACKUP_AT, durationMs: 90_000, sizeBytes: 1_000_000 },
    previousBackup: { id: '2026-11-22-oslrs', key: 'backups/daily/2026-11-22-oslrs.dump.zst.enc', takenAt: '2026-11-22T01:00:00.000Z', durationMs: 85_000, sizeBytes: 1_000_000 },
    lastDrill: { drillId: 'drill-20261101T030000Z-oslrs', at: '2026-11-01T03:00:00.000Z', verdict: 'PASS', rtoMs: 600_000, failedChecks: [] },
    consecutiveFailures: { backup: 0, drill: 0, verify: 0, prune: 0, 'pitr-mark': 0 },
    runs: { backup: zero, drill: zero, verify: zero, prune: zero, 'pitr-mark': zero },
    storageBytes: 5_000_000,
    diskFree: [],
    nextRuns: {},
    ...overrides,
  };
}

const snapshot = (...databases: DatabaseHealth[]): HealthSnapshot => ({ at: BACKUP_AT, databases, notificationFailures: {} });

/** The firing monitor of that name, if any. */
function firing(h: DatabaseHealth, monitor: MonitorName, now: Date, config = DEFAULTS): FiringMonitor | undefined {
  return evaluateMonitors(snapshot(h), config, now).find((alert) => alert.monitor === monitor);
}

describe('monitor backup-age (newest valid backup older than monitors.backupMaxAgeHours)', () => {
  it('does not fire at exactly 26 h, fires 1 ms later naming the backup, its age and the limit', () => {
    expect(firing(health(), 'backup-age', at(BACKUP_AT, 26 * HOUR))).toBeUndefined();
    const alert = firing(health(), 'backup-age', at(BACKUP_AT, 26 * HOUR + 60_000));
    expect(alert).toEqual({
      key: 'oslrs:backup-age',
      database: 'oslrs',
      monitor: 'backup-age',
      severity: 'critical',
      detail: 'newest valid backup 2026-11-23-oslrs is 26 h 1 min old (limit 26 h)',
    });
  });

  it('fires when there is no valid backup at all', () => {
    expect(firing(health({ lastBackup: null, previousBackup: null }), 'backup-age', at(BACKUP_AT))?.detail).toBe('no valid full backup in storage (limit 26 h)');
  });

  it('follows monitors.backupMaxAgeHours', () => {
    const config = PgdrillConfig.parse({ monitors: { backupMaxAgeHours: 2 } });
    expect(firing(health(), 'backup-age', at(BACKUP_AT, 2 * HOUR), config)).toBeUndefined();
    expect(firing(health(), 'backup-age', at(BACKUP_AT, 2 * HOUR + 1), config)?.detail).toMatch(/is 2 h 0 min old \(limit 2\.0 h\)$/);
  });
});

describe('monitor backup-size-change (against the previous backup of the same database)', () => {
  const sized = (bytes: number) => health({ lastBackup: { ...health().lastBackup!, sizeBytes: bytes } });
  const now = at(BACKUP_AT);

  it('does not fire at exactly +50 % or -50 %, fires one byte beyond either', () => {
    expect(firing(sized(1_500_000), 'backup-size-change', now)).toBeUndefined();
    expect(firing(sized(500_000), 'backup-size-change', now)).toBeUndefined();
    expect(firing(sized(1_500_001), 'backup-size-change', now)).toMatchObject({
      severity: 'warning',
      detail: 'backup 2026-11-23-oslrs is 1.50 MB, +50 % against 1.00 MB of 2026-11-22-oslrs (limit ±50 %)',
    });
    expect(firing(sized(499_999), 'backup-size-change', now)?.detail).toContain(', -50 % against 1.00 MB of 2026-11-22-oslrs');
    expect(firing(sized(2_600_000), 'backup-size-change', now)?.detail).toContain('is 2.60 MB, +160 % against');
  });

  it('is not due without a previous backup', () => {
    expect(firing(health({ previousBackup: null, lastBackup: { ...health().lastBackup!, sizeBytes: 9e9 } }), 'backup-size-change', now)).toBeUndefined();
  });

  it('follows monitors.sizeChangeRatio', () => {
    const config = PgdrillConfig.parse({ monitors: { sizeChangeRatio: 0.1 } });
    expect(firing(sized(1_100_000), 'backup-size-change', now, config)).toBeUndefined();
    expect(firing(sized(1_100_001), 'backup-size-change', now, config)?.detail).toMatch(/\(limit ±10 %\)$/);
  });
});

describe('monitor disk-free (folder store and temp folder below monitors.diskFreeMinRatio)', () => {
  const now = at(BACKUP_AT);
  const disks = (store: number, temp: number) => health({ diskFree: [{ path: '/srv/backups', freeRatio: store }, { path: '/tmp', freeRatio: temp }] });

  it('does not fire at exactly 20 % free (80 % used), fires below it naming only the low file systems', () => {
    expect(firing(disks(0.2, 0.9), 'disk-free', now)).toBeUndefined();
    expect(firing(disks(0.199, 0.9), 'disk-free', now)).toMatchObject({ severity: 'warning', detail: '/srv/backups has 19.9 % free (limit 20 %)' });
    expect(firing(disks(0.9, 0.05), 'disk-free', now)?.detail).toBe('/tmp has 5 % free (limit 20 %)');
    expect(firing(disks(0.1, 0.05), 'disk-free', now)?.detail).toBe('/srv/backups has 10 % free; /tmp has 5 % free (limit 20 %)');
  });

  it('is not due when no file system is watched (an S3 store)', () => {
    expect(firing(health({ diskFree: [] }), 'disk-free', now)).toBeUndefined();
  });
});

describe('monitor drill-overdue (no drill in drill.intervalDays + monitors.drillOverdueGraceDays)', () => {
  const lastDrillAt = health().lastDrill!.at;

  it('does not fire at exactly 32 days after the last drill, fires 1 ms later', () => {
    expect(firing(health(), 'drill-overdue', at(lastDrillAt, 32 * DAY))).toBeUndefined();
    expect(firing(health(), 'drill-overdue', at(lastDrillAt, 32 * DAY + 1))).toMatchObject({
      severity: 'warning',
      detail: 'drill overdue: last drill drill-20261101T030000Z-oslrs (PASS) 32 days ago, due 2026-12-01 (every 30 days + 2 days grace)',
    });
  });

  it('counts a failed drill as a drill (its failure is reported on its own)', () => {
    const failed = health({ lastDrill: { ...health().lastDrill!, verdict: 'FAIL' } });
    expect(firing(failed, 'drill-overdue', at(lastDrillAt, 31 * DAY))).toBeUndefined();
  });

  it('before the first drill, counts from the oldest backup; not due without any backup', () => {
    const never = health({ lastDrill: null, oldestBackupAt: '2026-10-01T01:00:00.000Z' });
    expect(firing(never, 'drill-overdue', at('2026-10-01T01:00:00.000Z', 32 * DAY))).toBeUndefined();
    expect(firing(never, 'drill-overdue', at('2026-10-01T01:00:00.000Z', 32 * DAY + 1))?.detail).toBe(
      'drill overdue: no drill on record, due 2026-10-31 (every 30 days + 2 days grace)',
    );
    const nothing = health({ lastDrill: null, lastBackup: null, previousBackup: null });
    expect(firing(nothing, 'drill-overdue', at(BACKUP_AT, 1000 * DAY))).toBeUndefined();
  });

  it('follows drill.intervalDays and monitors.drillOverdueGraceDays', () => {
    const config = PgdrillConfig.parse({ drill: { intervalDays: 7 }, monitors: { drillOverdueGraceDays: 0 } });
    expect(firing(health(), 'drill-overdue', at(lastDrillAt, 7 * DAY), config)).toBeUndefined();
    expect(firing(health(), 'drill-overdue', at(lastDrillAt, 7 * DAY + 1), config)?.detail).toMatch(/\(every 7 days \+ 0 days grace\)$/);
  });
});

describe('evaluateMonitors over a fleet', () => {
  it('lists each database\'s firing monitors with a key per database and monitor, and nothing for a healthy one', () => {
    const sick = health({ database: 'ledger', lastBackup: null, previousBackup: null, lastDrill: null, diskFree: [{ path: '/tmp', freeRatio: 0.01 }] });
    const alerts = evaluateMonitors(snapshot(health(), sick), DEFAULTS, at(BACKUP_AT, HOUR));
    expect(alerts.map((a) => a.key)).toEqual(['ledger:backup-age', 'ledger:disk-free']);
  });
});

describe('monitorTransitions: one notification per episode', () => {
  it('starts once, stays quiet while firing, resolves once, and starts a new episode after', () => {
    const old = health({ lastBackup: { ...health().lastBackup!, takenAt: '2026-11-20T01:00:00.000Z' } });
    const now = at(BACKUP_AT);
    let stored = new Set<string>();
    const step = (h: DatabaseHealth) => {
      const t = monitorTransitions(stored, evaluateMonitors(snapshot(h), DEFAULTS, now));
      stored = t.firing;
      return { started: t.started.map((a) => a.key), resolved: t.resolved.map((r) => r.key) };
    };
    expect(step(health())).toEqual({ started: [], resolved: [] });
    expect(step(old)).toEqual({ started: ['oslrs:backup-age'], resolved: [] });
    expect(step(old)).toEqual({ started: [], resolved: [] });
    expect(step(old)).toEqual({ started: [], resolved: [] });
    expect(step(health())).toEqual({ started: [], resolved: ['oslrs:backup-age'] });
    expect(step(health())).toEqual({ started: [], resolved: [] });
    expect(step(old)).toEqual({ started: ['oslrs:backup-age'], resolved: [] });
  });

  it('resolves a database dropped from the config, and forgets keys of unknown monitors without announcing them', () => {
    const t = monitorTransitions(new Set(['gone:disk-free', 'old:renamed-monitor', 'a:b:backup-age']), []);
    expect(t.resolved).toEqual([
      { key: 'gone:disk-free', database: 'gone', monitor: 'disk-free' },
      { key: 'a:b:backup-age', database: 'a:b', monitor: 'backup-age' },
    ]);
    expect(t.firing).toEqual(new Set());
  });

  it('builds the MonitorAlert notifications: firing with its severity and detail, resolved as info', () => {
    const alert = firing(health({ lastBackup: null, previousBackup: null }), 'backup-age', at(BACKUP_AT))!;
    const t = monitorTransitions(new Set(['oslrs:disk-free']), [alert]);
    expect(transitionNotifications(t, '2026-11-24T00:00:00.000Z')).toEqual([
      { kind: 'monitor', database: 'oslrs', monitor: 'backup-age', severity: 'critical', at: '2026-11-24T00:00:00.000Z', state: 'firing', detail: alert.detail },
      {
        kind: 'monitor',
        database: 'oslrs',
        monitor: 'disk-free',
        severity: 'info',
        at: '2026-11-24T00:00:00.000Z',
        state: 'resolved',
        detail: 'the watched file systems have enough free space again',
      },
    ]);
  });
});
