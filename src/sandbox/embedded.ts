// Embedded sandbox: a throwaway PostgreSQL cluster from the host's own binaries, in a fresh temp
// directory, listening on 127.0.0.1 on a random port, scram-sha-256 for every connection, with a
// random password that never touches argv or a log. stop() shuts it down and deletes the directory.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import { freePort } from '../lifecycle/index.ts';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { RestoreError, SandboxError } from '../errors/index.ts';
import { childEnv, hasDbnameArg, pgToolError, postgresOsUser, runPgRestore, runPgTool, tail, type PgToolOptions } from '../pgtools/index.ts';
import { findPostgresBinaries } from './binaries.ts';
import type { PostgresBinaries } from './binaries.ts';
import { manageSandbox } from './registry.ts';
import type { Sandbox, SandboxConnection, SandboxOptions } from './types.ts';

export interface EmbeddedSandboxOptions extends SandboxOptions {
  /** Keep the server log (`<rootDir>.log`) after stop(), for debugging. Default false. */
  keepLogs?: boolean;
  /** Start on a cluster that `populate` puts in place (a physical restore) instead of a fresh initdb. */
  cluster?: ExistingClusterOptions;
}

/**
 * A sandbox on an existing cluster (a pgBackRest restore): the sandbox makes the private data
 * directory, `populate` fills it, and the server starts with the sandbox's own settings on the
 * command line (which outrank the cluster's postgresql.conf and postgresql.auto.conf): no TCP at
 * all, a unix socket in the private 0700 directory, its own pg_hba.conf, no WAL archiving.
 */
export interface ExistingClusterOptions {
  /** Fills the empty data directory (0700, owned by the server's OS user, whose ids it is given when pgdrill runs as root). */
  populate(dataDir: string, owner: { uid?: number; gid?: number }): Promise<void>;
  /**
   * The cluster's superuser, which the sandbox connects as over its private socket without a
   * password (`trust` for that role on that socket only); every other role must give its password.
   */
  superuser: string;
  /** Environment of the server process besides childEnv() (what its restore_command needs). */
  serverEnv?: Record<string, string>;
  /** Secrets in serverEnv, blanked out of errors. */
  scrub?: readonly string[];
  /** How long the server may take to start, recovery included (default 30 minutes). */
  startTimeoutMs?: number;
  /** Turns the server log of a start that failed into the error to raise (e.g. naming a missing WAL segment). */
  explainStartFailure?(serverLog: string): Error | undefined;
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
  const user = await postgresOsUser();
  if (!user) {
    throw new SandboxError('Embedded sandbox: running as root, and initdb/postgres refuse to run as root, but there is no `postgres` OS user to run them as', {
      hint: 'Run pgdrill as a non-root user, or create the postgres user (Debian\'s postgresql package does), or use the docker sandbox',
    });
  }
  return user;
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

    if (options.cluster) return startExistingCluster({ bins, identity, asServer, rootDir, dataDir, logFile, pidFile, database, stop, cluster: options.cluster });

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

    return embeddedSandbox(bins, {
      serverVersion,
      connection,
      rootDir,
      dataDir,
      logFile,
      pid,
      connectionUri(db = database) {
        return `postgres://${encodeURIComponent(SUPERUSER)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(db)}`;
      },
      stop,
    });
  });
}

/** A running embedded server as a sandbox, fresh (initdb) or on a restored cluster: what both have in common from the binaries, plus its own address and stop. */
function embeddedSandbox(
  bins: PostgresBinaries,
  server: Pick<EmbeddedSandbox, 'serverVersion' | 'connection' | 'rootDir' | 'dataDir' | 'logFile' | 'pid' | 'connectionUri' | 'stop'>,
): EmbeddedSandbox {
  return { kind: 'embedded', description: bins.binDir || 'PostgreSQL binaries on PATH', major: bins.major, ...server, ...clientTools(bins, server.connection) };
}

