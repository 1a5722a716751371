import { QueueEvents } from 'bullmq';
import type { PgdrillConfig } from '../config/index.ts';
import { ExitCode, PgdrillError, type ExitCodeValue } from '../errors/index.ts';
import type { JobKind } from '../notify/index.ts';
import { fleetOf, pickDatabase } from './fleet.ts';
import { exitCodeOfReason, jobOptions, openQueue, type JobOutcome } from './jobs.ts';
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
    const job = await queue.add(options.kind, { database: database.name, trigger: 'manual' }, jobOptions(options.config));
    if (!events) return { jobId: job.id!, database: database.name };
    if (options.onProgress) events.on('progress', ({ jobId, data }) => jobId === job.id && options.onProgress!(data));
    try {
      const outcome = (await job.waitUntilFinished(events)) as JobOutcome;
      return { jobId: job.id!, database: database.name, outcome };
    } catch (error) {
      throw new JobFailedError((error as Error).message);
    }
  } finally {
    await events?.close();
    await queue.close();
  }
}
