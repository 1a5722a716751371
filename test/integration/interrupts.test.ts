import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveProcesses, startSilentServer, waitFor } from '../helpers/faults.ts';
import { filesUnder, newKeyring, runCli, startCli, tempDir } from '../helpers/pgdrill.ts';
import { startSourceDatabase, type SourceDatabase } from '../helpers/postgres.ts';
import { startS3Server } from '../helpers/s3.ts';

// Issue 11 item 2: every wait of `pgdrill backup` and `pgdrill restore` ends. A source or an S3
// endpoint that accepts TCP and never answers, or a table lock held by another session, ends either
// in a timeout that names what it waited for, or at once on SIGTERM: exit 143, the server session
// ended (its advisory lock and snapshot released), no pg_dump / pg_restore left running.

/** How soon after SIGTERM the CLI must have exited (the lifecycle's fallback exit comes after 15 s). */
const PROMPTLY_MS = 5_000;
/** How long after a timeout fires the CLI may take to report it and exit on this shared machine. */
const EXIT_SLACK_MS = 5_000;

let source: SourceDatabase;
let admin: pg.Client;
let keys: string;
/** A folder holding one backup of `source`. */
let store: string;

beforeAll(async () => {
  source = await startSourceDatabase();
  admin = new pg.Client({ connectionString: source.url });
  await admin.connect();
  keys = newKeyring('k1');
  store = tempDir('store');
  const first = await runCli(['backup', '--no-prune'], env(store));
  expect(first.exitCode, String(first.stderr)).toBe(0);
});
afterAll(async () => {
  await admin?.end();
  await source?.stop();
});

function env(storage: string, extra: Record<string, string> = {}): Record<string, string> {
  return { DATABASE_URL: source.url, PGDRILL_STORAGE: storage, PGDRILL_ENCRYPTION_KEYS: keys, ...extra };
}

/** A config file for settings that have no environment variable; returns its path for PGDRILL_CONFIG. */
async function configFile(config: object): Promise<string> {
  const file = path.join(tempDir('cfg'), 'pgdrill.config.json');
  await writeFile(file, JSON.stringify(config));
  return file;
}

interface Session {
  pid: number;
  application_name: string;
  state: string;
  wait_event_type: string | null;
}

/** Server sessions of pgdrill's own client and of pg_dump on the source. */
async function backupSessions(): Promise<Session[]> {
  const { rows } = await admin.query<Session>(
    `SELECT pid, application_name, state, wait_event_type FROM pg_stat_activity
      WHERE datname = current_database() AND application_name IN ('pgdrill', 'pg_dump') AND pid <> pg_backend_pid()`,
  );
  return rows;
}

const advisoryLocks = async () => Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'`)).rows[0]!.n);

/** The source's server has no session of the backup left and no advisory lock held. */
const backupEnded = async () => (await backupSessions()).length === 0 && (await advisoryLocks()) === 0;

/** pg_dump processes started for this test file's source (its port is in their environment). */
const pgDumpsOfSource = () => liveProcesses('pg_dump', { env: { PGPORT: String(source.sandbox.connection.port) } });

/** Sends `signal` to a running CLI and returns its result and how long it took to exit. */
async function interrupt(child: ReturnType<typeof startCli>, signal: 'SIGTERM' | 'SIGINT' = 'SIGTERM') {
  const sent = Date.now();
  child.kill(signal);
  const result = await child;
  return { result, exitMs: Date.now() - sent };
}

