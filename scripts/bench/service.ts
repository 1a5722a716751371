// `pnpm bench:service [--reps 3] [--databases 100] [--size 50MB] [--parts idle,queue,fleet] [--form source|package] [--no-docs]`
//
// Benchmarks of the job service (issue 15), on real parts: Debian's redis-server (the service's
// own private one, startEmbeddedRedis), embedded PostgreSQL 15 sandboxes loaded with the OSLRS
// fixture, and `pgdrill` processes started as the CLI starts (its shebang's Node options).
//   idle   `pgdrill worker` with its queues open and nothing to do, `reps` fresh starts each of the
//          source checkout (bin/pgdrill.js, Node's type stripping) and of the built package
//          (dist/bin/pgdrill.js from `pnpm build`, what an installed pgdrill runs): peak RSS
//          (VmHWM, start-up included) and steady RSS (VmRSS) after IDLE_SECONDS idle; beside them,
//          the same of the job engine alone (scripts/bench/bare-worker.js, bundled like the package's
//          CLI: Node, BullMQ, ioredis, pino, the four queues with a worker each), the floor under the figure, and of the engine
//          plus commander and the validated config (`bare-worker.js --config`), the floor of any
//          worker that checks its configuration with zod before its first job.
//   queue  the same backup of the same fixture, `reps` rounds, order rotated per round:
//            C  `pgdrill backup --no-prune --json` (CLI): wall time from spawn to exit;
//            Q  `pgdrill run backup --wait` against a running `pgdrill worker`: wall time from
//               spawn of the `run` process to its exit (its own Node start, Redis connect, enqueue,
//               the job on the worker, the completion event), with BullMQ's job timestamps beside it.
//          Retention is off on both sides (--no-prune; no after-backup jobs): the same work.
//          Afterwards the worker's RSS after idling again. `--form package` runs worker, C and Q from
//          the built package (dist/, what an installed pgdrill runs; also the fleet part's workers).
//   fleet  `--databases` small databases (the fixture at its smallest, cloned) in one embedded
//          cluster, one `databases: [...]` config, two `pgdrill worker` processes on one Redis; each
//          round every database's backup is scheduled (a job scheduler per database) at the same
//          instant T. Per job, from BullMQ's timestamps and the workers' JSON logs:
//            overhead = pickup + start + finish, where
//              pickup = processedOn − max(T, finishedOn of the previous job on the same worker)
//              start  = the worker's `job started` log time − processedOn
//              finish = finishedOn − the worker's `job completed` log time
//          i.e. everything on a worker's job slot that is not the backup operation itself.
// A Markdown table (figure, measured, target, MET/MISSED) goes to stdout and, unless --no-docs, a
// section to the end of docs/benchmarks.md. Progress goes to stderr. Everything (processes, Redis,
// sandboxes, temp folders) is removed at the end, on error and on Ctrl-C (src/lifecycle).
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { execa, type ResultPromise } from 'execa';
import pg from 'pg';
import { loadFixture, parseSize, rowsForTargetBytes } from '../../fixtures/index.ts';
import { BackupManifest } from '../../src/catalog/index.ts';
import { loadConfig } from '../../src/config/index.ts';
import { generateKey } from '../../src/crypto/index.ts';
import { registerCleanup, runCleanups } from '../../src/lifecycle/index.ts';
import { startEmbeddedSandbox } from '../../src/sandbox/index.ts';
import type { EmbeddedSandbox } from '../../src/sandbox/index.ts';
import { closeQueues, openQueues, redisOptions, startEmbeddedRedis, upsertSchedules, type JobOutcome, type Queues, type RedisEndpoint } from '../../src/service/index.ts';
import { appendBenchSection, buildPackage, cleanEnv, scriptInForm, codeVersion, fmtMB, fmtRatio, fmtSeconds, KIB, median, PACKAGE_CLI, procStatusKiB, rotate, RSS_HOOK, runNodeMeasured, shebangNodeArgs, SOURCE_CLI, timed } from './measure.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BARE_WORKER = path.join(ROOT, 'scripts', 'bench', 'bare-worker.js');
const DOCS = path.join(ROOT, 'docs', 'benchmarks.md');
const MAJOR = 15;
const CLI_NODE_ARGS = shebangNodeArgs(await readFile(SOURCE_CLI, 'utf8'));
/** What the figures measure: uncommitted changes here are named in the docs. */
const CODE_PATHS = ['src', 'bin'];
/** How long an idle worker is watched after it says it is ready. */
const IDLE_SECONDS = 10;
/** Pause before each timed run of the queue part, so one run's aftermath (the worker's health check) does not land on the next. */
const SETTLE_MS = 2000;
/** How far ahead of now a fleet round's instant T is set (the schedulers of every database are upserted before it). */
const FLEET_LEAD_MS = 15_000;

const TARGETS = {
  idleRssMB: 100, // below, peak and steady
  queueVsCli: 1.05, // Q / C at most
  overheadMs: 50, // per job, median and p95
};

// ---------------------------------------------------------------------------------------------
// Arguments

