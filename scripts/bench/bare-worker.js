// The job engine alone, for `pnpm bench:service`'s idle part: what an idle `pgdrill worker` costs
// before any of pgdrill is loaded. Node + BullMQ + ioredis + pino, the same four queues with a
// worker each (concurrency 1, jobs do nothing) and one job scheduler, on REDIS_URL under the
// queue prefix `bare`. Logs `worker ready` as a JSON line like the real worker; SIGTERM closes
// everything and exits 143 (as `pgdrill worker` does). Plain JavaScript, as an installed pgdrill runs
// (a .ts file would load Node's type stripper too).
// With `--config`: also what any worker that checks its configuration pays before its first job:
// commander, and pgdrill's built config module (zod schema) validating the project's config file
// in the working directory (needs `pnpm build`). The second floor under the idle figure.
import { Queue, Worker } from 'bullmq';
import { pino } from 'pino';

if (process.argv.includes('--config')) {
  await import('commander');
  const { loadConfig } = await import('../../dist/src/config/index.js');
  await loadConfig({ cwd: process.cwd() });
}

const url = new URL(process.env.REDIS_URL ?? '');
const connection = { host: url.hostname, port: Number(url.port), password: decodeURIComponent(url.password), maxRetriesPerRequest: null };
const prefix = 'bare';
const kinds = ['backup', 'drill', 'verify', 'prune'];
const log = pino();
const queues = kinds.map((kind) => new Queue(kind, { connection, prefix }));
await queues[0].upsertJobScheduler('backup:bare', { pattern: '0 1 * * *', tz: 'UTC' }, { name: 'backup', data: { database: 'bare' } });
const workers = kinds.map((kind) => new Worker(kind, async () => ({}), { connection, prefix, concurrency: 1 }));
await Promise.all(workers.map((worker) => worker.waitUntilReady()));
log.info('worker ready');
process.once('SIGTERM', () => {
  void (async () => {
    await Promise.all(workers.map((worker) => worker.close()));
    await Promise.all(queues.map((queue) => queue.close()));
    process.exit(143);
  })();
});
