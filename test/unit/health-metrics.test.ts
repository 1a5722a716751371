import { describe, expect, it } from 'vitest';
import { PgdrillConfig } from '../../src/config/index.ts';
import { BACKUP_DURATION_BUCKETS, createMetricsRegistry, METRIC_NAMES, type DatabaseHealth, type HealthSnapshot } from '../../src/health/index.ts';
import { parseExposition, sample } from '../helpers/prometheus.ts';

// The exposition parsed back: every metric with its labels and the values of a hand-built snapshot.

const CONFIG = PgdrillConfig.parse({});
const zero = { success: 0, failure: 0 };

/** Fully known: a +60 % size jump, a failed last drill (with a passed one before), a full temp disk. */
const oslrs: DatabaseHealth = {
  database: 'oslrs',
  lastBackup: { id: '2026-11-23-oslrs', key: 'backups/daily/2026-11-23-oslrs.dump.zst.enc', takenAt: '2026-11-23T01:00:00.000Z', durationMs: 95_500, sizeBytes: 1_600_000 },
  previousBackup: { id: '2026-11-22-oslrs', key: 'backups/daily/2026-11-22-oslrs.dump.zst.enc', takenAt: '2026-11-22T01:00:00.000Z', durationMs: 90_000, sizeBytes: 1_000_000 },
  lastDrill: {
    drillId: 'drill-20261101T030000Z-oslrs',
    at: '2026-11-01T03:00:00.000Z',
    verdict: 'FAIL',
    rtoMs: 754_000,
    failedChecks: ['Row counts reconcile', 'Every title deed has an "owner"'],
  },
  lastPassedDrillAt: '2026-10-01T03:00:00.000Z',
  consecutiveFailures: { backup: 2, drill: 1, verify: 0, prune: 0, 'pitr-mark': 0 },
  runs: { backup: { success: 40, failure: 3 }, drill: { success: 1, failure: 1 }, verify: zero, prune: zero, 'pitr-mark': zero },
  storageBytes: 48_000_000,
  diskFree: [
    { path: '/srv/backups', freeRatio: 0.42 },
    { path: '/tmp', freeRatio: 0.1 },
  ],
  nextRuns: { backup: '2026-11-24T01:00:00.000Z' },
};

/** Nothing yet: no backup, no drill. */
const ledger: DatabaseHealth = {
  database: 'ledger',
  lastBackup: null,
  previousBackup: null,
  lastDrill: null,
  consecutiveFailures: { backup: 0, drill: 0, verify: 0, prune: 0, 'pitr-mark': 0 },
  runs: { backup: zero, drill: zero, verify: zero, prune: zero, 'pitr-mark': zero },
  storageBytes: 0,
  diskFree: [],
  nextRuns: {},
};

const SNAPSHOT: HealthSnapshot = { at: '2026-11-23T06:00:00.000Z', databases: [oslrs, ledger], notificationFailures: { email: 3, slack: 0 } };
const unix = (iso: string) => Date.parse(iso) / 1000;

