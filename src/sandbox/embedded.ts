// Embedded sandbox: a throwaway PostgreSQL cluster from the host's own binaries, in a fresh temp
// directory, listening on 127.0.0.1 on a random port, scram-sha-256 for every connection, with a
// random password that never touches argv or a log. stop() shuts it down and deletes the directory.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { appendFile, chmod, chown, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { RestoreError, SandboxError } from '../errors/index.ts';
import { childEnv, hasDbnameArg, pgToolError, runPgRestore, runPgTool, tail, type PgToolOptions } from '../pgtools/index.ts';
import { findPostgresBinaries } from './binaries.ts';
import type { PostgresBinaries } from './binaries.ts';
import { manageSandbox } from './registry.ts';
import type { Sandbox, SandboxConnection, SandboxOptions } from './types.ts';

export interface EmbeddedSandboxOptions extends SandboxOptions {
  /** Keep the server log (`<rootDir>.log`) after stop(), for debugging. Default false. */
  keepLogs?: boolean;
}

/** An embedded sandbox also tells where it lives, for diagnostics and tests. */
export interface EmbeddedSandbox extends Sandbox {
  readonly kind: 'embedded';
  /** Temp directory holding the data directory and the unix socket; removed by stop(). */
  readonly rootDir: string;
  /** PGDATA. */
  readonly dataDir: string;
  /** Server log; inside rootDir unless keepLogs. */
  readonly logFile: string;
  /** PID of the postmaster. */
  readonly pid: number;
  /** Major version of the binaries actually used (may be newer than asked for). */
  readonly major: number;
}

const SUPERUSER = 'pgdrill';
const START_ATTEMPTS = 3;

/** Identity the server binaries run as: initdb and postgres refuse to run as root. */
interface ServerIdentity {
  uid?: number;
  gid?: number;
}

