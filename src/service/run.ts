import { QueueEvents, type Job, type Queue } from 'bullmq';
import type { PgdrillConfig } from '../config/index.ts';
import { ExitCode, PgdrillError, type ExitCodeValue } from '../errors/index.ts';
import type { JobKind } from '../notify/index.ts';
import { fleetOf, pickDatabase } from './fleet.ts';
import { exitCodeOfReason, jobOptions, openQueue, type JobData, type JobOutcome } from './jobs.ts';
import { redisOptions, type RedisEndpoint } from './redis.ts';

// `pgdrill run KIND [--database NAME] [--wait]`: one job now, through the same queue the scheduler
// feeds, so it runs on whichever worker is free and obeys the same retries and locks.

/** A job that ended in failure; exits with the code the CLI command would have used. */
export class JobFailedError extends PgdrillError {
  override readonly exitCode: ExitCodeValue;
  constructor(reason: string) {
    super(`The job failed: ${reason.replace(/^\[exit \d+\] /, '')}`);
    const code = exitCodeOfReason(reason);
    this.exitCode = (Object.values(ExitCode) as number[]).includes(code) ? (code as ExitCodeValue) : ExitCode.failure;
  }
}

/**
 * Adds one job for one database of the fleet to its queue, with the configured retries: what
 * `pgdrill run` and the admin API's POST /backups and /drills do.
 */
export function enqueue(queue: Queue<JobData, JobOutcome>, config: PgdrillConfig, kind: JobKind, database: string, trigger: JobData['trigger'] = 'manual'): Promise<Job<JobData, JobOutcome>> {
  return queue.add(kind, { database, trigger }, jobOptions(config));
}

export async function enqueueJob(options: {
  config: PgdrillConfig;
  endpoint: RedisEndpoint;
  kind: JobKind;
  database?: string;
  wait: boolean;
  onProgress?: (progress: unknown) => void;
}): Promise<{ jobId: string; database: string; outcome?: JobOutcome }> {
  const database = pickDatabase(fleetOf(options.config), options.database);
  const connection = redisOptions(options.endpoint);
  const prefix = options.config.service.queuePrefix;
  const queue = openQueue(options.kind, connection, prefix);
  const events = options.wait ? new QueueEvents(options.kind, { connection, prefix }) : undefined;
  try {
    await events?.waitUntilReady();
    const job = await enqueue(queue, options.config, options.kind, database.name);
    const jobId = job.id!;
    if (!events) return { jobId, database: database.name };
    if (options.onProgress) events.on('progress', (event) => event.jobId === jobId && options.onProgress!(event.data));
    try {
      const outcome = (await job.waitUntilFinished(events)) as JobOutcome;
      return { jobId, database: database.name, outcome };
    } catch (error) {
      throw new JobFailedError((error as Error).message);
    }
  } finally {
    await events?.close();
    await queue.close();
  }
}
