import os from 'node:os';
import { backupSeries, type Catalog } from '../catalog/index.ts';
import type { PgdrillConfig } from '../config/index.ts';
import { diskFreeRatio, evaluateMonitors, type BackupFacts, type DatabaseHealth, type HealthSnapshot } from '../health/index.ts';
import { loadConfig } from '../config/index.ts';
import { parseStorageUrl } from '../storage/index.ts';
import { JOB_KINDS } from './state.ts';
import { fleetOf } from './fleet.ts';
import type { Queues } from './jobs.ts';
import { scheduledRuns } from './schedule.ts';
import type { ServiceState } from './state.ts';

// The health of every database of the fleet, from the source of truth for backups (the storage
// catalog), the drill ledger and the job engine's record of runs: what `pgdrill status`, the
// monitors, /metrics and the admin page show.

function backupFacts(entry: Catalog['backups'][number]): BackupFacts {
  const m = entry.manifest;
  return { id: m.id, key: m.objects.dump.key, takenAt: m.startedAt, durationMs: m.durationMs, sizeBytes: m.objects.dump.size + (m.objects.globals?.size ?? 0) };
}

const NO_RUNS = () => Object.fromEntries(JOB_KINDS.map((k) => [k, 0])) as Record<(typeof JOB_KINDS)[number], number>;

/**
 * The snapshot. Without a job engine (`queues`, `state`: `pgdrill metrics --textfile` from cron)
 * the storage alone tells backups and drills; runs, failures in a row and next runs are then empty.
 */
export async function healthSnapshot(options: { config: PgdrillConfig; configFile?: string; cwd: string; queues?: Queues; state?: ServiceState }): Promise<HealthSnapshot> {
  // Loaded on use, like the jobs' operations (see jobs.ts).
  const { catalogAndDrills } = await import('../operations/index.ts');
  const runs = options.queues ? await scheduledRuns(options.queues) : [];
  const databases: DatabaseHealth[] = [];
  for (const database of fleetOf(options.config)) {
    const { catalog, drills } = await catalogAndDrills({ configFile: options.configFile, cwd: options.cwd, overrides: database.overrides, drills: 12 });
    const full = catalog.backups.filter((b) => b.manifest.tier === 'daily' && backupSeries(b.manifest).full);
    const last = full.at(-1);
    const previous = full.at(-2);
    const drill = drills.at(-1)?.evidence;
    const passed = drills.findLast((d) => d.evidence.verdict === 'PASS')?.evidence;
    const counts = options.state
      ? await options.state.jobCounts(database.name)
      : { consecutiveFailures: NO_RUNS(), runs: Object.fromEntries(JOB_KINDS.map((k) => [k, { success: 0, failure: 0 }])) as DatabaseHealth['runs'] };
    // The file systems that fill up: a folder store's, and the temp folder restores and drills use.
    const storage = await loadConfig({ configFile: options.configFile, cwd: options.cwd, flags: database.overrides });
    const target = parseStorageUrl(storage.storage.url);
    const folders = [...(target.kind === 'local' ? [target.root] : []), os.tmpdir()];
    databases.push({
      database: database.name,
      lastBackup: last ? backupFacts(last) : null,
      previousBackup: previous ? backupFacts(previous) : null,
      lastDrill: drill
        ? { drillId: drill.drillId, at: drill.startedAt, verdict: drill.verdict, rtoMs: drill.timings.rtoMs, failedChecks: drill.checks.filter((c) => c.status === 'fail').map((c) => c.title) }
        : null,
      ...counts,
      storageBytes: catalog.backups.reduce((sum, b) => sum + b.manifest.objects.dump.size + (b.manifest.objects.globals?.size ?? 0), 0),
      diskFree: await Promise.all(folders.map(async (folder) => ({ path: folder, freeRatio: await diskFreeRatio(folder) }))),
      oldestBackupAt: catalog.backups.filter((b) => backupSeries(b.manifest).full)[0]?.manifest.startedAt,
      lastPassedDrillAt: passed?.startedAt ?? null,
      nextRuns: Object.fromEntries(runs.filter((r) => r.database === database.name && r.next).map((r) => [r.kind, r.next!])),
    });
  }
  return { at: new Date().toISOString(), databases, notificationFailures: options.state ? await options.state.notificationFailures() : {} };
}

/** `pgdrill status --json` and the API's GET /status: the snapshot, the firing monitors, and whether anything is wrong. */
export function statusReport(snapshot: HealthSnapshot, config: PgdrillConfig): HealthSnapshot & { healthy: boolean; problems: string[]; monitors: ReturnType<typeof evaluateMonitors> } {
  const monitors = evaluateMonitors(snapshot, config, new Date(snapshot.at));
  const problems = [
    ...monitors.map((m) => `${m.database}: ${m.monitor}: ${m.detail}`),
    ...snapshot.databases.flatMap((d) => [
      ...(d.lastDrill?.verdict === 'FAIL' ? [`${d.database}: the last drill FAILED`] : []),
      ...Object.entries(d.consecutiveFailures).filter(([, n]) => n > 0).map(([kind, n]) => `${d.database}: ${kind} failed ${n} time(s) in a row`),
    ]),
  ];
  return { ...snapshot, healthy: problems.length === 0, problems, monitors };
}