describe('renderMetrics', () => {
  it('exposes every metric of the snapshot with its labels and values', async () => {
    const metrics = parseExposition(await (await createMetricsRegistry()).render(SNAPSHOT, CONFIG));
    const value = (name: string, labels: Record<string, string> = {}) => sample(metrics, name, labels);

    expect([...metrics.types.keys()].sort()).toEqual(METRIC_NAMES);
    expect(metrics.types.get('pgdrill_backup_runs_total')).toBe('counter');
    expect(metrics.types.get('pgdrill_notification_failures_total')).toBe('counter');
    expect(metrics.types.get('pgdrill_backup_duration_seconds')).toBe('histogram');
    expect(metrics.types.get('pgdrill_disk_free_ratio')).toBe('gauge');

    expect(value('pgdrill_health_snapshot_timestamp_seconds')).toBe(unix(SNAPSHOT.at));
    expect(value('pgdrill_backup_last_success_timestamp_seconds', { database: 'oslrs' })).toBe(unix('2026-11-23T01:00:00.000Z'));
    expect(value('pgdrill_backup_last_success_timestamp_seconds', { database: 'ledger' })).toBe(0);
    expect(value('pgdrill_backup_last_duration_seconds', { database: 'oslrs' })).toBe(95.5);
    expect(value('pgdrill_backup_size_bytes', { database: 'oslrs' })).toBe(1_600_000);
    expect(value('pgdrill_backup_size_change_ratio', { database: 'oslrs' })).toBeCloseTo(0.6, 12);
    expect(value('pgdrill_backup_runs_total', { database: 'oslrs', result: 'success' })).toBe(40);
    expect(value('pgdrill_backup_runs_total', { database: 'oslrs', result: 'failure' })).toBe(3);
    expect(value('pgdrill_backup_runs_total', { database: 'ledger', result: 'failure' })).toBe(0);
    expect(value('pgdrill_consecutive_failures', { database: 'oslrs', kind: 'backup' })).toBe(2);
    expect(value('pgdrill_consecutive_failures', { database: 'oslrs', kind: 'drill' })).toBe(1);
    expect(value('pgdrill_consecutive_failures', { database: 'ledger', kind: 'prune' })).toBe(0);
    expect(value('pgdrill_drill_last_timestamp_seconds', { database: 'oslrs' })).toBe(unix('2026-11-01T03:00:00.000Z'));
    expect(value('pgdrill_drill_last_timestamp_seconds', { database: 'ledger' })).toBe(0);
    expect(value('pgdrill_drill_last_success_timestamp_seconds', { database: 'oslrs' })).toBe(unix('2026-10-01T03:00:00.000Z'));
    expect(value('pgdrill_drill_last_success_timestamp_seconds', { database: 'ledger' })).toBe(0);
    expect(value('pgdrill_drill_last_passed', { database: 'oslrs' })).toBe(0);
    expect(value('pgdrill_drill_rto_seconds', { database: 'oslrs' })).toBe(754);
    expect(value('pgdrill_drill_check_failures', { database: 'oslrs', check: 'Row counts reconcile' })).toBe(1);
    expect(value('pgdrill_drill_check_failures', { database: 'oslrs', check: 'Every title deed has an "owner"' })).toBe(1);
    expect(value('pgdrill_drill_next_due_timestamp_seconds', { database: 'oslrs' })).toBe(unix('2026-12-01T03:00:00.000Z'));
    expect(value('pgdrill_storage_bytes', { database: 'oslrs' })).toBe(48_000_000);
    expect(value('pgdrill_disk_free_ratio', { database: 'oslrs', path: '/srv/backups' })).toBe(0.42);
    expect(value('pgdrill_disk_free_ratio', { database: 'oslrs', path: '/tmp' })).toBe(0.1);
    expect(value('pgdrill_notification_failures_total', { notifier: 'email' })).toBe(3);
    expect(value('pgdrill_notification_failures_total', { notifier: 'slack' })).toBe(0);
    // At snapshot.at: oslrs's size jumped and its temp disk is full; ledger has no backup.
    expect(value('pgdrill_monitor_firing', { database: 'oslrs', monitor: 'backup-size-change' })).toBe(1);
    expect(value('pgdrill_monitor_firing', { database: 'oslrs', monitor: 'disk-free' })).toBe(1);
    expect(value('pgdrill_monitor_firing', { database: 'oslrs', monitor: 'backup-age' })).toBe(0);
    expect(value('pgdrill_monitor_firing', { database: 'oslrs', monitor: 'drill-overdue' })).toBe(0);
    expect(value('pgdrill_monitor_firing', { database: 'ledger', monitor: 'backup-age' })).toBe(1);

    // What is unknown is absent, not zero: ledger has no size, duration, RTO or next drill; the
    // whole exposition holds exactly the samples above (plus ledger's zeros and firing flags).
    for (const name of ['pgdrill_backup_size_bytes', 'pgdrill_backup_last_duration_seconds', 'pgdrill_drill_rto_seconds', 'pgdrill_drill_last_passed', 'pgdrill_drill_next_due_timestamp_seconds'])
      expect(metrics.samples.filter((s) => s.name === name && s.labels.database === 'ledger'), name).toEqual([]);
    expect(metrics.samples.filter((s) => s.name === 'pgdrill_drill_check_failures')).toHaveLength(2);
    expect(metrics.samples.filter((s) => s.name.startsWith('pgdrill_backup_duration_seconds'))).toEqual([]);
  });

  it('knows the last passed drill from the last drill when lastPassedDrillAt is left out, and leaves it out when that drill failed', async () => {
    const registry = await createMetricsRegistry();
    const { lastPassedDrillAt: _, ...withoutField } = oslrs;
    const render = async (h: DatabaseHealth) => parseExposition(await registry.render({ ...SNAPSHOT, databases: [h] }, CONFIG));
    const failed = await render(withoutField);
    expect(failed.samples.filter((s) => s.name === 'pgdrill_drill_last_success_timestamp_seconds')).toEqual([]);
    const passed = await render({ ...withoutField, lastDrill: { ...oslrs.lastDrill!, verdict: 'PASS', failedChecks: [] } });
    expect(sample(passed, 'pgdrill_drill_last_success_timestamp_seconds', { database: 'oslrs' })).toBe(unix('2026-11-01T03:00:00.000Z'));
    expect(sample(passed, 'pgdrill_drill_last_passed', { database: 'oslrs' })).toBe(1);
  });

  it('counts observed backup durations in the histogram buckets, kept across scrapes of different snapshots', async () => {
    const registry = await createMetricsRegistry();
    for (const seconds of [0.5, 4, 95, 95, 4000, 20_000]) registry.observeBackupDuration('oslrs', seconds);
    registry.observeBackupDuration('ledger', 30);
    await registry.render(SNAPSHOT, CONFIG);
    const metrics = parseExposition(await registry.render({ ...SNAPSHOT, databases: [ledger] }, CONFIG));
    const bucket = (database: string, le: string) => sample(metrics, 'pgdrill_backup_duration_seconds_bucket', { database, le });
    const expected: Record<string, number> = { '1': 1, '5': 2, '15': 2, '60': 2, '120': 4, '3600': 4, '7200': 5, '14400': 5, '+Inf': 6 };
    for (const [le, count] of Object.entries(expected)) expect(bucket('oslrs', le), `le=${le}`).toBe(count);
    expect(sample(metrics, 'pgdrill_backup_duration_seconds_count', { database: 'oslrs' })).toBe(6);
    expect(sample(metrics, 'pgdrill_backup_duration_seconds_sum', { database: 'oslrs' })).toBe(24_194.5);
    expect(bucket('ledger', '15')).toBe(0);
    expect(bucket('ledger', '30')).toBe(1);
    expect(metrics.samples.filter((s) => s.name === 'pgdrill_backup_duration_seconds_bucket' && s.labels.database === 'oslrs')).toHaveLength(
      BACKUP_DURATION_BUCKETS.length + 1,
    );
    // A database dropped from the snapshot leaves the gauges at once.
    expect(metrics.samples.some((s) => s.name === 'pgdrill_storage_bytes' && s.labels.database === 'oslrs')).toBe(false);
    expect(() => registry.observeBackupDuration('oslrs', Number.NaN)).toThrow(/finite number of seconds >= 0, got NaN/);
  });
});
