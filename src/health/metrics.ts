import type * as PromClient from 'prom-client';
import { MONITOR_NAMES, drillDueAt, evaluateMonitors, monitorKey, type MonitorSettings } from './monitors.ts';
import type { DatabaseHealth, HealthSnapshot } from './types.ts';

// Prometheus metrics of the HealthSnapshot, with prom-client loaded only by createMetricsRegistry
// (importing src/health stays light). Gauges and counters are set from the snapshot at each scrape,
// in a registry of that scrape alone (a database dropped from the config disappears, two scrapes
// never mix); only the backup duration histogram lives for the process, fed as backups finish.

/** What Prometheus expects from /metrics and what node_exporter's textfile collector reads. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const PREFIX = 'pgdrill_';
const JOB_KINDS = ['backup', 'drill', 'verify', 'prune', 'pitr-mark'] as const;

/** Seconds: a small database dumps in seconds, a large one in hours. */
export const BACKUP_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14_400];

type Labels = Record<string, string>;
type Sample = [labels: Labels, value: number];

/** One metric set from the snapshot: its name (without prefix), type, labels and samples. */
interface SnapshotMetric {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  labelNames: string[];
  samples(snapshot: HealthSnapshot, context: { firing: Set<string>; settings: MonitorSettings }): Sample[];
}

const seconds = (iso: string): number => Date.parse(iso) / 1000;

/** Samples of one value per database, skipping databases where it is undefined. */
function perDatabase(value: (health: DatabaseHealth, settings: MonitorSettings) => number | undefined) {
  return (snapshot: HealthSnapshot, { settings }: { settings: MonitorSettings }): Sample[] =>
    snapshot.databases.flatMap((health) => {
      const v = value(health, settings);
      return v === undefined ? [] : [[{ database: health.database }, v] as Sample];
    });
}

function lastPassedDrillAt(health: DatabaseHealth): string | null | undefined {
  if (health.lastPassedDrillAt !== undefined) return health.lastPassedDrillAt;
  if (!health.lastDrill) return null;
  return health.lastDrill.verdict === 'PASS' ? health.lastDrill.at : undefined;
}

const SNAPSHOT_METRICS: readonly SnapshotMetric[] = [
  {
    name: 'health_snapshot_timestamp_seconds',
    type: 'gauge',
    help: 'When these figures were gathered (Unix seconds); a textfile that stops advancing is stale',
    labelNames: [],
    samples: (snapshot) => [[{}, seconds(snapshot.at)]],
  },
  {
    name: 'backup_last_success_timestamp_seconds',
    type: 'gauge',
    help: 'Start of the newest valid full backup, its data point in time (Unix seconds); 0 when there is none',
    labelNames: ['database'],
    samples: perDatabase((h) => (h.lastBackup ? seconds(h.lastBackup.takenAt) : 0)),
  },
  {
    name: 'backup_last_duration_seconds',
    type: 'gauge',
    help: 'How long the newest valid full backup took',
    labelNames: ['database'],
    samples: perDatabase((h) => (h.lastBackup ? h.lastBackup.durationMs / 1000 : undefined)),
  },
  {
    name: 'backup_size_bytes',
    type: 'gauge',
    help: 'Stored bytes (dump and globals) of the newest valid full backup',
    labelNames: ['database'],
    samples: perDatabase((h) => h.lastBackup?.sizeBytes),
  },
  {
    name: 'backup_size_change_ratio',
    type: 'gauge',
    help: 'Size of the newest valid full backup against the one before it: (newest - previous) / previous',
    labelNames: ['database'],
    samples: perDatabase(({ lastBackup: last, previousBackup: previous }) =>
      last && previous && previous.sizeBytes > 0 ? (last.sizeBytes - previous.sizeBytes) / previous.sizeBytes : undefined,
    ),
  },
  {
    name: 'backup_runs_total',
    type: 'counter',
    help: 'Backup jobs this service completed, by result',
    labelNames: ['database', 'result'],
    samples: (snapshot) =>
      snapshot.databases.flatMap((h) => [
        [{ database: h.database, result: 'success' }, h.runs.backup.success] as Sample,
        [{ database: h.database, result: 'failure' }, h.runs.backup.failure] as Sample,
      ]),
  },
  {
    name: 'consecutive_failures',
    type: 'gauge',
    help: 'Final failures in a row per job kind (0 after a success)',
    labelNames: ['database', 'kind'],
    samples: (snapshot) => snapshot.databases.flatMap((h) => JOB_KINDS.map((kind): Sample => [{ database: h.database, kind }, h.consecutiveFailures[kind]])),
  },
  {
    name: 'drill_last_timestamp_seconds',
    type: 'gauge',
    help: 'When the last restore drill ran, whatever its verdict (Unix seconds); 0 when none did',
    labelNames: ['database'],
    samples: perDatabase((h) => (h.lastDrill ? seconds(h.lastDrill.at) : 0)),
  },
  {
    name: 'drill_last_success_timestamp_seconds',
    type: 'gauge',
    help: 'When the last restore drill with verdict PASS ran (Unix seconds); 0 when none did',
    labelNames: ['database'],
    samples: perDatabase((h) => {
      const at = lastPassedDrillAt(h);
      return at === undefined ? undefined : at === null ? 0 : seconds(at);
    }),
  },
  {
    name: 'drill_last_passed',
    type: 'gauge',
    help: 'Verdict of the last restore drill: 1 PASS, 0 FAIL',
    labelNames: ['database'],
    samples: perDatabase((h) => (h.lastDrill ? Number(h.lastDrill.verdict === 'PASS') : undefined)),
  },
  {
    name: 'drill_rto_seconds',
    type: 'gauge',
    help: 'Recovery time of the last restore drill (download, decrypt, restore, checks); absent when its restore never completed',
    labelNames: ['database'],
    samples: perDatabase((h) => (h.lastDrill?.rtoMs == null ? undefined : h.lastDrill.rtoMs / 1000)),
  },
  {
    name: 'drill_check_failures',
    type: 'gauge',
    help: 'Checks that failed in the last restore drill: 1 per failed check',
    labelNames: ['database', 'check'],
    samples: (snapshot) => snapshot.databases.flatMap((h) => (h.lastDrill?.failedChecks ?? []).map((check): Sample => [{ database: h.database, check }, 1])),
  },
  {
    name: 'drill_next_due_timestamp_seconds',
    type: 'gauge',
    help: 'When the next restore drill is due: drill.intervalDays after the last one, or after the oldest backup before the first (Unix seconds)',
    labelNames: ['database'],
    samples: perDatabase((h, settings) => {
      const due = drillDueAt(h, settings.drill.intervalDays);
      return due ? due.getTime() / 1000 : undefined;
    }),
  },
  {
    name: 'storage_bytes',
    type: 'gauge',
    help: 'Stored bytes of every valid backup of the database',
    labelNames: ['database'],
    samples: perDatabase((h) => h.storageBytes),
  },
  {
    name: 'disk_free_ratio',
    type: 'gauge',
    help: 'Free share (0..1) of the file system holding a folder store or the temp folder, as df counts it',
    labelNames: ['database', 'path'],
    samples: (snapshot) => snapshot.databases.flatMap((h) => h.diskFree.map((disk): Sample => [{ database: h.database, path: disk.path }, disk.freeRatio])),
  },
  {
    name: 'notification_failures_total',
    type: 'counter',
    help: 'Notifications that could not be delivered, by notifier',
    labelNames: ['notifier'],
    samples: (snapshot) => Object.entries(snapshot.notificationFailures).map(([notifier, count]): Sample => [{ notifier }, count]),
  },
  {
    name: 'monitor_firing',
    type: 'gauge',
    help: 'Health monitors (pgdrill status): 1 firing, 0 not',
    labelNames: ['database', 'monitor'],
    samples: (snapshot, { firing }) =>
      snapshot.databases.flatMap((h) =>
        MONITOR_NAMES.map((monitor): Sample => [{ database: h.database, monitor }, Number(firing.has(monitorKey(h.database, monitor)))]),
      ),
  },
];