const PARTS = ['idle', 'queue', 'fleet'] as const;
type Part = (typeof PARTS)[number];
const { values: flags } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    databases: { type: 'string', default: '100' },
    size: { type: 'string', default: '50MB' },
    parts: { type: 'string', default: PARTS.join(',') },
    profile: { type: 'string' },
    form: { type: 'string', default: 'source' },
    'no-docs': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  allowPositionals: false,
});
if (flags.help) {
  process.stdout.write(`usage: pnpm bench:service [--reps N] [--databases N] [--size 50MB] [--parts idle,queue,fleet] [--no-docs]
  --reps       idle: fresh workers per form; queue: rounds (order rotated); fleet: scheduled rounds (default 3)
  --databases  fleet size (default 100)
  --size       fixture size of the queue part's database (default 50MB)
  --parts      which parts to run (default all)
  --form       queue and fleet parts: run the source checkout (bin/pgdrill.js, default) or the built
               package (dist/bin/pgdrill.js after \`pnpm build\`, what an installed pgdrill runs)
  --profile    write a CPU profile of every worker into this folder (node --cpu-prof), to see where time goes
  --no-docs    do not append the results to docs/benchmarks.md
`);
  process.exit(0);
}
const reps = Number(flags.reps);
if (!Number.isInteger(reps) || reps < 1 || reps > 50) throw new Error(`--reps must be a whole number 1…50, got ${flags.reps}`);
const fleetSize = Number(flags.databases);
if (!Number.isInteger(fleetSize) || fleetSize < 1 || fleetSize > 1000) throw new Error(`--databases must be a whole number 1…1000, got ${flags.databases}`);
const sizeBytes = parseSize(flags.size ?? '50MB');
const parts = new Set((flags.parts ?? '').split(',').map((p) => p.trim()).filter(Boolean));
for (const part of parts) if (!(PARTS as readonly string[]).includes(part)) throw new Error(`--parts: unknown part "${part}" (one of ${PARTS.join(', ')})`);
const runs = (part: Part): boolean => parts.has(part);
if (flags.form !== 'source' && flags.form !== 'package') throw new Error(`--form must be source or package, got ${flags.form}`);
/** The CLI of the queue and fleet parts (worker, C and Q alike). */
const PART_CLI = flags.form === 'package' ? PACKAGE_CLI : SOURCE_CLI;
const profileArgs = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(flags.profile)}`] : [];

const log = (line: string): void => {
  process.stderr.write(`[bench:service ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (kib: number): number => (kib * KIB) / 1e6;

// ---------------------------------------------------------------------------------------------
// Cleanup: the work folder (sandboxes, Redis and service processes register their own).

const work = await mkdtemp(path.join(os.tmpdir(), 'pgdrill-bench-service-'));
registerCleanup({
  kind: 'temp folder',
  label: 'bench:service work folder',
  run: () => rm(work, { recursive: true, force: true }),
  runSync: () => rmSync(work, { recursive: true, force: true }),
});

/** The environment of a pgdrill child: nothing of ours (PG*, PGDRILL_*, REDIS_URL, NODE_*) but what is given. */
function childEnv(extra: Record<string, string>): Record<string, string> {
  const base = Object.fromEntries(Object.entries(cleanEnv()).filter(([key]) => !key.startsWith('PGDRILL_') && key !== 'REDIS_URL'));
  return { ...base, ...extra };
}

async function writeConfig(dir: string, config: Record<string, unknown>): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(path.join(dir, 'pgdrill.config.json'), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

// ---------------------------------------------------------------------------------------------
// A long-running pgdrill process (worker): its JSON log, its memory, a clean stop.

interface LogLine {
  msg?: string;
  time?: number;
  pid?: number;
  jobId?: string;
  kind?: string;
  [key: string]: unknown;
}

interface ServiceProcess {
  readonly pid: number;
  readonly label: string;
  /** JSON log lines so far. */
  lines(): LogLine[];
  waitFor(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** RSS now and peak RSS so far (KiB). */
  memory(): { rssKiB: number; hwmKiB: number };
  /** SIGTERM, then waits for the exit; its exit code and (from the exit hook) CPU time. */
  stop(): Promise<{ exitCode: number | undefined; cpuMs: number }>;
}

function startServiceProcess(options: { script: string; args: string[]; cwd: string; env: Record<string, string>; label: string }): ServiceProcess {
  const rssFile = path.join(options.cwd, `rss-${randomBytes(4).toString('hex')}.json`);
  const child: ResultPromise = execa(process.execPath, [...CLI_NODE_ARGS, ...profileArgs, '--disable-warning=ExperimentalWarning', '--import', RSS_HOOK, options.script, ...options.args], {
    cwd: options.cwd,
    env: { ...options.env, PGDRILL_BENCH_RSS_FILE: rssFile },
    extendEnv: false,
    reject: false,
    buffer: false,
    stdin: 'ignore',
  });
  const pid = child.pid!;
  let text = '';
  let parsedUpTo = 0;
  const parsed: LogLine[] = [];
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const lines = (): LogLine[] => {
    const end = text.lastIndexOf('\n') + 1;
    for (const line of text.slice(parsedUpTo, end).split('\n')) {
      if (line.startsWith('{')) parsed.push(JSON.parse(line) as LogLine);
    }
    parsedUpTo = end;
    return parsed;
  };
  let exited = false;
  const ended = child.then((result) => {
    exited = true;
    return result;
  });
  const kill = (): void => void child.kill('SIGKILL');
  const stop = async (): Promise<{ exitCode: number | undefined; cpuMs: number }> => {
    unregister();
    if (!exited) child.kill('SIGTERM');
    const timer = setTimeout(kill, 90_000);
    const result = await ended;
    clearTimeout(timer);
    const report = await readFile(rssFile, 'utf8').then((t) => JSON.parse(t) as { cpuMs: number }, () => ({ cpuMs: Number.NaN }));
    await rm(rssFile, { force: true });
    return { exitCode: result.exitCode, cpuMs: report.cpuMs };
  };
  const unregister = registerCleanup({ kind: 'pgdrill process(es)', label: options.label, run: async () => void (await stop()), runSync: kill });
  return {
    pid,
    label: options.label,
    lines,
    async waitFor(match, timeoutMs = 180_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const found = lines().find(match);
        if (found) return found;
        if (exited) throw new Error(`${options.label} exited before the expected log line; output:\n${text.slice(-3000)}`);
        if (Date.now() > until) throw new Error(`${options.label}: no expected log line within ${timeoutMs / 1000} s; output:\n${text.slice(-3000)}`);
        await sleep(100);
      }
    },
    memory: () => ({ rssKiB: procStatusKiB(pid, 'VmRSS'), hwmKiB: procStatusKiB(pid, 'VmHWM') }),
    stop,
  };
}

const workerReady = (line: LogLine): boolean => line.msg === 'worker ready';

/** Watches an idle process for `seconds`: its RSS every 250 ms and its peak at the end. */
async function watchIdle(service: ServiceProcess, seconds: number): Promise<{ steadyKiB: number; peakKiB: number; minKiB: number; maxKiB: number }> {
  const samples: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    samples.push(service.memory().rssKiB);
    await sleep(250);
  }
  const { rssKiB, hwmKiB } = service.memory();
  const lastHalf = samples.slice(Math.floor(samples.length / 2));
  return { steadyKiB: rssKiB, peakKiB: hwmKiB, minKiB: Math.min(...lastHalf), maxKiB: Math.max(...lastHalf) };
}

// ---------------------------------------------------------------------------------------------
// Shared parts: Redis, key, source database

const key = generateKey('bench');
const keyring = `${key.id}:${key.base64}`;
let redisEndpoint: RedisEndpoint | undefined;
let redisUrl = '';

async function ensureRedis(): Promise<void> {
  if (redisEndpoint) return;
  // The service's own private Redis (append-only data, as `pgdrill serve` runs it); the workers join it through REDIS_URL.
  const redis = await startEmbeddedRedis(path.join(work, 'redis'));
  redisEndpoint = redis.endpoint;
  redisUrl = `redis://:${encodeURIComponent(redis.endpoint.password!)}@127.0.0.1:${redis.endpoint.port}`;
  log(`redis-server on 127.0.0.1:${redis.endpoint.port}`);
}

/** An embedded sandbox with the fixture at `rows` respondents in `database`, frozen and checkpointed. */
async function fixtureSandbox(database: string, rows: number): Promise<{ sandbox: EmbeddedSandbox; dbBytes: number }> {
  const sandbox = await startEmbeddedSandbox({ major: MAJOR, database });
  const url = sandbox.connectionUri(database);
  await loadFixture(url, { rows, canaryPassword: `bench-${randomBytes(9).toString('base64url')}` });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('VACUUM (FREEZE, ANALYZE)');
    await client.query('CHECKPOINT');
    const dbBytes = Number((await client.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n')).rows[0]?.n);
    return { sandbox, dbBytes };
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Part idle

interface IdleRun {
  startupMs: number;
  steadyKiB: number;
  peakKiB: number;
  minKiB: number;
  maxKiB: number;
}
type Form = 'package' | 'source' | 'engine' | 'engineConfig';
const FORMS = ['package', 'source', 'engine', 'engineConfig'] as const;
const FORM_SCRIPT: Record<Form, { script: string; args: string[] }> = {
  package: { script: PACKAGE_CLI, args: ['worker'] },
  source: { script: SOURCE_CLI, args: ['worker'] },
  engine: { script: BARE_WORKER, args: [] },
  engineConfig: { script: BARE_WORKER, args: ['--config'] },
};
const FORM_TEXT: Record<Form, string> = {
  package: '`pgdrill worker`, built package (`dist/bin/pgdrill.js`)',
  source: '`pgdrill worker`, source checkout (`bin/pgdrill.js`, type stripping)',
  engine: 'the job engine alone (BullMQ worker of the four queues, no pgdrill: `scripts/bench/bare-worker.js`)',
  engineConfig: 'the job engine plus the validated config (the same, plus commander and the built zod config schema loading pgdrill.config.json: `bare-worker.js --config`)',
};

async function benchIdle(sourceUrl: string): Promise<Record<Form, IdleRun[]>> {
  const dir = path.join(work, 'idle');
  await writeConfig(dir, { service: { queuePrefix: 'idle' } });
  const env = childEnv({ DATABASE_URL: sourceUrl, PGDRILL_STORAGE: path.join(dir, 'store'), PGDRILL_ENCRYPTION_KEYS: keyring, REDIS_URL: redisUrl, PGDRILL_STATE_DIR: path.join(dir, 'state') });
  const result: Record<Form, IdleRun[]> = { package: [], source: [], engine: [], engineConfig: [] };
  // The floors bundled as the package's CLI is, so both pay the same per-module cost.
  const bareWorker = await scriptInForm(BARE_WORKER, 'package');
  const scripts: Record<Form, { script: string; args: string[] }> = {
    ...FORM_SCRIPT,
    engine: { ...FORM_SCRIPT.engine, script: bareWorker },
    engineConfig: { ...FORM_SCRIPT.engineConfig, script: bareWorker },
  };
  for (let round = 0; round < reps; round++) {
    for (const form of rotate(FORMS, round)) {
      const started = performance.now();
      const worker = startServiceProcess({ ...scripts[form], cwd: dir, env, label: `idle worker (${form})` });
      await worker.waitFor(workerReady);
      const startupMs = performance.now() - started;
      const idle = await watchIdle(worker, IDLE_SECONDS);
      const { exitCode } = await worker.stop();
      if (exitCode !== 143) throw new Error(`the idle worker (${form}) exited ${exitCode} on SIGTERM, expected 143`);
      result[form].push({ startupMs, ...idle });
      log(
        `idle round ${round + 1}: ${form} worker ready in ${fmtSeconds(startupMs)}; after ${IDLE_SECONDS} s idle RSS ${fmtMB(idle.steadyKiB * KIB)} ` +
          `(last ${IDLE_SECONDS / 2} s ${fmtMB(idle.minKiB * KIB)}…${fmtMB(idle.maxKiB * KIB)}), peak ${fmtMB(idle.peakKiB * KIB)}`,
      );
    }
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Part queue

interface QueueResult {
  dbBytes: number;
  rows: number;
  /** Wall ms per round. */
  c: number[];
  q: number[];
  /** Manifest durationMs (inside runBackup) per round. */
  cInner: number[];
  qInner: number[];
  /** BullMQ: enqueue → worker starts it (processedOn − timestamp), and processedOn → finishedOn. */
  qWait: number[];
  qJob: number[];
  /** The `run` process: spawn → job enqueued (job.timestamp), and job finished → exit. */
  qStartup: number[];
  qTeardown: number[];
  cRssKiB: number[];
  qRunRssKiB: number[];
  /** The worker after the rounds: idle again. */
  workerAfter?: { steadyKiB: number; peakKiB: number; jobs: number };
}

async function benchQueue(sourceUrl: string, dbBytes: number, rows: number, queues: Queues): Promise<QueueResult> {
  const dir = path.join(work, 'queue');
  // No after-backup jobs: the queued backup does what `backup --no-prune` does, nothing more.
  await writeConfig(dir, { service: { queuePrefix: 'queue' }, schedule: { backup: null, drill: null, verify: null, prune: null } });
  const env = childEnv({ DATABASE_URL: sourceUrl, PGDRILL_STORAGE: path.join(dir, 'store'), PGDRILL_ENCRYPTION_KEYS: keyring, REDIS_URL: redisUrl, PGDRILL_STATE_DIR: path.join(dir, 'state') });
  const result: QueueResult = { dbBytes, rows, c: [], q: [], cInner: [], qInner: [], qWait: [], qJob: [], qStartup: [], qTeardown: [], cRssKiB: [], qRunRssKiB: [] };
  const worker = startServiceProcess({ script: PART_CLI, args: ['worker'], cwd: dir, env, label: 'queue worker' });
  await worker.waitFor(workerReady);
  const rssFile = path.join(dir, 'rss');

  const runC = async () => {
    const run = await runNodeMeasured({ nodeArgs: CLI_NODE_ARGS, script: PART_CLI, args: ['backup', '--no-prune', '--json'], env, cwd: dir, rssFile });
    if (run.exitCode !== 0) throw new Error(`pgdrill backup failed (exit ${run.exitCode}): ${run.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    return { run, manifest: BackupManifest.parse(JSON.parse(run.stdout)) };
  };
  const runQ = async () => {
    const spawnedAt = Date.now();
    const run = await runNodeMeasured({ nodeArgs: CLI_NODE_ARGS, script: PART_CLI, args: ['run', 'backup', '--wait'], env, cwd: dir, rssFile });
    if (run.exitCode !== 0) throw new Error(`pgdrill run backup --wait failed (exit ${run.exitCode}): ${run.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    const jobId = /\(job (\S+)\)/.exec(run.stdout)?.[1];
    const job = jobId ? await queues.backup.getJob(jobId) : undefined;
    const outcome = job?.returnvalue as JobOutcome | undefined;
    if (!job?.processedOn || !job.finishedOn || !outcome?.backup) throw new Error(`pgdrill run backup --wait: no finished job found for "${run.stdout.trim()}"`);
    return {
      run,
      job: { timestamp: job.timestamp, processedOn: job.processedOn, finishedOn: job.finishedOn },
      durationMs: outcome.backup.durationMs,
      // The `run` process before the job is in the queue, and after the job ended.
      startupMs: job.timestamp - spawnedAt,
      teardownMs: spawnedAt + run.wallMs - job.finishedOn,
    };
  };

  // Warm-up, untimed: the month's first-backup promotion, the worker's first job (its module graph), warm pages.
  log('queue: warm-up backup by the CLI and through the queue (untimed)');
  await runC();
  await runQ();
  for (let round = 0; round < reps; round++) {
    for (const contestant of rotate(['C', 'Q'] as const, round)) {
      await sleep(SETTLE_MS);
      if (contestant === 'C') {
        const { run, manifest } = await runC();
        result.c.push(run.wallMs);
        result.cInner.push(manifest.durationMs);
        result.cRssKiB.push(run.peakRssKiB);
        log(`queue round ${round + 1}: C pgdrill backup ${fmtSeconds(run.wallMs)} (in-process ${fmtSeconds(manifest.durationMs)}), peak RSS ${fmtMB(run.peakRssKiB * KIB)}`);
      } else {
        const { run, job, durationMs, startupMs, teardownMs } = await runQ();
        result.q.push(run.wallMs);
        result.qStartup.push(startupMs);
        result.qTeardown.push(teardownMs);
        result.qInner.push(durationMs);
        result.qWait.push(job.processedOn - job.timestamp);
        result.qJob.push(job.finishedOn - job.processedOn);
        result.qRunRssKiB.push(run.peakRssKiB);
        log(
          `queue round ${round + 1}: Q pgdrill run backup --wait ${fmtSeconds(run.wallMs)} (spawn → enqueued ${fmtSeconds(startupMs)}, enqueued → started ${job.processedOn - job.timestamp} ms, ` +
            `job ${fmtSeconds(job.finishedOn - job.processedOn)} (in-process ${fmtSeconds(durationMs)}), finished → exit ${fmtSeconds(teardownMs)})`,
        );
      }
    }
  }
  const idle = await watchIdle(worker, IDLE_SECONDS);
  result.workerAfter = { steadyKiB: idle.steadyKiB, peakKiB: idle.peakKiB, jobs: reps + 1 };
  log(`queue: worker after ${reps + 1} backups, ${IDLE_SECONDS} s idle: RSS ${fmtMB(idle.steadyKiB * KIB)}, peak ${fmtMB(idle.peakKiB * KIB)}`);
  const { exitCode } = await worker.stop();
  if (exitCode !== 143) throw new Error(`the queue worker exited ${exitCode} on SIGTERM, expected 143`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Part fleet

interface FleetJob {
  round: number;
  database: string;
  worker: number;
  /** Its place in the worker's sequence of the round (0: the worker's first job). */
  seq: number;
  pickupMs: number;
  startMs: number;
  finishMs: number;
  overheadMs: number;
  opMs: number;
  /** processedOn − T: how long it waited in the queue (mostly behind the other jobs). */
  waitedMs: number;
}

interface FleetResult {
  databases: number;
  dbBytes: number;
  jobs: FleetJob[];
  /** Per round: T → last finishedOn, and Σ op. */
  makespanMs: number[];
  opSumMs: number[];
  workerCpuMs: number[];
  failed: number;
}

const FLEET_SCHEDULE_OFF = { backup: null, drill: null, verify: null, prune: null };

async function benchFleet(queues: Queues): Promise<FleetResult> {
  const dir = path.join(work, 'fleet');
  const names = Array.from({ length: fleetSize }, (_, i) => `db${String(i + 1).padStart(3, '0')}`);
  log(`fleet: one embedded cluster with ${fleetSize} copies of the fixture at 100 respondents`);
  const { sandbox, dbBytes } = await fixtureSandbox('fleet_template', 100);
  const admin = new pg.Client({ connectionString: sandbox.connectionUri('postgres') });
  await admin.connect();
  try {
    for (const name of names) await admin.query(`CREATE DATABASE ${name} TEMPLATE fleet_template STRATEGY FILE_COPY`);
  } finally {
    await admin.end();
  }
  const { port, user, password } = sandbox.connection;
  const databases = names.map((name) => ({ name, url: `postgres://${user}@127.0.0.1:${port}/${name}` }));
  // Schedules come from the bench each round (upsertSchedules); the workers start with none.
  await writeConfig(dir, { service: { queuePrefix: 'fleet' }, schedule: FLEET_SCHEDULE_OFF, databases });
  const env = childEnv({ PGPASSWORD: password, PGDRILL_STORAGE: path.join(dir, 'store'), PGDRILL_ENCRYPTION_KEYS: keyring, REDIS_URL: redisUrl, PGDRILL_STATE_DIR: path.join(dir, 'state') });
  const workers = [0, 1].map((i) => startServiceProcess({ script: PART_CLI, args: ['worker'], cwd: dir, env, label: `fleet worker ${i + 1}` }));
  await Promise.all(workers.map((w) => w.waitFor(workerReady)));
  const workerOf = new Map(workers.map((w, i) => [w.pid, i]));
  const result: FleetResult = { databases: fleetSize, dbBytes, jobs: [], makespanMs: [], opSumMs: [], workerCpuMs: [], failed: 0 };

  for (let round = 0; round < reps; round++) {
    const at = new Date(Math.ceil((Date.now() + FLEET_LEAD_MS) / 1000) * 1000);
    const pattern = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
    const config = await loadConfig({ cwd: dir, env, flags: { schedule: { ...FLEET_SCHEDULE_OFF, backup: pattern, timeZone: 'UTC' } } });
    const upserted = await timed(() => upsertSchedules(config, queues));
    const late = upserted.value.filter((r) => r.next !== at.toISOString());
    if (late.length > 0 || Date.now() > at.getTime() - 500) throw new Error(`fleet: upserting ${fleetSize} schedulers took ${fmtSeconds(upserted.ms)}, past the round's instant: raise FLEET_LEAD_MS`);
    log(`fleet round ${round + 1}: ${fleetSize} backups scheduled at ${at.toISOString()} (${pattern}), schedulers upserted in ${fmtSeconds(upserted.ms)}`);
    const ids = names.map((name) => `repeat:backup:${name}:${at.getTime()}`);
    const deadline = at.getTime() + 60 * 60_000;
    let pending = new Set(ids);
    while (pending.size > 0) {
      if (Date.now() > deadline) throw new Error(`fleet round ${round + 1}: ${pending.size} jobs not finished within an hour`);
      await sleep(1000);
      const states = await Promise.all([...pending].map(async (id) => [id, await queues.backup.getJobState(id)] as const));
      pending = new Set(states.filter(([, state]) => state !== 'completed' && state !== 'failed').map(([id]) => id));
    }
    const lines = workers.flatMap((w) => w.lines()).filter((l) => l.kind === 'backup' && typeof l.jobId === 'string');
    const jobs = await Promise.all(ids.map((id) => queues.backup.getJob(id)));
    const rows: Array<{ id: string; database: string; worker: number; processedOn: number; finishedOn: number; started: number; completed: number }> = [];
    for (const [index, job] of jobs.entries()) {
      const id = ids[index]!;
      if (!job?.processedOn || !job.finishedOn || job.failedReason) {
        result.failed += 1;
        log(`fleet round ${round + 1}: ${id} failed: ${job?.failedReason ?? 'not found'}`);
        continue;
      }
      const started = lines.find((l) => l.jobId === id && l.msg === 'job started');
      const completed = lines.find((l) => l.jobId === id && l.msg === 'job completed');
      if (!started?.time || !completed?.time || started.pid === undefined) throw new Error(`fleet: no start/completion log line for ${id}`);
      rows.push({ id, database: names[index]!, worker: workerOf.get(started.pid) ?? -1, processedOn: job.processedOn, finishedOn: job.finishedOn, started: started.time, completed: completed.time });
    }
    let opSum = 0;
    for (const worker of [0, 1]) {
      let free = at.getTime();
      for (const [seq, row] of rows.filter((r) => r.worker === worker).sort((a, b) => a.processedOn - b.processedOn).entries()) {
        const pickupMs = row.processedOn - Math.max(at.getTime(), free);
        const startMs = row.started - row.processedOn;
        const finishMs = row.finishedOn - row.completed;
        const opMs = row.completed - row.started;
        opSum += opMs;
        result.jobs.push({ round, database: row.database, worker, seq, pickupMs, startMs, finishMs, overheadMs: pickupMs + startMs + finishMs, opMs, waitedMs: row.processedOn - at.getTime() });
        free = row.finishedOn;
      }
    }
    const makespan = Math.max(...rows.map((r) => r.finishedOn)) - at.getTime();
    result.makespanMs.push(makespan);
    result.opSumMs.push(opSum);
    const these = result.jobs.filter((j) => j.round === round);
    log(
      `fleet round ${round + 1}: ${rows.length} backups in ${fmtSeconds(makespan)} (worker 1: ${these.filter((j) => j.worker === 0).length}, worker 2: ${these.filter((j) => j.worker === 1).length}); ` +
        `overhead per job median ${median(these.map((j) => j.overheadMs)).toFixed(0)} ms, p95 ${percentile(these.map((j) => j.overheadMs), 95).toFixed(0)} ms; op median ${median(these.map((j) => j.opMs)).toFixed(0)} ms`,
    );
  }
  for (const worker of workers) {
    const { exitCode, cpuMs } = await worker.stop();
    if (exitCode !== 143) throw new Error(`${worker.label} exited ${exitCode} on SIGTERM, expected 143`);
    result.workerCpuMs.push(cpuMs);
  }
  await sandbox.stop();
  return result;
}

/** Nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

// ---------------------------------------------------------------------------------------------
// Report

interface Results {
  idle?: Record<Form, IdleRun[]>;
  queue?: QueueResult;
  fleet?: FleetResult;
  loadAvgStart: number[];
  loadAvgEnd: number[];
}

function buildReport(results: Results): { table: string; details: string; missed: string[] } {
  const missed: string[] = [];
  const lines = ['| figure | measured | runs | target | result |', '| --- | ---: | --- | --- | --- |'];
  const row = (figure: string, measured: string, runsText: string, target = '', result = '') => lines.push(`| ${figure} | ${measured} | ${runsText} | ${target} | ${result} |`);
  const judge = (figure: string, measured: string, target: string, ok: boolean): string => {
    if (!ok) missed.push(`MISSED: ${figure} = ${measured} (target ${target})`);
    return ok ? 'MET' : '**MISSED**';
  };
  const details: string[] = [];
  const list = (values: readonly number[], format: (v: number) => string) => values.map(format).join(' / ');

  if (results.idle) {
    for (const form of FORMS) {
      const runsOf = results.idle[form];
      const steady = Math.max(...runsOf.map((r) => mb(r.steadyKiB)));
      const peak = Math.max(...runsOf.map((r) => mb(r.peakKiB)));
      const target = `< ${TARGETS.idleRssMB} MB`;
      // The engine alone (and with the config) is the floor under the target, not a contestant.
      const verdictOf = (figure: string, value: number): [string, string] =>
        form === 'engine' || form === 'engineConfig' ? ['', 'floor'] : [target, judge(`idle worker ${figure} (${form})`, `${value.toFixed(1)} MB`, target, value < TARGETS.idleRssMB)];
      row(`idle, ${FORM_TEXT[form]}: steady RSS after ${IDLE_SECONDS} s (max of runs)`, `${steady.toFixed(1)} MB`, list(runsOf.map((r) => mb(r.steadyKiB)), (x) => x.toFixed(1)), ...verdictOf('steady RSS', steady));
      row(`idle, ${FORM_TEXT[form]}: peak RSS, start-up included (max of runs)`, `${peak.toFixed(1)} MB`, list(runsOf.map((r) => mb(r.peakKiB)), (x) => x.toFixed(1)), ...verdictOf('peak RSS', peak));
      details.push(`- idle, ${FORM_TEXT[form]}: start to \`worker ready\` ${list(runsOf.map((r) => r.startupMs), fmtSeconds)}; RSS over the last ${IDLE_SECONDS / 2} s ${list(runsOf.map((r) => r.maxKiB - r.minKiB), (k) => `±${(mb(k) / 2).toFixed(1)}`)} MB`);
    }
  }
  if (results.queue) {
    const r = results.queue;
    const [c, q] = [median(r.c), median(r.q)];
    const ratio = q / c;
    const form = flags.form === 'package' ? 'built package' : 'source checkout';
    row(`C: \`pgdrill backup --no-prune\` (CLI, spawn → exit; ${form})`, fmtSeconds(c), list(r.c, fmtSeconds));
    row(`Q: \`pgdrill run backup --wait\` against a running worker (spawn → exit; ${form})`, fmtSeconds(q), list(r.q, fmtSeconds));
    const target = `≤ ${TARGETS.queueVsCli}×`;
    row('**Q / C** (ratio of medians)', fmtRatio(ratio), `paired ${list(r.q.map((x, i) => x / r.c[i]!), (x) => x.toFixed(2))}`, target, judge('queued backup Q/C', fmtRatio(ratio), target, ratio <= TARGETS.queueVsCli));
    if (r.workerAfter) {
      row(`worker after ${r.workerAfter.jobs} backups, ${IDLE_SECONDS} s idle again: RSS (peak)`, `${mb(r.workerAfter.steadyKiB).toFixed(1)} MB`, `peak ${mb(r.workerAfter.peakKiB).toFixed(1)} MB`, '', 'for information');
    }
    details.push(
      `- queue: fixture ${r.rows.toLocaleString('en')} respondents, pg_database_size ${fmtMB(r.dbBytes)}. Inside the backup (manifest durationMs) C ${fmtSeconds(median(r.cInner))}, Q ${fmtSeconds(median(r.qInner))}; ` +
        `Q enqueue → worker starts the job (BullMQ processedOn − timestamp) ${list(r.qWait, (x) => `${x.toFixed(0)} ms`)}, job on the worker (finishedOn − processedOn) ${fmtSeconds(median(r.qJob))}; ` +
        `the \`run\` process around it: spawn → enqueued (Node start, module graph, config, Redis) ${list(r.qStartup, fmtSeconds)}, job finished → exit ${list(r.qTeardown, fmtSeconds)}. ` +
        `C spends its own Node start and module graph on every run; Q's worker has them loaded. Peak RSS: C ${fmtMB(median(r.cRssKiB) * KIB)}, the \`run\` process ${fmtMB(median(r.qRunRssKiB) * KIB)}.`,
    );
  }
  if (results.fleet) {
    const f = results.fleet;
    const overhead = f.jobs.map((j) => j.overheadMs);
    const med = median(overhead);
    const p95 = percentile(overhead, 95);
    const target = `< ${TARGETS.overheadMs} ms`;
    const perRound = (fn: (values: number[]) => number) => list(Array.from({ length: f.makespanMs.length }, (_, round) => fn(f.jobs.filter((j) => j.round === round).map((j) => j.overheadMs))), (x) => `${x.toFixed(0)} ms`);
    row(`${f.databases} databases, 2 workers, 1 Redis: scheduling overhead per job, median`, `${med.toFixed(1)} ms`, `per round ${perRound(median)}`, target, judge('fleet overhead per job (median)', `${med.toFixed(1)} ms`, target, med < TARGETS.overheadMs));
    row(`${f.databases} databases, 2 workers, 1 Redis: scheduling overhead per job, p95`, `${p95.toFixed(1)} ms`, `per round ${perRound((v) => percentile(v, 95))}`, target, judge('fleet overhead per job (p95)', `${p95.toFixed(1)} ms`, target, p95 < TARGETS.overheadMs));
    const part = (pick: (j: FleetJob) => number) => `median ${median(f.jobs.map(pick)).toFixed(1)} ms, p95 ${percentile(f.jobs.map(pick), 95).toFixed(1)} ms`;
    const aggregate = f.makespanMs.map((m, i) => (2 * m - f.opSumMs[i]!) / f.databases);
    details.push(
      `- fleet: ${f.databases} databases of ${fmtMB(f.dbBytes)} (pg_database_size) in one cluster, ${f.makespanMs.length} round(s) of ${f.databases} scheduled backups, ${f.jobs.length} jobs measured${f.failed ? `, **${f.failed} failed**` : ''}. ` +
        `Overhead parts: pickup ${part((j) => j.pickupMs)}; start ${part((j) => j.startMs)}; finish ${part((j) => j.finishMs)}. ` +
        `The backup operation itself ${part((j) => j.opMs)}. Round makespans ${list(f.makespanMs, fmtSeconds)}; ` +
        `2 × makespan − Σ operation time, per job (idle slot time included, e.g. the last job's tail): ${list(aggregate, (x) => `${x.toFixed(0)} ms`)}. ` +
        `Worker CPU (user + system, whole run) ${list(f.workerCpuMs, fmtSeconds)}. ` +
        `Largest: ${[...f.jobs].sort((a, b) => b.overheadMs - a.overheadMs).slice(0, 5).map((j) => `${j.overheadMs} ms (round ${j.round + 1}, worker ${j.worker + 1}'s job ${j.seq + 1}: pickup ${j.pickupMs}, start ${j.startMs}, finish ${j.finishMs})`).join('; ')}.`,
    );
  }
  details.push(`- load average 1/5/15 min: start ${results.loadAvgStart.map((x) => x.toFixed(2)).join(' / ')}, end ${results.loadAvgEnd.map((x) => x.toFixed(2)).join(' / ')}`);
  return { table: lines.join('\n'), details: details.join('\n'), missed };
}

/** `git` commit of the measured code, `+changes` when src/, bin/ or package.json differ from it. */
async function appendDocs(report: { table: string; details: string; missed: string[] }, results: Results): Promise<void> {
  const redisVersion = (await execa('redis-server', ['--version'], { reject: false })).stdout.trim().replace(/^Redis server /, '');
  const args = [`--reps ${reps}`, ...(runs('fleet') ? [`--databases ${fleetSize}`] : []), ...(runs('queue') ? [`--size ${flags.size}`] : []), ...(parts.size < PARTS.length ? [`--parts ${[...parts].join(',')}`] : []), ...(flags.form === 'package' ? ['--form package'] : [])];
  await appendBenchSection({
    docs: DOCS,
    command: `pnpm bench:service ${args.join(' ')}`,
    software: `Redis ${redisVersion}; PostgreSQL ${MAJOR} (embedded)`,
    loadAvgStart: results.loadAvgStart,
    loadAvgEnd: results.loadAvgEnd,
    code: await codeVersion(CODE_PATHS),
    nodeArgs: CLI_NODE_ARGS,
    report,
  });
}

// ---------------------------------------------------------------------------------------------

const results: Results = { loadAvgStart: os.loadavg(), loadAvgEnd: [] };
log(`measuring ${await codeVersion(CODE_PATHS)}; parts ${[...parts].join(', ')}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' / ')}`);
let queues: Queues | undefined;
try {
  if (runs('idle') || flags.form === 'package') {
    log('building the package (pnpm build): the built form');
    await buildPackage();
  }
  await ensureRedis();
  if (runs('idle') || runs('queue')) {
    const rows = rowsForTargetBytes(sizeBytes);
    log(`source: embedded PostgreSQL ${MAJOR} with the fixture at ${rows} respondents (${flags.size})`);
    const { sandbox, dbBytes } = await fixtureSandbox('oslrs', rows);
    const url = sandbox.connectionUri('oslrs');
    log(`source: pg_database_size ${fmtMB(dbBytes)}`);
    if (runs('idle')) results.idle = await benchIdle(url);
    if (runs('queue')) {
      queues = openQueues(redisOptions(redisEndpoint!), 'queue');
      results.queue = await benchQueue(url, dbBytes, rows, queues);
      await closeQueues(queues);
      queues = undefined;
    }
    await sandbox.stop();
  }
  if (runs('fleet')) {
    queues = openQueues(redisOptions(redisEndpoint!), 'fleet');
    results.fleet = await benchFleet(queues);
    await closeQueues(queues);
    queues = undefined;
  }
} catch (error) {
  // execa errors carry the captured output in .message: keep the short form.
  const text = error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.stack ?? error.message) : String(error);
  log(`failed: ${text.slice(0, 4000)}`);
  if (queues) await closeQueues(queues).catch(() => undefined);
  for (const failure of await runCleanups()) log(`could not clean up ${failure}`);
  process.exit(1);
}
for (const failure of await runCleanups()) log(`could not clean up ${failure}`);
results.loadAvgEnd = os.loadavg();
const report = buildReport(results);
process.stdout.write(`\n${report.table}\n\n${report.details}\n\n`);
process.stdout.write(report.missed.length > 0 ? `${report.missed.join('\n')}\n` : 'All targets met.\n');
if (!flags['no-docs']) {
  await appendDocs(report, results);
  log(`appended to ${path.relative(ROOT, DOCS)}`);
}
