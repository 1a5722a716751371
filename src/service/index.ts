// The job service: schedules, retries and workers on BullMQ (Redis), for one database or a fleet.
// `pgdrill serve` runs it all on one machine (with a private Redis when REDIS_URL is unset);
// `pgdrill worker` joins a shared queue; `run` and `status` talk to either.
export { fleetOf, pickDatabase, type FleetDatabase } from './fleet.ts';
export { ensureStateDir, parseRedisUrl, redisOptions, resolveRedis, startEmbeddedRedis, type EmbeddedRedis, type RedisEndpoint } from './redis.ts';
export { serviceNotify } from './notify.ts';
export { closeQueues, exitCodeOfReason, openQueues, runJob, type JobData, type JobOutcome, type Queues } from './jobs.ts';
export { ServiceState, JOB_KINDS } from './state.ts';
export { escalationLevel, serviceInterrupt, startWorker, type RunningWorker, type ServiceContext } from './worker.ts';
export { scheduledRuns, upsertSchedules, type ScheduledRun } from './schedule.ts';
export { enqueue, enqueueJob, JobFailedError } from './run.ts';
export { healthSnapshot, statusReport } from './status.ts';
