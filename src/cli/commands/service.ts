import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import v8 from 'node:v8';
import type { Command } from 'commander';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createMetricsRegistry, metricsHandler, writeTextfile } from '../../health/index.ts';
import { loadConfig, type PgdrillConfig } from '../../config/index.ts';
import { formatAge, formatBytes, formatDuration } from '../../format/index.ts';
import type { JobKind } from '../../notify/index.ts';
import {
  enqueueJob,
  fleetOf,
  healthSnapshot,
  statusReport,
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

const portParser = (flag: string, example: number) => (value: string): number => {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`${flag} ${JSON.stringify(value)} is not a port`, { hint: `e.g. ${flag} ${example}` });
  return port;
};
const parsePort = portParser('--metrics-port', 9187);

/** Addresses only this machine can reach. */
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

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

/** /metrics on 127.0.0.1:port. node:http loads here: it costs a worker without metrics ~30 ms and ~1.7 MB of heap. */
async function serveMetrics(port: number, render: () => Promise<string>, onError: (error: unknown) => void): Promise<Server> {
  const { createServer } = await import('node:http');
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
  async function runService(options: { embedded: boolean }, flags: { metricsPort?: number; port?: number; host?: string; api?: boolean }): Promise<void> {
    // In this long-lived process (a larger heap than the CLI's) V8 otherwise starts incremental
    // marking every ~0.1 s while a backup streams: ~60 full collections per GB, 1.5–3 s of CPU and
    // ~15 % of a 1 GB backup's time. Without it a full collection runs when the heap is full (one
    // or two per GB, each a 10–30 ms pause here). Only the service: in the CLI it changes no time
    // and lets the S3 and restore paths' RSS grow by 10–20 MB (docs/benchmarks.md, 2026-12-07).
    v8.setFlagsFromString('--no-incremental-marking');
    const cfg = await config();
    const signal = serviceInterrupt(cfg);
    // Loaded here: the job client (`run`, `status`) logs nothing through pino.
    const { pino } = await import('pino');
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
      const api = options.embedded ? await serveApi(cfg, endpoint, log, flags) : undefined;
      const reason = await interrupted(signal);
      server?.close();
      await api?.close();
      await worker.close();
      throw reason;
    } finally {
      await redis?.stop();
    }
  }

  /** The admin API and page (unless port 0); loaded only here, so other commands never load Fastify. */
  async function serveApi(cfg: PgdrillConfig, endpoint: RedisEndpoint, log: Logger, flags: { port?: number; host?: string; api?: boolean }) {
    if (flags.api === false || !cfg.service.api.enabled) return undefined;
    const port = flags.port ?? cfg.service.api.port;
    const host = flags.host ?? cfg.service.api.host;
    const { startApiServer } = await import('../../api/index.ts');
    const api = await startApiServer({ config: cfg, configFile: program.opts().config, cwd: process.cwd(), endpoint, log, host, port });
    log.info({ url: api.url, publicUrl: cfg.service.api.publicUrl ?? null }, 'admin API and page');
    if (!LOOPBACK.has(host) && !cfg.service.api.publicUrl?.startsWith('https://')) {
      log.warn(
        { host },
        `the admin API is exposed on ${host} without a TLS proxy: tokens, passwords and session cookies cross the network in clear text. Put a TLS-terminating proxy in front and set service.api.publicUrl (PGDRILL_API_PUBLIC_URL) to its https:// address, or bind 127.0.0.1`,
      );
    }
    if (cfg.service.api.tokens.length === 0 && !cfg.service.api.passwordHash) {
      log.warn('no API token or password is configured, so nobody can log in: `pgdrill tokens create --name NAME --role admin`, then set PGDRILL_API_TOKENS');
    }
    return api;
  }

  program
    .command('serve')
    .description('run the whole service on this machine: schedules, a worker, the admin API and page, and (without REDIS_URL) a private Redis in the state folder')
    .option('--metrics-port <port>', 'serve Prometheus /metrics on this port (127.0.0.1)', parsePort)
    .option('--port <port>', 'port of the admin API and page (default 8734; 0: any free port, logged)', portParser('--port', 8734))
    .option('--no-api', 'do not serve the admin API and page')
    .option('--host <address>', 'address the admin API binds (default 127.0.0.1; exposing it wants a TLS proxy and service.api.publicUrl https://…)')
    .action((flags: { metricsPort?: number; port?: number; host?: string; api?: boolean }) => runService({ embedded: true }, flags));

  const tokens = program.command('tokens').description('admin API credentials');
  tokens
    .command('create')
    .description('print a new API token once, and the entry (name:role:sha256) to add to PGDRILL_API_TOKENS')
    .requiredOption('--name <name>', 'who or what uses it (shown in the audit trail)')
    .requiredOption('--role <role>', 'admin (may trigger, download, delete) or viewer (reads)')
    .option('--json', 'print { "token", "entry" }')
    .action(async (flags: { name: string; role: string; json?: boolean }) => {
      if (flags.role !== 'admin' && flags.role !== 'viewer') throw new ConfigError(`--role ${JSON.stringify(flags.role)} is not a role`, { hint: 'Use --role admin or --role viewer' });
      const { createApiToken } = await import('../../api/index.ts');
      const created = createApiToken(flags.name, flags.role);
      if (flags.json) out(JSON.stringify(created));
      else {
        out(`token: ${created.token}`);
        out(`entry: ${created.entry}`);
        process.stderr.write('The token is shown only now: give it to its user. Add the entry to PGDRILL_API_TOKENS (comma-separated) where `pgdrill serve` runs; it holds only the token\'s SHA-256.\n');
      }
    });
  tokens
    .command('password')
    .description("read the page's admin password from standard input and print its bcrypt hash for PGDRILL_API_PASSWORD_HASH (service.api.passwordHash)")
    .action(async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
      const { hashPassword } = await import('../../api/index.ts');
      out(await hashPassword(password));
    });

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
        const report = statusReport(snapshot, cfg);
        const { problems } = report;
        if (flags.json) out(JSON.stringify(report, null, 2));
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
