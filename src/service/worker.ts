import path from 'node:path';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { PgdrillConfig } from '../config/index.ts';
import { interruptSignal, setLeftoverFolder, sweepLeftovers } from '../lifecycle/index.ts';
import { evaluateMonitors, monitorTransitions, transitionNotifications, type MetricsRegistry } from '../health/index.ts';
import type { JobKind, Notification, Notifier } from '../notify/index.ts';
import { fleetOf, pickDatabase, type FleetDatabase } from './fleet.ts';
import { jobOptions, JobFailure, openQueues, runJob, type JobData, type JobOutcome, type Queues } from './jobs.ts';
import { redisOptions, type RedisEndpoint } from './redis.ts';
import { JOB_KINDS, ServiceState } from './state.ts';
import { healthSnapshot } from './status.ts';

// `pgdrill worker`: takes jobs from the shared queues and runs them, one kind per BullMQ worker so
// each has its own concurrency. Any number of workers on any number of machines share one Redis; a
// job of a worker that dies is taken up by another once its lock expires (lockSeconds). On SIGTERM a
// worker stops taking jobs, lets the running ones finish within shutdownGraceSeconds, then aborts
// them (they clean up like the CLI: nothing half-published) and exits 143.

export interface ServiceContext {
  /** Per-process metrics (/metrics): backup durations are observed as backups complete. */
  metrics?: MetricsRegistry;
  config: PgdrillConfig;
  configFile?: string;
  /** The project folder: config file, drills/, checks/, reports/. */
  cwd: string;
  endpoint: RedisEndpoint;
  log: Logger;
  /** Delivers a notification (never throws; failures are counted). */
  notify(message: Notification): Promise<void>;
}

export interface RunningWorker {
  /** Stops taking jobs, waits up to the grace period for the running ones, aborts the rest. */
  close(): Promise<void>;
  readonly queues: Queues;
  readonly state: ServiceState;
}

/** Escalation by final failures in a row: 1 → warning, 2 → critical, 3 or more → page. */
export function escalationLevel(consecutive: number): 'warning' | 'critical' | 'page' {
  return consecutive >= 3 ? 'page' : consecutive === 2 ? 'critical' : 'warning';
}

