import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { RestoreError } from '../../src/errors/index.ts';
import {
  findPostgresBinaries,
  liveSandboxCount,
  resolveSandboxKind,
  startDockerSandbox,
  startEmbeddedSandbox,
  stopAllSandboxes,
} from '../../src/sandbox/index.ts';
import type { DockerSandbox, EmbeddedSandbox, Sandbox } from '../../src/sandbox/index.ts';

const MAJOR = 15;
let workDir: string;
let archivePath: string;

async function query<T extends pg.QueryResultRow>(uri: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: uri });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Resolves with the connection error code (e.g. ECONNREFUSED, 28P01), or 'connected'. */
async function connectError(config: pg.ClientConfig): Promise<string> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.end();
    return 'connected';
  } catch (error) {
    return String((error as { code?: string }).code ?? (error as Error).message);
  }
}

function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Dead, or a zombie waiting for a PID 1 that does not reap. */
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

beforeAll(async () => {
  // A small custom-format archive, dumped with the host pg_dump from another embedded sandbox.
  workDir = await mkdtemp(path.join(os.tmpdir(), 'pgdrill-sandbox-test-'));
  archivePath = path.join(workDir, 'source.dump');
  const source = await startEmbeddedSandbox({ major: MAJOR, database: 'source' });
  try {
    const client = new pg.Client({ connectionString: source.connectionUri() });
    await client.connect();
    await client.query(`CREATE TABLE public.drill_items (id int PRIMARY KEY, label text NOT NULL);
      INSERT INTO public.drill_items SELECT i, 'item ' || i FROM generate_series(1, 250) i`);
    await client.end();
    const bins = await findPostgresBinaries(MAJOR);
    const { connection } = source;
    await execa(
      bins.bin('pg_dump'),
      ['--format=custom', `--host=${connection.host}`, `--port=${connection.port}`, `--username=${connection.user}`, `--dbname=${connection.database}`, `--file=${archivePath}`],
      { env: { PGPASSWORD: connection.password } },
    );
  } finally {
    await source.stop();
  }
});

afterAll(async () => {
  await stopAllSandboxes();
  await rm(workDir, { recursive: true, force: true });
});

/** The checks both kinds of sandbox must pass. */
function sandboxContract(start: () => Promise<Sandbox>): () => Sandbox {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await start();
  });

  test('answers queries and reports its server version', async () => {
    const rows = await query<{ one: number; version: string; db: string }>(
      sandbox.connectionUri(),
      'SELECT 1 AS one, current_setting(\'server_version\') AS version, current_database() AS db',
    );
    expect(rows[0]).toEqual({ one: 1, version: sandbox.serverVersion, db: 'restore' });
    expect(sandbox.serverVersion).toMatch(new RegExp(`^${MAJOR}\\.`));
    expect(sandbox.connection.user).toBe('pgdrill');
    expect(sandbox.connection.password).toHaveLength(32);
  });

  test('authenticates with scram-sha-256: a wrong password is rejected', async () => {
    const { host, port, user, database, password } = sandbox.connection;
    expect(await connectError({ host, port, user, database, password: `${password}x` })).toBe('28P01');
    const rules = await query<{ type: string; method: string }>(
      sandbox.connectionUri(),
      `SELECT type, auth_method AS method FROM pg_hba_file_rules WHERE error IS NULL AND type LIKE 'host%'`,
    );
    expect(rules.length).toBeGreaterThan(0);
    expect(new Set(rules.map((r) => r.method))).toEqual(new Set(['scram-sha-256']));
    const verifier = await query<{ scram: boolean }>(sandbox.connectionUri(), `SELECT rolpassword LIKE 'SCRAM-SHA-256$%' AS scram FROM pg_authid WHERE rolname = current_user`);
    expect(verifier[0]?.scram).toBe(true);
  });

  test('restores a custom-format archive with its own pg_restore', async () => {
    await sandbox.pgRestore(archivePath, ['--no-owner', '--exit-on-error']);
    const rows = await query<{ n: string; last: string }>(sandbox.connectionUri(), 'SELECT count(*) AS n, max(label) AS last FROM public.drill_items');
    expect(rows[0]).toEqual({ n: '250', last: 'item 99' });
  });

  test('a failed pg_restore raises RestoreError with pg_restore\'s stderr', async () => {
    // Restoring the same archive again fails: the table exists.
    const error = await sandbox.pgRestore(archivePath, ['--exit-on-error']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RestoreError);
    expect((error as Error).message).toMatch(/already exists/);
    expect((error as Error).message).not.toContain(sandbox.connection.password);
  });

  test('runs SQL files with psql, stopping at the first error', async () => {
    const ok = path.join(workDir, `ok-${sandbox.kind}.sql`);
    await writeFile(ok, `CREATE TABLE psql_check (v text);\nINSERT INTO psql_check VALUES ('Ọ̀rọ̀');\n`);
    await sandbox.psqlFile(ok);
    expect(await query(sandbox.connectionUri(), 'SELECT v FROM psql_check')).toEqual([{ v: 'Ọ̀rọ̀' }]);

    const bad = path.join(workDir, `bad-${sandbox.kind}.sql`);
    await writeFile(bad, `SELECT no_such_function();\nCREATE TABLE never_created (v int);\n`);
    await expect(sandbox.psqlFile(bad, 'postgres')).rejects.toThrow(/no_such_function/);
    expect(await query(sandbox.connectionUri('postgres'), `SELECT to_regclass('never_created') AS t`)).toEqual([{ t: null }]);
  });

  return () => sandbox;
}