/** Every metric name pgdrill exposes (for docs and tests). */
export const METRIC_NAMES: readonly string[] = [...SNAPSHOT_METRICS.map((m) => PREFIX + m.name), `${PREFIX}backup_duration_seconds`].sort();

export interface MetricsRegistry {
  /** Records the duration of a backup this process ran (the histogram lives as long as the process). */
  observeBackupDuration(database: string, seconds: number): void;
  /**
   * The Prometheus text exposition of the snapshot and of the histogram. `pgdrill_monitor_firing`
   * comes from evaluateMonitors(snapshot, settings) at `snapshot.at`.
   */
  render(snapshot: HealthSnapshot, settings: MonitorSettings): Promise<string>;
}

class PromMetricsRegistry implements MetricsRegistry {
  readonly #prom: typeof PromClient;
  readonly #process: PromClient.Registry;
  readonly #durations: PromClient.Histogram<'database'>;

  constructor(prom: typeof PromClient) {
    this.#prom = prom;
    this.#process = new prom.Registry();
    this.#durations = new prom.Histogram({
      name: `${PREFIX}backup_duration_seconds`,
      help: 'Durations of the backups this process ran since it started',
      labelNames: ['database'],
      buckets: BACKUP_DURATION_BUCKETS,
      registers: [this.#process],
    });
  }

  observeBackupDuration(database: string, seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`A backup duration must be a finite number of seconds >= 0, got ${seconds}`);
    this.#durations.observe({ database }, seconds);
  }

  async render(snapshot: HealthSnapshot, settings: MonitorSettings): Promise<string> {
    const firing = new Set(evaluateMonitors(snapshot, settings, new Date(snapshot.at)).map((alert) => alert.key));
    const scrape = new this.#prom.Registry();
    for (const metric of SNAPSHOT_METRICS) {
      const options = { name: PREFIX + metric.name, help: metric.help, labelNames: metric.labelNames, registers: [scrape] };
      const samples = metric.samples(snapshot, { firing, settings });
      if (metric.type === 'counter') {
        const counter = new this.#prom.Counter(options);
        for (const [labels, value] of samples) counter.inc(labels, value);
      } else {
        const gauge = new this.#prom.Gauge(options);
        for (const [labels, value] of samples) gauge.set(labels, value);
      }
    }
    return this.#prom.Registry.merge([scrape, this.#process]).metrics();
  }
}

/** Loads prom-client and starts the per-process histogram; one per process (serve, worker) or per run (textfile). */
export async function createMetricsRegistry(): Promise<MetricsRegistry> {
  return new PromMetricsRegistry(await import('prom-client'));
}
