import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Command } from 'commander';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createMetricsRegistry, evaluateMonitors, metricsHandler, writeTextfile } from '../../health/index.ts';
import { loadConfig } from '../../config/index.ts';
import { formatAge, formatBytes, formatDuration } from '../../format/index.ts';
import type { JobKind } from '../../notify/index.ts';
import {
  enqueueJob,
  fleetOf,
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

const parsePort = (value: string): number => {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--metrics-port ${JSON.stringify(value)} is not a port`, { hint: 'e.g. --metrics-port 9187' });
  return port;
};

/** Queues and state of the job engine, for commands that read it; close() releases the connections. */
function jobEngine(endpoint: RedisEndpoint, prefix: string) {
  const redis = new Redis(redisOptions(endpoint));
  const queues = openQueues(redisOptions(endpoint), prefix);
  return {
    queues,
    state: new ServiceState(redis, prefix),
    async close() {
      await closeQueues(queues);
      redis.disconnect();
    },
  };
}

/** /metrics on 127.0.0.1:port. */
async function serveMetrics(port: number, render: () => Promise<string>, onError: (error: unknown) => void): Promise<Server> {
  const server = createServer(metricsHandler(render, onError));
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  return server;
}

/** Resolves when the first SIGINT/SIGTERM arrives, with the InterruptedError to exit with. */
function interrupted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(signal.reason), { once: true }));
}

export function register(program: Command): void {
  const config = () => loadConfig({ configFile: program.opts().config });

  /** Runs the worker (and, for serve, the private Redis) until SIGINT/SIGTERM; exits 130/143. */
  async function runService(options: { embedded: boolean }, flags: { metricsPort?: number }): Promise<void> {
    const cfg = await config();
    const signal = serviceInterrupt(cfg);
    const log = pino({ base: { service: 'pgdrill', pid: process.pid } });
    const redis = options.embedded && !cfg.service.redisUrl ? await startEmbeddedRedis(cfg.service.stateDir) : undefined;
    const endpoint: RedisEndpoint = redis?.endpoint ?? (await resolveRedis(cfg.service));
    try {
      const queues = openQueues(redisOptions(endpoint), cfg.service.queuePrefix);
      const schedules = await upsertSchedules(cfg, queues).finally(() => closeQueues(queues));
      for (const s of schedules) log.info({ database: s.database, kind: s.kind, pattern: s.pattern, timeZone: s.timeZone, next: s.next }, 'scheduled');
      // Built before the worker takes jobs: a notification setting that cannot work stops it here.
      // Failures are counted in the worker's shared state once it exists.
      const started: { state?: ServiceState } = {};
      const notify = serviceNotify({ config: cfg, fleet: fleetOf(cfg), log, countFailure: async (name) => started.state?.countNotificationFailure(name) });
      const metricsPort = flags.metricsPort ?? cfg.service.metricsPort;
      const metrics = metricsPort === undefined ? undefined : await createMetricsRegistry();
      const worker = await startWorker({ config: cfg, configFile: program.opts().config, cwd: process.cwd(), endpoint, log, metrics, notify });
      started.state = worker.state;
      const server =
        metrics && metricsPort !== undefined
          ? await serveMetrics(metricsPort, async () =>
              metrics.render(await healthSnapshot({ config: cfg, configFile: program.opts().config, cwd: process.cwd(), queues: worker.queues, state: worker.state }), cfg),
            (error) => log.error({ error: String(error) }, 'metrics'))
          : undefined;
      if (server) log.info({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics` }, 'metrics');
      const reason = await interrupted(signal);
      server?.close();
      await worker.close();
      throw reason;
    } finally {
      await redis?.stop();
    }
  }

  program
    .command('serve')
    .description('run the whole service on this machine: schedules, a worker, and (without REDIS_URL) a private Redis in the state folder')
    .option('--metrics-port <port>', 'serve Prometheus /metrics on this port (127.0.0.1)', parsePort)
    .action((flags: { metricsPort?: number }) => runService({ embedded: true }, flags));

  program
    .command('worker')
    .description('take jobs from the shared queue (REDIS_URL, or the Redis of a `pgdrill serve` in this state folder) and run them')
    .option('--metrics-port <port>', 'serve Prometheus /metrics on this port (127.0.0.1)', parsePort)
    .action((flags: { metricsPort?: number }) => runService({ embedded: false }, flags));

  program
    .command('metrics')
    .description("write the Prometheus metrics once, for node_exporter's textfile collector (cron users; works without a running service)")
    .requiredOption('--textfile <file>', 'e.g. /var/lib/node_exporter/textfile_collector/pgdrill.prom (written atomically)')
    .action(async (flags: { textfile: string }) => {
      const cfg = await config();
      // With a service, its job counts too; without one, what storage tells.
      const endpoint = cfg.service.redisUrl || existsSync(path.join(cfg.service.stateDir, 'redis.json')) ? await resolveRedis(cfg.service) : undefined;
      const registry = await createMetricsRegistry();
      const engine = endpoint ? jobEngine(endpoint, cfg.service.queuePrefix) : undefined;
      try {
        const snapshot = await healthSnapshot({ config: cfg, configFile: program.opts().config, cwd: process.cwd(), ...(engine ? { queues: engine.queues, state: engine.state } : {}) });
        await writeTextfile(flags.textfile, await registry.render(snapshot, cfg));
        out(`wrote ${path.resolve(flags.textfile)} (${snapshot.databases.length} database(s))`);
      } finally {
        await engine?.close();
      }
    });

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
    .description('enqueue one job now (backup, drill, verify, prune or pitr-mark) and, with --wait, follow it to its end; exits with the job\'s exit code')
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
      const engine = jobEngine(endpoint, cfg.service.queuePrefix);
      try {
        const snapshot = await healthSnapshot({ config: cfg, configFile: program.opts().config, cwd: process.cwd(), queues: engine.queues, state: engine.state });
        const now = Date.parse(snapshot.at);
        const monitors = evaluateMonitors(snapshot, cfg, new Date(snapshot.at));
        const problems = [
          ...monitors.map((m) => `${m.database}: ${m.monitor}: ${m.detail}`),
          ...snapshot.databases.flatMap((d) => [
            ...(d.lastDrill?.verdict === 'FAIL' ? [`${d.database}: the last drill FAILED`] : []),
            ...Object.entries(d.consecutiveFailures).filter(([, n]) => n > 0).map(([kind, n]) => `${d.database}: ${kind} failed ${n} time(s) in a row`),
          ]),
        ];
        if (flags.json) out(JSON.stringify({ ...snapshot, healthy: problems.length === 0, problems, monitors }, null, 2));
        else {
          for (const d of snapshot.databases) {
            out(`${d.database}`);
            out(`  last backup  ${d.lastBackup ? `${d.lastBackup.takenAt} (${formatAge(now - Date.parse(d.lastBackup.takenAt))} ago), ${formatBytes(d.lastBackup.sizeBytes)}, ${formatDuration(d.lastBackup.durationMs)}, ${d.lastBackup.key}` : 'none'}`);
            out(`  last drill   ${d.lastDrill ? `${d.lastDrill.verdict} ${d.lastDrill.at.slice(0, 10)}, RTO ${formatDuration(d.lastDrill.rtoMs)}` : 'none'}`);
            out(`  failures     ${JOB_KINDS.map((k) => `${k} ${d.consecutiveFailures[k]}`).join(', ')} (in a row)`);
            out(`  next runs    ${Object.entries(d.nextRuns).map(([k, at]) => `${k} ${at}`).join(', ') || 'none scheduled'}`);
            out(`  storage      ${formatBytes(d.storageBytes)}${d.diskFree.map((f) => `; ${Math.round(f.freeRatio * 100)} % free on ${f.path}`).join('')}`);
          }
          out(problems.length ? `UNHEALTHY: ${problems.join('; ')}` : 'healthy');
        }
        if (problems.length) process.exitCode = 1;
      } finally {
        await engine.close();
      }
    });
}