export async function startWorker(context: ServiceContext): Promise<RunningWorker> {
  const { config, log } = context;
  const fleet = fleetOf(config);
  const stateDir = path.resolve(context.cwd, config.service.stateDir);
  // What a killed worker left on this machine (pg_dump, sandboxes) goes before taking new jobs.
  const leftovers = path.join(stateDir, 'leftovers');
  for (const label of sweepLeftovers(leftovers)) log.warn({ leftover: label }, 'removed a leftover of a worker that was killed');
  setLeftoverFolder(leftovers);

  const prefix = config.service.queuePrefix;
  // One connection for the state, the queues and the workers' commands (each BullMQ worker adds
  // its own blocking one): every connection holds BullMQ's scripts, ~0.4 MB each.
  const redis = new Redis(redisOptions(context.endpoint));
  const state = new ServiceState(redis, prefix);
  const queues = openQueues(redis, prefix);
  const shutdown = new AbortController();
  const delays = config.service.retryBackoffSeconds;

  const drillNotifier = (database: string): Notifier => ({
    name: 'service',
    notify: (message) => context.notify({ ...message, database }),
  });

  async function process(kind: JobKind, job: Job<JobData, JobOutcome>, signal: AbortSignal | undefined): Promise<JobOutcome> {
    const database = pickDatabase(fleet, job.data.database);
    const attempt = job.attemptsMade + 1;
    const jobLog = log.child({ jobId: job.id, database: database.name, kind, attempt });
    jobLog.info({ trigger: job.data.trigger }, 'job started');
    const abort = AbortSignal.any([shutdown.signal, ...(signal ? [signal] : [])]);
    let reported = 0;
    const outcome = await runJob(kind, database, job.data, {
      configFile: context.configFile,
      cwd: context.cwd,
      signal: abort,
      drillNotifier: drillNotifier(database.name),
      onProgress: (progress) => {
        if (Date.now() - reported < 1000) return;
        reported = Date.now();
        void job.updateProgress(progress).catch(() => {});
      },
    });
    jobLog.info({ summary: outcome.summary }, 'job completed');
    return outcome;
  }

  async function completed(kind: JobKind, job: Job<JobData, JobOutcome>, outcome: JobOutcome): Promise<void> {
    if (outcome.skipped) return;
    const database = pickDatabase(fleet, job.data.database);
    const { endedFailures } = await state.recordSuccess(database.name, kind);
    const at = new Date().toISOString();
    if (outcome.backup) {
      context.metrics?.observeBackupDuration(database.name, outcome.backup.durationMs / 1000);
      await context.notify({ kind: 'backup-succeeded', database: database.name, severity: 'info', at, backup: outcome.backup, recovered: endedFailures > 0 });
      await afterBackup(database, 'backup', outcome.backup.takenAt.slice(0, 10));
    }
    if (kind === 'prune' && job.data.trigger === 'after-backup') await afterBackup(database, 'prune', job.data.since);
    if (endedFailures > 0) {
      await context.notify({ kind: 'escalation', database: database.name, severity: 'info', at, job: kind, level: 'recovered', consecutiveFailures: endedFailures });
    }
  }

  /**
   * What follows a backup when the schedule says "after-backup": retention, then verification of
   * the new backup (in that order, so retention never deletes what is being verified).
   */
  async function afterBackup(database: FleetDatabase, finished: 'backup' | 'prune', since: string | undefined): Promise<void> {
    const data = { database: database.name, trigger: 'after-backup' as const, since };
    if (finished === 'backup' && database.schedule.prune === 'after-backup') await queues.prune.add('prune', data, jobOptions(config));
    else if (database.schedule.verify === 'after-backup') await queues.verify.add('verify', data, jobOptions(config));
  }

  async function failed(kind: JobKind, job: Job<JobData, JobOutcome> | undefined, error: Error): Promise<void> {
    if (!job || shutdown.signal.aborted) return;
    const database = job.data.database;
    const attempts = job.opts.attempts ?? 1;
    const final = error.name === 'UnrecoverableError' || job.attemptsMade >= attempts;
    const failure = error instanceof JobFailure ? error : undefined;
    const at = new Date().toISOString();
    log.error({ jobId: job.id, database, kind, attempt: job.attemptsMade, final, error: error.message }, 'job failed');
    await context.notify({
      kind: 'job-failed',
      database,
      severity: final ? 'critical' : 'warning',
      at,
      job: kind,
      error: error.message.replace(/^\[exit \d+\] /, ''),
      errorKind: failure?.kind ?? error.name,
      attempt: job.attemptsMade,
      attempts: final ? job.attemptsMade : attempts,
      final,
    });
    if (!final) return;
    const { consecutive } = await state.recordFinalFailure(database, kind);
    const level = escalationLevel(consecutive);
    await context.notify({ kind: 'escalation', database, severity: level === 'warning' ? 'warning' : 'critical', at, job: kind, level, consecutiveFailures: consecutive, lastError: error.message });
  }

  /**
   * The health monitors: one notification when a monitor starts firing and one when it stops,
   * whichever worker evaluates (a short Redis lock keeps two from sending the same one).
   */
  async function evaluateHealth(): Promise<void> {
    const lockKey = `${prefix}:state:monitor-lock`;
    if ((await redis.set(lockKey, String(globalThis.process.pid), 'PX', 120_000, 'NX')) !== 'OK') return;
    try {
      const snapshot = await healthSnapshot({ config, configFile: context.configFile, cwd: context.cwd, queues, state });
      const transitions = monitorTransitions(await state.firingMonitors(), evaluateMonitors(snapshot, config, new Date(snapshot.at)));
      await state.setFiringMonitors(transitions.firing);
      for (const alert of transitionNotifications(transitions, snapshot.at)) await context.notify(alert);
    } finally {
      await redis.del(lockKey);
    }
  }
  const evaluate = (): void => void evaluateHealth().catch((error: unknown) => log.error({ error: String(error) }, 'health monitors'));
  const monitorTimer = setInterval(evaluate, config.service.monitorIntervalMinutes * 60_000);

  const workers = JOB_KINDS.map((kind) => {
    const worker = new Worker<JobData, JobOutcome>(kind, (job, _token, signal) => process(kind, job, signal), {
      connection: redis,
      prefix,
      concurrency: config.service.concurrency[kind],
      lockDuration: config.service.lockSeconds * 1000,
      stalledInterval: config.service.lockSeconds * 1000,
      maxStalledCount: 1,
      settings: { backoffStrategy: (attemptsMade: number) => (delays[Math.min(attemptsMade, delays.length) - 1] ?? 0) * 1000 },
    });
    worker.on('completed', (job, outcome) =>
      void completed(kind, job, outcome).then(evaluate, (error: unknown) => log.error({ error: String(error) }, 'after a completed job')),
    );
    worker.on('failed', (job, error) => void failed(kind, job, error).then(evaluate, (e: unknown) => log.error({ error: String(e) }, 'after a failed job')));
    worker.on('error', (error) => log.error({ kind, error: error.message }, 'worker error'));
    return worker;
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  log.info({ databases: fleet.map((d) => d.name), redis: context.endpoint.label }, 'worker ready');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      log.info({ graceSeconds: config.service.shutdownGraceSeconds }, 'stopping: no new jobs; waiting for the running ones');
      clearInterval(monitorTimer);
      const graceful = Promise.all(workers.map((w) => w.close()));
      const timer = setTimeout(() => {
        log.warn('grace period over: aborting the running jobs (they clean up; another worker takes them up)');
        shutdown.abort(new Error('worker shutting down'));
        for (const w of workers) w.cancelAllJobs('worker shutting down');
      }, config.service.shutdownGraceSeconds * 1000);
      await graceful;
      clearTimeout(timer);
      await Promise.all(Object.values(queues).map((q) => q.close()));
      redis.disconnect();
      setLeftoverFolder(undefined);
    })());

  return { close, queues, state };
}

/** The process's SIGTERM/SIGINT: the grace period plus time to clean up before the lifecycle forces the exit. */
export function serviceInterrupt(config: PgdrillConfig): AbortSignal {
  return interruptSignal({ graceMs: (config.service.shutdownGraceSeconds + 30) * 1000 });
}