/** pg_restore and psql of these binaries against a sandbox's connection (TCP or its socket directory). */
function clientTools(bins: PostgresBinaries, connection: SandboxConnection): Pick<Sandbox, 'pgRestore' | 'psqlFile'> {
  // PGPASSWORD is scrubbed from any tool output that reaches an error message.
  const clientEnv = { ...(connection.password ? { PGPASSWORD: connection.password } : {}), PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '15', PGAPPNAME: 'pgdrill' };
  const target = (db: string): string[] => [`--host=${connection.host}`, `--port=${connection.port}`, `--username=${connection.user}`, `--dbname=${db}`];
  return {
    async pgRestore(archivePath, args) {
      const connArgs = target(connection.database);
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
    async psqlFile(sqlPath, db = connection.database) {
      await runPgTool(bins.bin('psql'), [...target(db), '--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', `--file=${sqlPath}`], {
        env: clientEnv,
        command: `psql -f ${sqlPath}`,
        error: { as: RestoreError, context: 'in the embedded sandbox', hint: 'Check the SQL file; psql stops at the first error (ON_ERROR_STOP)' },
      });
    },
  };
}

/** The socket "port": the server listens on no TCP port, so any number works; it names the socket file. */
const SOCKET_PORT = 5432;
const POLL_MS = 250;

/** Quotes a value for pg_ctl's -o, which a shell splits. */
const shellQuote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

/**
 * The existing-cluster start: populate, own pg_hba.conf (trust for the superuser on the private
 * socket, passwords for every other role), start with the sandbox's settings on the command line,
 * and wait until the server accepts connections out of recovery (pg_ctl returns as soon as the
 * postmaster runs: with hot_standby off, nobody can connect until recovery has ended).
 */
async function startExistingCluster(o: {
  bins: PostgresBinaries;
  identity: ServerIdentity;
  asServer: PgToolOptions;
  rootDir: string;
  dataDir: string;
  logFile: string;
  pidFile: string;
  database: string;
  stop(): Promise<void>;
  cluster: ExistingClusterOptions;
}): Promise<EmbeddedSandbox> {
  const { bins, identity, rootDir, dataDir, logFile, pidFile, cluster } = o;
  const owned = async (file: string): Promise<void> => {
    if (identity.uid !== undefined && identity.gid !== undefined) await chown(file, identity.uid, identity.gid);
  };
  await mkdir(dataDir, { mode: 0o700 });
  await owned(dataDir);
  await cluster.populate(dataDir, { uid: identity.uid, gid: identity.gid });

  const hbaFile = path.join(rootDir, 'pg_hba.conf');
  const identFile = path.join(rootDir, 'pg_ident.conf');
  await writeFile(
    hbaFile,
    [
      '# pgdrill sandbox: the unix socket in this private directory only (the server listens on no TCP address)',
      `local all ${quoteIdent(cluster.superuser)} trust`,
      // md5 accepts SCRAM and MD5 password hashes alike: every other role proves its password.
      'local all all md5',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  await writeFile(identFile, '', { mode: 0o600 });
  await Promise.all([owned(hbaFile), owned(identFile)]);

  // Command-line settings outrank the restored postgresql.conf and postgresql.auto.conf.
  const settings: Record<string, string> = {
    listen_addresses: '',
    port: String(SOCKET_PORT),
    unix_socket_directories: rootDir,
    unix_socket_permissions: '0700',
    hba_file: hbaFile,
    ident_file: identFile,
    // The cluster's own postgresql.conf may not be in its data directory (Debian keeps it in /etc).
    config_file: path.join(rootDir, 'postgresql.conf'),
    archive_mode: 'off',
    hot_standby: 'off',
    ssl: 'off',
    logging_collector: 'off',
    log_destination: 'stderr',
    external_pid_file: '',
    shared_buffers: '128MB',
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
  };
  await writeFile(settings.config_file!, '# pgdrill sandbox: every setting is given on the command line\n', { mode: 0o600 });
  await owned(settings.config_file!);
  const serverOptions = Object.entries(settings)
    .map(([name, value]) => `-c ${name}=${shellQuote(value)}`)
    .join(' ');
  const asServer: PgToolOptions = { ...o.asServer, env: cluster.serverEnv, scrub: cluster.scrub };
  const timeoutMs = cluster.startTimeoutMs ?? 30 * 60_000;
  const started = await runPgTool(bins.bin('pg_ctl'), ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', serverOptions], {
    ...asServer,
    timeout: 90_000,
    stdout: 'keep',
    reject: false,
  });
  const failedStart = async (): Promise<Error> => {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    return (
      cluster.explainStartFailure?.(log) ??
      new SandboxError('The embedded sandbox could not start the restored cluster', {
        hint: `See the server log below${await logTail(logFile)}`,
      })
    );
  };
  if (started.failure) throw (await failedStart()) ?? pgToolError(started.failure, { as: SandboxError });

  const connection: SandboxConnection = { host: rootDir, port: SOCKET_PORT, user: cluster.superuser, password: '', database: o.database };
  const deadline = Date.now() + timeoutMs;
  let serverVersion: string | undefined;
  while (serverVersion === undefined) {
    const client = new pg.Client({ ...connection, connectionTimeoutMillis: 15_000 });
    try {
      await client.connect();
      const row = (await client.query<{ server_version: string; in_recovery: boolean }>('SELECT current_setting($1) AS server_version, pg_is_in_recovery() AS in_recovery', ['server_version'])).rows[0];
      if (row && !row.in_recovery) serverVersion = row.server_version;
    } catch (error) {
      // "the database system is starting up / not accepting connections" until recovery ends.
      const message = (error as Error).message;
      if (!existsSync(pidFile)) throw await failedStart();
      // The postmaster going down ("in recovery mode" after its startup process failed, e.g. a
      // recovery that ran out of WAL): named from the log at once, not as a connection error.
      if (/in recovery mode|shutting down/i.test(message)) {
        const explained = cluster.explainStartFailure?.(await readFile(logFile, 'utf8').catch(() => ''));
        if (explained) throw explained;
      } else if (!/starting up|not accepting connections|ECONNREFUSED|ENOENT/i.test(message)) {
        throw new SandboxError(`The restored cluster started but the sandbox cannot connect as ${cluster.superuser}: ${message}`, {
          hint: `pitr needs the cluster's superuser; check the role name${await logTail(logFile)}`,
          cause: error,
        });
      }
    } finally {
      await client.end().catch(() => undefined);
    }
    if (serverVersion === undefined) {
      if (Date.now() > deadline) throw new SandboxError(`The restored cluster did not finish recovery within ${Math.round(timeoutMs / 60_000)} minutes`, { hint: `See the server log below${await logTail(logFile)}` });
      await delay(POLL_MS);
    }
  }
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  const uri = (db: string): string => `postgres://${encodeURIComponent(cluster.superuser)}@${encodeURIComponent(rootDir)}:${SOCKET_PORT}/${encodeURIComponent(db)}`;
  return embeddedSandbox(bins, { serverVersion, connection, rootDir, dataDir, logFile, pid, connectionUri: (db = o.database) => uri(db), stop: o.stop });
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
