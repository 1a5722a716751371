import type { Command } from 'commander';
import { pino } from 'pino';
import { loadConfig } from '../../config/index.ts';
import { formatAge, formatBytes, formatDuration } from '../../format/index.ts';
import type { JobKind } from '../../notify/index.ts';
import {
  enqueueJob,
  healthSnapshot,
  JOB_KINDS,
  closeQueues,
  openQueues,
  resolveRedis,
  ServiceState,
  serviceInterrupt,
  startEmbeddedRedis,
  startWorker,
  upsertSchedules,
  redisOptions,
  serviceNotify,
  type RedisEndpoint,
} from '../../service/index.ts';
import { ConfigError } from '../../errors/index.ts';

const out = (line = '') => process.stdout.write(`${line}\n`);

/** Resolves when the first SIGINT/SIGTERM arrives, with the InterruptedError to exit with. */
function interrupted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));
}

export function register(program: Command): void {
  const config = () => loadConfig({ configFile: program.opts().config });

  /** Runs the worker (and, for serve, the private Redis) until SIGINT/SIGTERM; exits 130/143. */
  async function runService(options: { embedded: boolean }): Promise<void> {
    const cfg = await config();
    const signal = serviceInterrupt(cfg);
    const log = pino({ base: { service: 'pgdrill', pid: process.pid } });
    const redis = options.embedded && !cfg.service.redisUrl ? await startEmbeddedRedis(cfg.service.stateDir) : undefined;
    const endpoint: RedisEndpoint = redis?.endpoint ?? (await resolveRedis(cfg.service));
    try {
      const queues = openQueues(redisOptions(endpoint), cfg.service.queuePrefix);
      const schedules = await upsertSchedules(cfg, queues).finally(() => closeQueues(queues));
      for (const s of schedules) log.info({ database: s.database, kind: s.kind, pattern: s.pattern, timeZone: s.timeZone, next: s.next }, 'scheduled');
      let notify: ReturnType<typeof serviceNotify> = async () => {};
      const worker = await startWorker({ config: cfg, configFile: program.opts().config, cwd: process.cwd(), endpoint, log, notify: (m) => notify(m) });
      notify = serviceNotify({ state: worker.state, log });
      const reason = await interrupted(signal);
      await worker.close();
      throw reason;
    } finally {
      await redis?.stop();
    }
  }

  program
    .command('serve')
    .description('run the whole service on this machine: schedules, a worker, and (without REDIS_URL) a private Redis in the state folder')
    .action(() => runService({ embedded: true }));

  program
    .command('worker')
    .description('take jobs from the shared queue (REDIS_URL, or the Redis of a `pgdrill serve` in this state folder) and run them')
    .action(() => runService({ embedded: false }));

  program
    .command('schedule')
    .description('create or update the job schedulers from the configuration (the worker also does this at start)')
    .action(async () => {
      const cfg = await config();
      const endpoint = await resolveRedis(cfg.service);
      const queues = openQueues(redisOptions(endpoint), cfg.service.queuePrefix);
      try {
        for (const s of await upsertSchedules(cfg, queues)) out(`${s.kind.padEnd(7)} ${s.database.padEnd(20)} ${s.pattern.padEnd(14)} ${s.timeZone}  next ${s.next ?? '—'}`);
      } finally {
        await closeQueues(queues);
      }
    });

  program
    .command('run')
    .description('enqueue one job now (backup, drill, verify or prune) and, with --wait, follow it to its end; exits with the job\'s exit code')
    .argument('<kind>', JOB_KINDS.join(' | '))
    .option('--database <name>', 'which database of the fleet (needed when there are several)')
    .option('--wait', 'wait for the job to end; exit with its exit code')
    .action(async (kind: string, flags: { database?: string; wait?: boolean }) => {
      if (!(JOB_KINDS as readonly string[]).includes(kind)) throw new ConfigError(`Unknown job kind "${kind}"`, { hint: `One of ${JOB_KINDS.join(', ')}` });
      const cfg = await config();
      const endpoint = await resolveRedis(cfg.service);
      const started = Date.now();
      const result = await enqueueJob({ config: cfg, endpoint, kind: kind as JobKind, database: flags.database, wait: Boolean(flags.wait) });
      if (!result.outcome) {
        out(`queued ${kind} of ${result.database}: job ${result.jobId}`);
        return;
      }
      out(`${kind} of ${result.database} (job ${result.jobId}) finished in ${formatDuration(Date.now() - started)}: ${result.outcome.summary}`);
    });

  program
    .command('status')
    .description('per database: last backup, last drill, failures in a row, next runs, storage used; exit 0 healthy, 1 unhealthy')
    .option('--json', 'print the health snapshot as JSON')
    .action(async (flags: { json?: boolean }) => {
      const cfg = await config();
      const endpoint = await resolveRedis(cfg.service);
      const { Redis } = await import('ioredis');
      const redis = new Redis(redisOptions(endpoint));
      const queues = openQueues(redisOptions(endpoint), cfg.service.queuePrefix);
      try {
        const snapshot = await healthSnapshot({ config: cfg, configFile: program.opts().config, cwd: process.cwd(), queues, state: new ServiceState(redis, cfg.service.queuePrefix) });
        const now = Date.parse(snapshot.at);
        const problems = snapshot.databases.flatMap((d) => [
          ...(d.lastBackup === null ? [`${d.database}: no full backup`] : now - Date.parse(d.lastBackup.takenAt) > cfg.drill.freshnessHours * 3_600_000 ? [`${d.database}: newest backup is older than ${cfg.drill.freshnessHours} h`] : []),
          ...(d.lastDrill?.verdict === 'FAIL' ? [`${d.database}: last drill FAILED`] : []),
          ...Object.entries(d.consecutiveFailures).filter(([, n]) => n > 0).map(([kind, n]) => `${d.database}: ${kind} failed ${n} time(s) in a row`),
        ]);
        if (flags.json) out(JSON.stringify({ ...snapshot, healthy: problems.length === 0, problems }, null, 2));
        else {
          for (const d of snapshot.databases) {
            out(`${d.database}`);
            out(`  last backup  ${d.lastBackup ? `${d.lastBackup.takenAt} (${formatAge(now - Date.parse(d.lastBackup.takenAt))} ago), ${formatBytes(d.lastBackup.sizeBytes)}, ${formatDuration(d.lastBackup.durationMs)}, ${d.lastBackup.key}` : 'none'}`);
            out(`  last drill   ${d.lastDrill ? `${d.lastDrill.verdict} ${d.lastDrill.at.slice(0, 10)}, RTO ${formatDuration(d.lastDrill.rtoMs)}` : 'none'}`);
            out(`  failures     ${JOB_KINDS.map((k) => `${k} ${d.consecutiveFailures[k]}`).join(', ')} (in a row)`);
            out(`  next runs    ${Object.entries(d.nextRuns).map(([k, at]) => `${k} ${at}`).join(', ') || 'none scheduled'}`);
            out(`  storage      ${formatBytes(d.storageBytes)}`);
          }
          out(problems.length ? `UNHEALTHY: ${problems.join('; ')}` : 'healthy');
        }
        if (problems.length) process.exitCode = 1;
      } finally {
        await closeQueues(queues);
        redis.disconnect();
      }
    });
}
