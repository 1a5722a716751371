import type { PgdrillConfig } from '../config/index.ts';
import type { JobKind } from '../notify/index.ts';
import { fleetOf, schedulePattern } from './fleet.ts';
import { jobOptions, type Queues } from './jobs.ts';
import { JOB_KINDS } from './state.ts';

// Job schedulers from the configuration: one per database and job kind with a cron pattern
// (BullMQ job schedulers, so any number of workers share them and each tick runs once). Upserting
// is idempotent; schedulers no longer configured are removed.

export interface ScheduledRun {
  database: string;
  kind: JobKind;
  pattern: string;
  timeZone: string;
  /** Next run (ISO-8601 UTC), as the job engine computed it. */
  next: string | null;
}

const schedulerId = (kind: JobKind, database: string): string => `${kind}:${database}`;

export async function upsertSchedules(config: PgdrillConfig, queues: Queues): Promise<ScheduledRun[]> {
  const wanted = new Map<JobKind, Set<string>>(JOB_KINDS.map((kind) => [kind, new Set()]));
  const runs: ScheduledRun[] = [];
  for (const database of fleetOf(config)) {
    for (const kind of JOB_KINDS) {
      const pattern = schedulePattern(database, kind);
      // 'after-backup' jobs are added by the worker when a backup completes; null never runs.
      if (pattern === null || pattern === 'after-backup') continue;
      const id = schedulerId(kind, database.name);
      wanted.get(kind)!.add(id);
      await queues[kind].upsertJobScheduler(id, { pattern, tz: database.schedule.timeZone }, { name: kind, data: { database: database.name, trigger: 'schedule' }, opts: jobOptions(config) });
      const next = (await queues[kind].getJobScheduler(id))?.next;
      runs.push({ database: database.name, kind, pattern, timeZone: database.schedule.timeZone, next: next ? new Date(next).toISOString() : null });
    }
  }
  for (const kind of JOB_KINDS) {
    for (const scheduler of await queues[kind].getJobSchedulers()) {
      if (!wanted.get(kind)!.has(scheduler.key)) await queues[kind].removeJobScheduler(scheduler.key);
    }
  }
  return runs;
}

/** The schedulers in the job engine, with their next runs. */
export async function scheduledRuns(queues: Queues): Promise<ScheduledRun[]> {
  const runs: ScheduledRun[] = [];
  for (const kind of JOB_KINDS) {
    for (const s of await queues[kind].getJobSchedulers()) {
      const database = s.template?.data?.database ?? s.key.slice(kind.length + 1);
      runs.push({ database, kind, pattern: s.pattern ?? '', timeZone: s.tz ?? 'UTC', next: s.next ? new Date(s.next).toISOString() : null });
    }
  }
  return runs;
}