describe('binary discovery', () => {
  test('prefers the wanted major, else the newest newer one; never an older one', async () => {
    const root = path.join(workDir, 'fake-pg');
    for (const [major, version] of [[13, '13.16'], [16, '16.4'], [17, '17.2']] as const) {
      await mkdir(path.join(root, String(major), 'bin'), { recursive: true });
      const initdb = path.join(root, String(major), 'bin', 'initdb');
      await writeFile(initdb, `#!/bin/sh\necho "initdb (PostgreSQL) ${version} (Debian ${version}-1)"\n`);
      await chmod(initdb, 0o755);
    }
    expect(await findPostgresBinaries(13, undefined, root)).toMatchObject({ major: 13, version: '13.16', binDir: path.join(root, '13', 'bin') });
    expect(await findPostgresBinaries(15, undefined, root)).toMatchObject({ major: 17, version: '17.2' });
    expect(await findPostgresBinaries(12, path.join(root, '16', 'bin'))).toMatchObject({ major: 16, version: '16.4' });
    expect((await findPostgresBinaries(16, undefined, root)).bin('pg_restore')).toBe(path.join(root, '16', 'bin', 'pg_restore'));
    await expect(findPostgresBinaries(18, undefined, root)).rejects.toThrow(/only older PostgreSQL found: 17 .*install postgresql-18/is);
  });
});