async function serverIdentity(): Promise<ServerIdentity> {
  if (process.getuid?.() !== 0) return {};
  const uid = await execa('id', ['-u', 'postgres'], { env: childEnv(), extendEnv: false, reject: false });
  const gid = await execa('id', ['-g', 'postgres'], { env: childEnv(), extendEnv: false, reject: false });
  if (uid.exitCode !== 0 || gid.exitCode !== 0) {
    throw new SandboxError('Embedded sandbox: running as root, and initdb/postgres refuse to run as root, but there is no `postgres` OS user to run them as', {
      hint: 'Run pgdrill as a non-root user, or create the postgres user (Debian\'s postgresql package does), or use the docker sandbox',
    });
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

async function logTail(logFile: string): Promise<string> {
  try {
    const text = await readFile(logFile, 'utf8');
    return text.trim() ? `\n--- server log (tail) ---\n${tail(text)}` : '';
  } catch {
    return '';
  }
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const confString = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/**
 * Starts an embedded sandbox. Throws SandboxError (with the tail of the server log when the
 * server itself failed) after removing anything it created.
 */
export async function startEmbeddedSandbox(options: EmbeddedSandboxOptions): Promise<EmbeddedSandbox> {
  const bins = await findPostgresBinaries(options.major, options.binDir);
  const identity = await serverIdentity();
  const database = options.database ?? 'restore';

  const rootDir = await mkdtemp(path.join(os.tmpdir(), 'pgdrill-sandbox-'));
  const dataDir = path.join(rootDir, 'data');
  const logFile = options.keepLogs ? `${rootDir}.log` : path.join(rootDir, 'server.log');
  const pidFile = path.join(dataDir, 'postmaster.pid');
  // The server binaries get childEnv() and nothing else: the server runs as another OS user,
  // which can read its /proc/<pid>/environ.
  const asServer: PgToolOptions = { ...identity, cwd: rootDir };

  const teardown = async (): Promise<void> => {
    if (existsSync(pidFile)) {
      const fast = await runPgTool(bins.bin('pg_ctl'), ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30'], { ...asServer, timeout: 40_000, reject: false });
      if (fast.failure && existsSync(pidFile)) {
        await runPgTool(bins.bin('pg_ctl'), ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '10'], { ...asServer, timeout: 20_000, reject: false });
      }
    }
    await rm(rootDir, { recursive: true, force: true, maxRetries: 3 });
  };
  const stopSync = (): void => {
    if (existsSync(pidFile)) {
      spawnSync(bins.bin('pg_ctl'), ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '10'], { ...identity, cwd: os.tmpdir(), env: childEnv(), stdio: 'ignore', timeout: 15_000 });
    }
    rmSync(rootDir, { recursive: true, force: true, maxRetries: 3 });
  };
  const { stop, start } = manageSandbox({
    label: `embedded sandbox ${rootDir}`,
    teardown,
    stopSync,
    leftover: {
      postgres: { pgCtl: bins.bin('pg_ctl'), dataDir, ...(identity.uid !== undefined && identity.gid !== undefined ? { user: { uid: identity.uid, gid: identity.gid } } : {}) },
      folders: [rootDir],
    },
    stopError: (cause) =>
      new SandboxError(`Could not stop the embedded sandbox in ${rootDir}`, {
        hint: `Stop it with \`${bins.bin('pg_ctl')} stop -D ${dataDir} -m immediate\` and delete the directory`,
        cause,
      }),
  });

  return start(async () => {
    await chmod(rootDir, 0o700);
    if (identity.uid !== undefined && identity.gid !== undefined) await chown(rootDir, identity.uid, identity.gid);

    const password = randomBytes(24).toString('base64url');
    await initCluster(bins, identity, asServer, rootDir, dataDir, password);
    await appendFile(
      path.join(dataDir, 'postgresql.conf'),
      [
        '',
        '# pgdrill sandbox: loopback only, socket in the sandbox directory, throwaway durability',
        "listen_addresses = '127.0.0.1'",
        `unix_socket_directories = ${confString(rootDir)}`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        "max_wal_size = '4GB'",
        '',
      ].join('\n'),
    );

    const port = await startServer(bins, asServer, dataDir, logFile);
    const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
    const connection: SandboxConnection = { host: '127.0.0.1', port, user: SUPERUSER, password, database };

    let serverVersion: string;
    const client = new pg.Client({ ...connection, database: 'postgres', connectionTimeoutMillis: 15_000 });
    try {
      await client.connect();
      if (database !== 'postgres') await client.query(`CREATE DATABASE ${quoteIdent(database)}`);
      const row = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0];
      serverVersion = row?.server_version ?? bins.version;
    } catch (error) {
      throw new SandboxError(`Embedded sandbox: the server started but creating database "${database}" failed: ${(error as Error).message}`, {
        hint: `Check the server log${await logTail(logFile)}`,
        cause: error,
      });
    } finally {
      await client.end().catch(() => undefined);
    }

    // PGPASSWORD is scrubbed from any tool output that reaches an error message.
    const clientEnv = { PGPASSWORD: password, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '15', PGAPPNAME: 'pgdrill' };
    const target = (db: string): string[] => ['--host=127.0.0.1', `--port=${port}`, `--username=${SUPERUSER}`, `--dbname=${db}`];

    const sandbox: EmbeddedSandbox = {
      kind: 'embedded',
      description: bins.binDir || 'PostgreSQL binaries on PATH',
      serverVersion,
      connection,
      rootDir,
      dataDir,
      logFile,
      pid,
      major: bins.major,
      connectionUri(db = database) {
        return `postgres://${encodeURIComponent(SUPERUSER)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(db)}`;
      },
      async pgRestore(archivePath, args) {
        const connArgs = target(database);
        if (hasDbnameArg(args)) connArgs.pop();
        await runPgRestore(bins.bin('pg_restore'), [...connArgs, ...args, archivePath], {
          env: clientEnv,
          error: {
            as: RestoreError,
            context: `of ${archivePath} into the embedded sandbox`,
            hint: `Check that the archive is a custom, directory or tar pg_dump archive readable by pg_restore ${bins.version}, and the pg_restore arguments`,
          },
        });
      },
      async psqlFile(sqlPath, db = database) {
        await runPgTool(bins.bin('psql'), [...target(db), '--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', `--file=${sqlPath}`], {
          env: clientEnv,
          command: `psql -f ${sqlPath}`,
          error: { as: RestoreError, context: 'in the embedded sandbox', hint: 'Check the SQL file; psql stops at the first error (ON_ERROR_STOP)' },
        });
      },
      stop,
    };
    return sandbox;
  });
}

async function initCluster(
  bins: PostgresBinaries,
  identity: ServerIdentity,
  asServer: PgToolOptions,
  rootDir: string,
  dataDir: string,
  password: string,
): Promise<void> {
  // The password reaches initdb only through a 0600 file owned by the server user, deleted at once.
  const pwFile = path.join(rootDir, 'pwfile');
  await writeFile(pwFile, password, { mode: 0o600, flag: 'wx' });
  try {
    if (identity.uid !== undefined && identity.gid !== undefined) await chown(pwFile, identity.uid, identity.gid);
    await runPgTool(
      bins.bin('initdb'),
      [
        '-D', dataDir,
        '-U', SUPERUSER,
        `--pwfile=${pwFile}`,
        '--auth-host=scram-sha-256',
        '--auth-local=scram-sha-256',
        '-E', 'UTF8',
        '--locale=C.UTF-8',
        '--no-sync',
      ],
      {
        ...asServer,
        timeout: 120_000,
        stdout: 'keep',
        error: {
          as: SandboxError,
          context: 'for the embedded sandbox',
          hint: `Check that ${bins.bin('initdb')} works, that the C.UTF-8 locale exists, and that ${os.tmpdir()} is writable and reachable by the server user`,
        },
      },
    );
  } finally {
    await unlink(pwFile).catch(() => undefined);
  }
}

/** pg_ctl start -w on a random free port; retries on a port taken in between. Returns the port. */
async function startServer(bins: PostgresBinaries, asServer: PgToolOptions, dataDir: string, logFile: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const { failure } = await runPgTool(bins.bin('pg_ctl'), ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', `-p ${port}`], {
      ...asServer,
      timeout: 90_000,
      stdout: 'keep',
      reject: false,
    });
    if (!failure) return port;
    const log = await readFile(logFile, 'utf8').catch(() => '');
    if (attempt < START_ATTEMPTS && /could not bind|address already in use/i.test(log)) continue;
    throw pgToolError(failure, {
      as: SandboxError,
      context: 'for the embedded sandbox',
      hint: `See the server log below; free shared memory or disk space, or set sandbox.binDir to a working installation${await logTail(logFile)}`,
    });
  }
}
