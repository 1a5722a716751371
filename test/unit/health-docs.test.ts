import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { METRIC_NAMES } from '../../src/health/index.ts';

// The shipped Prometheus rules and Grafana dashboard parse, have the shape Prometheus and Grafana
// load, and name only metrics pgdrill exposes (a renamed metric breaks this test, not a dashboard).

const read = (file: string) => readFile(new URL(`../../docs/monitoring/${file}`, import.meta.url), 'utf8');
const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;

/** The pgdrill_* metric names an expression reads, with a histogram's series reduced to its name. */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\bpgdrill_[a-z_]+/g)].map(([name]) => (METRIC_NAMES.includes(name) ? name : name.replace(HISTOGRAM_SERIES, '')));
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

async function rules(file: string): Promise<Rule[]> {
  const document = parse(await read(file), { strict: true, uniqueKeys: true }) as { groups: Array<{ name: string; rules: Rule[] }> };
  expect(Object.keys(document)).toEqual(['groups']);
  for (const group of document.groups) {
    expect(group.name).toMatch(/^\S+$/);
    expect(group.rules.length).toBeGreaterThan(0);
  }
  return document.groups.flatMap((group) => group.rules);
}

describe('docs/monitoring', () => {
  it('alerts.yml: each alert has an expression over pgdrill metrics, a severity and a summary; the seed limits are there', async () => {
    const alerts = await rules('alerts.yml');
    const names = alerts.map((rule) => rule.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const rule of alerts) {
      expect(Object.keys(rule).filter((key) => !['alert', 'expr', 'for', 'labels', 'annotations'].includes(key)), rule.alert).toEqual([]);
      expect(rule.alert, JSON.stringify(rule)).toMatch(/^Pgdrill[A-Za-z]+$/);
      expect(['warning', 'critical']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smhd]$/);
      const metrics = metricsIn(rule.expr);
      expect(metrics.length, rule.alert).toBeGreaterThan(0);
      for (const metric of metrics) expect(METRIC_NAMES, `${rule.alert}: ${metric}`).toContain(metric);
    }
    const expr = (alert: string) => alerts.find((rule) => rule.alert === alert)?.expr;
    expect(expr('PgdrillBackupTooOld')).toBe('time() - pgdrill_backup_last_success_timestamp_seconds > 26 * 3600');
    expect(expr('PgdrillBackupSizeJump')).toBe('pgdrill_backup_size_change_ratio > 0.5 or pgdrill_backup_size_change_ratio < -0.5');
    expect(expr('PgdrillDiskFreeLow')).toBe('min by (instance, path) (pgdrill_disk_free_ratio) < 0.2');
    expect(expr('PgdrillDrillOverdue')).toBe('time() - pgdrill_drill_next_due_timestamp_seconds > 2 * 86400');
    expect(expr('PgdrillConsecutiveFailures')).toBe('pgdrill_consecutive_failures >= 2');
    expect(expr('PgdrillNotificationFailures')).toBe('increase(pgdrill_notification_failures_total[1h]) > 0');
  });

  it('recording-rules.yml: the seed names backup_last_success_timestamp and backup_duration_seconds over pgdrill metrics', async () => {
    const records = await rules('recording-rules.yml');
    expect(records.map(({ record, expr }) => ({ record, expr }))).toEqual([
      { record: 'backup_last_success_timestamp', expr: 'pgdrill_backup_last_success_timestamp_seconds' },
      { record: 'backup_duration_seconds', expr: 'pgdrill_backup_last_duration_seconds' },
    ]);
    for (const metric of records.flatMap((rule) => metricsIn(rule.expr))) expect(METRIC_NAMES).toContain(metric);
  });

  it('grafana-dashboard.json: panels on a 24-column grid without overlap, each query over pgdrill metrics, with the data source input', async () => {
    const dashboard = JSON.parse(await read('grafana-dashboard.json')) as {
      uid: string;
      __inputs: Array<{ name: string }>;
      templating: { list: Array<{ name: string; query: { query: string } }> };
      panels: Array<{ type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; targets?: Array<{ expr: string; datasource: { uid: string } }> }>;
    };
    expect(dashboard.uid).toBe('pgdrill-health');
    expect(dashboard.__inputs.map((input) => input.name)).toEqual(['DS_PROMETHEUS']);
    const cells = new Set<string>();
    for (const panel of dashboard.panels) {
      const { x, y, w, h } = panel.gridPos;
      expect(x + w, panel.title).toBeLessThanOrEqual(24);
      for (let col = x; col < x + w; col += 1)
        for (let line = y; line < y + h; line += 1) {
          expect(cells.has(`${col},${line}`), `${panel.title} overlaps at ${col},${line}`).toBe(false);
          cells.add(`${col},${line}`);
        }
    }
    const queries = dashboard.panels.filter((panel) => panel.type !== 'row');
    expect(queries.map((panel) => panel.title)).toEqual(
      expect.arrayContaining(['Age of the newest valid backup', 'Backup duration', 'Size of the newest backup', 'Storage used', 'Disk free', 'Verdict of the last drill', 'RTO of the last drill']),
    );
    const used = new Set<string>();
    for (const panel of queries) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets!) {
        expect(target.datasource.uid).toBe('${DS_PROMETHEUS}');
        for (const metric of metricsIn(target.expr)) {
          expect(METRIC_NAMES, `${panel.title}: ${metric}`).toContain(metric);
          used.add(metric);
        }
      }
    }
    for (const metric of metricsIn(dashboard.templating.list[0]!.query.query)) expect(METRIC_NAMES).toContain(metric);
    // Every figure the issue asks the dashboard for is on it.
    for (const metric of [
      'pgdrill_backup_last_success_timestamp_seconds',
      'pgdrill_backup_duration_seconds',
      'pgdrill_backup_size_bytes',
      'pgdrill_storage_bytes',
      'pgdrill_disk_free_ratio',
      'pgdrill_drill_rto_seconds',
      'pgdrill_drill_last_passed',
      'pgdrill_consecutive_failures',
      'pgdrill_notification_failures_total',
    ])
      expect(used, metric).toContain(metric);
  });
});