describe('embedded sandbox', () => {
  const sandbox = sandboxContract(() => startEmbeddedSandbox({ major: MAJOR })) as () => EmbeddedSandbox;

  test('runs in its own temp dir, socket included, as a non-root server', async () => {
    const s = sandbox();
    expect(s.kind).toBe('embedded');
    expect(s.dataDir.startsWith(s.rootDir)).toBe(true);
    expect(existsSync(path.join(s.rootDir, `.s.PGSQL.${s.connection.port}`))).toBe(true);
    expect(s.description).toContain(`/${s.major}/bin`);
    // local (unix socket) connections need the password too
    const { user, password, database } = s.connection;
    expect(await connectError({ host: s.rootDir, port: s.connection.port, user, database, password: 'wrong' })).toBe('28P01');
    expect(await connectError({ host: s.rootDir, port: s.connection.port, user, database, password })).toBe('connected');
  });

  test('stop() shuts the server down and removes the directory; twice is fine', async () => {
    const s = sandbox();
    const before = liveSandboxCount();
    await s.stop();
    await s.stop();
    expect(liveSandboxCount()).toBe(before - 1);
    expect(existsSync(s.rootDir)).toBe(false);
    expect(await portClosed(s.connection.port)).toBe(true);
    expect(processGone(s.pid)).toBe(true);
  });

  test('keepLogs keeps the server log after stop()', async () => {
    const s = await startEmbeddedSandbox({ major: MAJOR, keepLogs: true });
    await s.stop();
    expect(existsSync(s.rootDir)).toBe(false);
    try {
      expect(readFileSync(s.logFile, 'utf8')).toMatch(/database system is ready to accept connections/);
      expect(readFileSync(s.logFile, 'utf8')).not.toContain(s.connection.password);
    } finally {
      await rm(s.logFile, { force: true });
    }
  });

  test('its server and its client tools never see pgdrill\'s secrets or stray PG* variables', async () => {
    const planted = {
      DATABASE_URL: 'postgres://app:planted-source-pass@db.example/oslrs',
      S3_SECRET_KEY: 'planted-s3-secret',
      PGDRILL_ENCRYPTION_KEYS: 'k1:cGxhbnRlZC1rZXk=',
      PGSERVICE: 'planted-pg-service',
    };
    const saved = { ...process.env };
    Object.assign(process.env, planted);
    let s: EmbeddedSandbox | undefined;
    try {
      s = await startEmbeddedSandbox({ major: MAJOR });
      // The postmaster runs as the postgres OS user, who can read this file.
      const postmaster = readFileSync(`/proc/${s.pid}/environ`, 'utf8').split('\0');
      // psql's \! runs a shell with psql's own environment.
      const dumped = path.join(workDir, 'psql-environ.txt');
      const script = path.join(workDir, 'environ.sql');
      await writeFile(script, `\\! env > '${dumped}'\n`);
      await s.psqlFile(script);
      const psql = readFileSync(dumped, 'utf8').split('\n');
      expect(postmaster.some((e) => e.startsWith('PATH='))).toBe(true);
      expect(psql.some((e) => e.startsWith('PGPASSWORD='))).toBe(true);
      for (const [who, environ] of [['postmaster', postmaster], ['psql', psql]] as const) {
        for (const [name, value] of Object.entries(planted)) {
          expect(environ.filter((e) => e.startsWith(`${name}=`)), `${who} ${name}`).toEqual([]);
          expect(environ.join('\n'), `${who} ${name}`).not.toContain(value);
        }
      }
    } finally {
      process.env = saved;
      await s?.stop();
    }
  });

  test('refuses a major with no binaries, telling what to install', async () => {
    await expect(startEmbeddedSandbox({ major: 99 })).rejects.toThrow(/postgresql-99 .*sandbox\.binDir/);
    await expect(startEmbeddedSandbox({ major: MAJOR, binDir: '/nonexistent/bin' })).rejects.toThrow(/no executable initdb/);
  });

  test('an older wanted major runs on the newest installed newer one', async () => {
    const s = await startEmbeddedSandbox({ major: 12 });
    try {
      expect(s.serverVersion).toMatch(/^\d+\./);
      expect(Number(s.serverVersion.split('.')[0])).toBeGreaterThanOrEqual(12);
      expect(s.major).toBe(Number(s.serverVersion.split('.')[0]));
    } finally {
      await s.stop();
    }
  });

  test.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s stops live sandboxes and exits %i', async (signal, code) => {
    const child = spawn(process.execPath, [path.resolve('test/helpers/sandbox-child.ts')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
    const info = await new Promise<{ rootDir: string; dataDir: string; pid: number; port: number }>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line && out.includes('\n')) resolve(JSON.parse(line) as { rootDir: string; dataDir: string; pid: number; port: number });
      });
      void exited.then((c) => reject(new Error(`child exited ${c} before starting: ${stderr}`)));
    });
    expect(existsSync(info.dataDir)).toBe(true);
    expect(processGone(info.pid)).toBe(false);

    child.kill(signal);
    expect(await exited).toBe(code);
    expect(stderr).toContain(`${signal} received, stopping 1 sandbox(es)`);
    expect(existsSync(info.rootDir)).toBe(false);
    expect(processGone(info.pid)).toBe(true);
    expect(await portClosed(info.port)).toBe(true);
  });
});

test('auto picks docker only when an engine answers and the image is available', async () => {
  expect(await resolveSandboxKind('auto', { major: MAJOR })).toBe(inject('dockerAvailable') ? 'docker' : 'embedded');
  expect(await resolveSandboxKind('auto', { major: MAJOR, image: 'pgdrill-no-such-image:{major}' })).toBe('embedded');
  expect(await resolveSandboxKind('embedded', { major: MAJOR })).toBe('embedded');
  expect(await resolveSandboxKind('docker', { major: MAJOR })).toBe('docker');
});

describe.skipIf(!inject('dockerAvailable'))('docker sandbox', () => {
  const sandbox = sandboxContract(() => startDockerSandbox({ major: MAJOR })) as () => DockerSandbox;

  async function labelledContainers(): Promise<string[]> {
    const { stdout } = await execa('docker', ['ps', '-a', '--no-trunc', '--filter', 'label=pgdrill.sandbox=true', '--format', '{{.ID}}']);
    return stdout.split('\n').filter(Boolean);
  }

  test('runs the image named after the major, labelled pgdrill.sandbox=true', async () => {
    const s = sandbox();
    expect(s.kind).toBe('docker');
    expect(s.description).toBe(`postgres:${MAJOR}`);
    expect(await labelledContainers()).toContain(s.containerId);
  });

  test('stop() removes the container; twice is fine', async () => {
    const s = sandbox();
    await s.stop();
    await s.stop();
    expect(await labelledContainers()).not.toContain(s.containerId);
    expect(await portClosed(s.connection.port)).toBe(true);
  });

  test('a missing image fails with what to do', async () => {
    await expect(startDockerSandbox({ major: MAJOR, image: 'pgdrill-no-such-image:{major}' })).rejects.toThrow(/pgdrill-no-such-image:15.*build-postgres-image\.sh/s);
  });
});
