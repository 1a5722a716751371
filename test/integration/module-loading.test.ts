// Which heavy libraries each command loads. A command pays for what it imports at every start
// (time and memory), and a scheduler starts them daily: folder-store commands must not load the
// AWS SDK, and none of backup/list/prune/restore/verify may load vitest, Chromium's driver,
// handlebars or the admin API's Fastify (only `pgdrill serve` does); execa (111 modules) loads at
// the first subprocess, so the job client `pgdrill run` and an idle worker go without it. Measured
// by running the real CLI with a resolve hook that records every module.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSourceDatabase, type SourceDatabase } from '../helpers/postgres.ts';
import { newKeyring, REPO_ROOT, runCli, tempDir } from '../helpers/pgdrill.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startS3Server, type StartedS3Server } from '../helpers/s3.ts';

const HOOK = path.join(REPO_ROOT, 'test/helpers/record-modules.ts');
const HEAVY = {
  'AWS SDK': '/node_modules/@aws-sdk/',
  vitest: '/node_modules/vitest/',
  'puppeteer-core': '/node_modules/puppeteer-core/',
  handlebars: '/node_modules/handlebars/',
  fastify: '/node_modules/fastify/',
  execa: '/node_modules/execa/',
} as const;
type Heavy = keyof typeof HEAVY;

let source: SourceDatabase;
let s3: StartedS3Server;
let redis: TestRedis;
let env: Record<string, string>;

beforeAll(async () => {
  [source, s3, redis] = await Promise.all([startSourceDatabase({ rows: 200 }), startS3Server(), startRedis()]);
  env = { DATABASE_URL: source.url, PGDRILL_STORAGE: tempDir('modules-store'), PGDRILL_ENCRYPTION_KEYS: newKeyring('k1') };
  const admin = new pg.Client({ connectionString: source.sandbox.connectionUri('postgres') });
  await admin.connect();
  await admin.query('CREATE DATABASE restored').finally(() => admin.end());
});
afterAll(async () => {
  await Promise.all([source?.stop(), s3?.stop(), redis?.stop()]);
});

/** Runs a command under the hook; returns the URLs of every module it loaded. */
async function modulesLoadedBy(args: string[], extraEnv: Record<string, string> = {}): Promise<string[]> {
  const log = path.join(tempDir('modules-log'), 'modules.txt');
  const result = await runCli(args, { ...env, ...extraEnv, PGDRILL_MODULE_LOG: log }, { nodeArgs: ['--import', HOOK] });
  expect(result.exitCode, `pgdrill ${args.join(' ')}: ${result.stderr}`).toBe(0);
  const urls = (await readFile(log, 'utf8')).split('\n');
  // Sanity: the hook saw the command's own code.
  expect(urls.some((url) => url.includes('/src/cli/main.ts'))).toBe(true);
  return urls;
}

/** The heavy libraries a command loaded (execa left out unless asked). */
async function heavyLoadedBy(args: string[], extraEnv: Record<string, string> = {}, { withExeca = false } = {}): Promise<Heavy[]> {
  const urls = await modulesLoadedBy(args, extraEnv);
  return (Object.keys(HEAVY) as Heavy[]).filter((name) => (withExeca || name !== 'execa') && urls.some((url) => url.includes(HEAVY[name])));
}

describe('heavy modules per command (folder store)', () => {
  it('backup, list and prune load none of the AWS SDK, vitest, puppeteer-core, handlebars, fastify', async () => {
    expect(await heavyLoadedBy(['backup'])).toEqual([]);
    expect(await heavyLoadedBy(['list'])).toEqual([]);
    expect(await heavyLoadedBy(['prune'])).toEqual([]);
  });

  it('restore (with its record-count comparison) and verify load no vitest, puppeteer-core, handlebars or fastify', async () => {
    const target = new URL(source.url);
    const password = decodeURIComponent(target.password);
    target.password = '';
    target.pathname = '/restored';
    expect(await heavyLoadedBy(['restore', '--latest', '--target-db', target.toString()], { PGPASSWORD: password })).toEqual([]);
    expect(await heavyLoadedBy(['verify'])).toEqual([]);
  });

  it('the recorder does see a heavy library when a command needs it: list on S3 loads the AWS SDK', async () => {
    const s3Env = { PGDRILL_STORAGE: `s3://${s3.bucket}`, S3_ENDPOINT: s3.endpoint, S3_REGION: s3.region, S3_ACCESS_KEY: 'S3RVER', S3_SECRET_KEY: 'S3RVER' };
    expect(await heavyLoadedBy(['list'], s3Env)).toEqual(['AWS SDK']);
  });
});

describe('execa loads at the first subprocess', () => {
  it('`pgdrill run backup` (enqueue only) and `backup --help` load no execa; a backup, which runs pg_dump, does', async () => {
    const queued = await heavyLoadedBy(['run', 'backup'], { REDIS_URL: redis.url }, { withExeca: true });
    expect(queued).toEqual([]);
    expect(await heavyLoadedBy(['backup', '--help'], {}, { withExeca: true })).toEqual([]);
    expect(await heavyLoadedBy(['backup'], {}, { withExeca: true })).toEqual(['execa']);
  });
});

describe("pgdrill's own modules load with the work that needs them", () => {
  // The operations' front imports every operation; each loads its modules when it runs, so a
  // backup of the database alone pays neither the restore, point-in-time and drill-record modules
  // nor the file-set and Redis capture.
  it('a backup without file sets or Redis loads no restore, pitr, evidence, redistools or file-set capture module', async () => {
    const own = (await modulesLoadedBy(['backup'])).filter((url) => url.includes('/src/')).map((url) => url.slice(url.indexOf('/src/') + 1));
    expect(own).toContain('src/dump/backup.ts');
    const unneeded = own.filter((file) => /^src\/(restore|pitr|evidence|redistools)\/|^src\/dump\/(file-sets|redis)\.ts$/.test(file));
    expect(unneeded).toEqual([]);
  });
});

describe('node:http loads only to serve', () => {
  // ~30 ms and ~1.7 MB of heap at every start of the job client, and in an idle worker without metrics.
  it('`pgdrill run backup` (enqueue only) loads no node:http', async () => {
    expect(await modulesLoadedBy(['run', 'backup'], { REDIS_URL: redis.url })).not.toContain('node:http');
  });
});