describe('a source that accepts TCP and never answers', () => {
  /**
   * Runs the CLI against its own silent server; returns the result and how long the CLI waited from
   * the moment its connection was accepted until it had exited (its own startup does not count).
   */
  async function againstSilentServer(args: (port: number) => string[], environment: (port: number) => Record<string, string>) {
    const silent = await startSilentServer();
    try {
      const result = await runCli(args(silent.port), environment(silent.port), { timeoutMs: 90_000 });
      const waitedMs = silent.acceptedAt.length > 0 ? Date.now() - silent.acceptedAt[0]! : undefined;
      return { result, waitedMs, port: silent.port };
    } finally {
      await silent.close();
    }
  }

  const cases: Array<{ from: string; query: string; env: Record<string, string>; config: object; seconds: number }> = [
    { from: 'connect_timeout in DATABASE_URL', query: '?connect_timeout=3', env: { PGCONNECT_TIMEOUT: '60' }, config: { backup: { connectTimeoutSeconds: 60 } }, seconds: 3 },
    { from: 'PGCONNECT_TIMEOUT', query: '', env: { PGCONNECT_TIMEOUT: '2' }, config: { backup: { connectTimeoutSeconds: 60 } }, seconds: 2 },
    { from: 'backup.connectTimeoutSeconds', query: '', env: {}, config: { backup: { connectTimeoutSeconds: 2 } }, seconds: 2 },
  ];
  it.concurrent.each(cases)('backup gives up after the timeout from $from: exit 1 naming the server, the timeout and what to do', async (c) => {
    const config = await configFile(c.config);
    const { result, waitedMs, port } = await againstSilentServer(
      () => ['backup'],
      (silentPort) => ({ ...env(tempDir('store'), c.env), DATABASE_URL: `postgres://backup@127.0.0.1:${silentPort}/oslrs${c.query}`, PGDRILL_CONFIG: config }),
    );
    expect(result.exitCode, String(result.stderr)).toBe(1);
    expect(waitedMs).toBeGreaterThanOrEqual(c.seconds * 1000 - 100);
    expect(waitedMs).toBeLessThan(c.seconds * 1000 + EXIT_SLACK_MS);
    expect(String(result.stderr)).toContain(`Cannot connect to the source database 127.0.0.1:${port}/oslrs: no answer within ${c.seconds} s (${c.from})`);
    expect(String(result.stderr)).toMatch(/accepts connections but never answers/);
  });

  it('restore: a target that never answers fails after its connect_timeout, before anything is downloaded (exit 1)', async () => {
    const { result, waitedMs, port } = await againstSilentServer(
      (silentPort) => ['restore', '--latest', '--target-db', `postgres://restorer@127.0.0.1:${silentPort}/scratch?connect_timeout=2`],
      () => env(store),
    );
    expect(result.exitCode, String(result.stderr)).toBe(1);
    expect(waitedMs).toBeGreaterThanOrEqual(2000 - 100);
    expect(waitedMs).toBeLessThan(2000 + EXIT_SLACK_MS);
    expect(String(result.stderr)).toContain(`Cannot connect to the target database 127.0.0.1:${port}/scratch as restorer: no answer within 2 s (connect_timeout in --target-db)`);
    expect(String(result.stdout)).not.toContain('downloading');
  });
});

describe('SIGTERM ends a backup that waits on storage', () => {
  it('the S3 endpoint accepts and never answers: exit 143 within seconds, session and advisory lock released, the next backup runs', async () => {
    const s3 = await startSilentServer();
    try {
      const child = startCli(['backup'], env('s3://never-answers/x', { S3_ENDPOINT: `http://127.0.0.1:${s3.port}`, S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b' }));
      // The backup holds its advisory lock and its snapshot and waits for the endpoint.
      await waitFor('the backup to wait on S3 holding its lock', async () => s3.connections > 0 && (await advisoryLocks()) === 1);
      expect(await backupSessions()).toEqual([expect.objectContaining({ application_name: 'pgdrill', state: 'idle in transaction' })]);
      const { result, exitMs } = await interrupt(child);
      expect(result.exitCode, String(result.stderr)).toBe(143);
      expect(exitMs).toBeLessThan(PROMPTLY_MS);
      await waitFor('the backup session to end', backupEnded, 3000);
      expect(await pgDumpsOfSource()).toEqual([]);
      const next = await runCli(['backup', '--no-prune'], env(tempDir('store')));
      expect(next.exitCode, String(next.stderr)).toBe(0);
    } finally {
      await s3.close();
    }
  });

  it('the prune after a published backup stops too: exit 143 within seconds, the backup stays', async () => {
    const s3 = await startS3Server();
    try {
      // FAULT INJECTION: the endpoint stops answering at retention's first listing of manifests.
      const isManifestListing = (r: { method: string; key: string; query: URLSearchParams }) =>
        r.method === 'GET' && r.key === '' && (r.query.get('prefix') ?? '').includes('manifests/');
      s3.intercept(isManifestListing, { hang: true });
      const child = startCli(
        ['backup'],
        env(`s3://${s3.bucket}`, { S3_ENDPOINT: s3.endpoint, S3_REGION: s3.region, S3_ACCESS_KEY: s3.credentials.accessKeyId, S3_SECRET_KEY: s3.credentials.secretAccessKey }),
      );
      await waitFor('retention to list the manifests', () => s3.requests.some(isManifestListing));
      const { result, exitMs } = await interrupt(child);
      expect(result.exitCode, String(result.stderr)).toBe(143);
      expect(exitMs).toBeLessThan(PROMPTLY_MS);
      expect(String(result.stdout)).toMatch(/^backup backups\/daily\/\S+\.dump\.zst\.enc /);
      const published = s3.requests.filter((r) => r.method === 'PUT' && r.key.startsWith('backups/manifests/daily/'));
      expect(published).toHaveLength(1);
      expect(await filesUnder(path.join(s3.directory, s3.bucket))).toContain(`${published[0]!.key}._S3rver_object`);
    } finally {
      await s3.stop();
    }
  });
});

describe('a table lock held by another session', () => {
  let holder: pg.Client;
  let holderPid: number;
  beforeAll(async () => {
    holder = new pg.Client({ connectionString: source.url });
    await holder.connect();
    holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  });
  afterAll(() => holder?.end());
  const lockTable = async () => {
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE public.lgas IN ACCESS EXCLUSIVE MODE');
  };

  it.each([
    ['a full backup (the snapshot counts rows)', []],
    ['a --schema-only backup (the snapshot reads only definitions)', ['--schema-only']],
  ])('%s gives up after backup.lockWaitTimeoutSeconds: exit 1 naming the table, the holder and what to do; nothing stored', async (_, flags) => {
    await lockTable();
    const dir = tempDir('store');
    try {
      const config = await configFile({ backup: { lockWaitTimeoutSeconds: 2 } });
      const started = Date.now();
      const result = await runCli(['backup', ...flags], { ...env(dir), PGDRILL_CONFIG: config }, { timeoutMs: 120_000 });
      expect(result.exitCode, String(result.stderr)).toBe(1);
      // Startup, the snapshot and the lock holder's lookup included; the default (300 s) would be far beyond.
      expect(Date.now() - started).toBeLessThan(30_000);
      const stderr = String(result.stderr);
      expect(stderr).toContain(`gave up waiting 2 s (backup.lockWaitTimeoutSeconds) for a lock on public.lgas: held in AccessExclusiveLock mode by pid ${holderPid}`);
      expect(stderr).toMatch(/pg_terminate_backend|raise backup\.lockWaitTimeoutSeconds/);
      expect(await filesUnder(dir)).toEqual([]);
      await waitFor('the backup session to end', backupEnded, 3000);
    } finally {
      await holder.query('COMMIT');
    }
    const next = await runCli(['backup', '--no-prune'], env(dir));
    expect(next.exitCode, String(next.stderr)).toBe(0);
  });

  it('SIGTERM while the snapshot waits on the lock: exit 143 within seconds, sessions and advisory lock gone while the lock is still held', async () => {
    await lockTable();
    try {
      const child = startCli(['backup'], env(tempDir('store')));
      await waitFor('the backup to wait on the lock', async () => (await backupSessions()).some((s) => s.wait_event_type === 'Lock'));
      const { result, exitMs } = await interrupt(child);
      expect(result.exitCode, String(result.stderr)).toBe(143);
      expect(exitMs).toBeLessThan(PROMPTLY_MS);
      await waitFor('the backup sessions to end', backupEnded, 3000);
      expect(await pgDumpsOfSource()).toEqual([]);
    } finally {
      await holder.query('COMMIT');
    }
  });
});

describe('SIGTERM ends a restore', () => {
  it('during pg_restore: exit 143 within seconds, no pg_restore left running', async () => {
    const big = await startSourceDatabase({ rows: 150_000, database: 'big' });
    const bigAdmin = new pg.Client({ connectionString: big.url });
    try {
      await bigAdmin.connect();
      const dir = tempDir('store');
      const backup = await runCli(['backup', '--no-prune'], { ...env(dir), DATABASE_URL: big.url });
      expect(backup.exitCode, String(backup.stderr)).toBe(0);
      await bigAdmin.query('CREATE DATABASE t_sigterm');
      const target = new URL(big.sandbox.connectionUri('t_sigterm'));
      const password = decodeURIComponent(target.password);
      target.password = '';
      const child = startCli(['restore', '--latest', '--target-db', target.toString()], { ...env(dir), DATABASE_URL: big.url, PGPASSWORD: password });
      const restoring = async () =>
        Number((await bigAdmin.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = 't_sigterm' AND application_name = 'pg_restore'`)).rows[0]!.n);
      await waitFor('pg_restore to run', async () => (await restoring()) > 0, 120_000);
      const { result, exitMs } = await interrupt(child);
      expect(result.exitCode, String(result.stderr)).toBe(143);
      expect(exitMs).toBeLessThan(PROMPTLY_MS);
      expect(String(result.stderr)).toContain('SIGTERM');
      expect(await liveProcesses('pg_restore', { argv: ['--dbname=t_sigterm'] })).toEqual([]);
      await waitFor('the pg_restore sessions to end', async () => (await restoring()) === 0, 3000);
      expect(String(result.stdout)).not.toContain('restore OK');
    } finally {
      await bigAdmin.end().catch(() => {});
      await big.stop();
    }
  });
});
