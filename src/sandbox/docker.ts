// Docker sandbox: a throwaway PostgreSQL container via @testcontainers/postgresql. Restores run
// the container's own pg_restore/psql (copied archive + `docker exec`), so client and server
// versions always match whatever the host has installed.
import { randomBytes, randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import type * as Testcontainers from 'testcontainers';
import { RestoreError, SandboxError } from '../errors/index.ts';
import { childEnv, hasDbnameArg, PgRestoreLog, pgRestoreError, pgToolError, pgToolFailure, scrubSecrets, tail, type PgToolErrorOptions } from '../pgtools/index.ts';
import { manageSandbox } from './registry.ts';
import type { Sandbox, SandboxConnection, SandboxOptions } from './types.ts';

export const SANDBOX_LABEL = 'pgdrill.sandbox';
const SANDBOX_ID_LABEL = 'pgdrill.sandbox.id';
const SUPERUSER = 'pgdrill';

/**
 * Testcontainers normally starts a "Ryuk" reaper container to clean up after crashed tests.
 * pgdrill disables it: its image cannot be pulled where no registry is reachable (air-gapped
 * hosts, our CI), and pgdrill tears its own containers down (registry.ts: stop(), signal
 * handlers, exit hook). Must be set before testcontainers is first used.
 */
function disableRyuk(): void {
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
}

async function testcontainers(): Promise<typeof Testcontainers> {
  disableRyuk();
  return import('testcontainers');
}

/** `postgres:{major}` → `postgres:15`. */
export function dockerImageFor(options: Pick<SandboxOptions, 'image' | 'major'>): string {
  return (options.image ?? 'postgres:{major}').replaceAll('{major}', String(options.major));
}

function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
  });
  return Promise.race([promise.catch(() => fallback), timeout]).finally(() => clearTimeout(timer));
}

let dockerAvailable: Promise<boolean> | undefined;

/** Whether a container engine answers (testcontainers' own discovery, at most ~10 s; cached). */
export function isDockerAvailable(): Promise<boolean> {
  dockerAvailable ??= (async () => {
    const { getContainerRuntimeClient } = await testcontainers();
    return withTimeout(getContainerRuntimeClient().then(() => true), 10_000, false);
  })().catch(() => false);
  return dockerAvailable;
}

/** Whether `image` is present locally or can be pulled now (a failed pull answers false). */
export async function isDockerImageAvailable(image: string, pullTimeoutMs = 300_000): Promise<boolean> {
  if (!(await isDockerAvailable())) return false;
  const { getContainerRuntimeClient, ImageName } = await testcontainers();
  const client = await getContainerRuntimeClient();
  const name = ImageName.fromString(image);
  if (await client.image.exists(name).catch(() => false)) return true;
  return withTimeout(client.image.pull(name).then(() => true), pullTimeoutMs, false);
}

/** Containers still carrying this sandbox's id label (started or half-started). */
async function removeContainersById(sandboxId: string): Promise<void> {
  const { getContainerRuntimeClient } = await testcontainers();
  const client = await getContainerRuntimeClient();
  const containers = await client.container.dockerode.listContainers({
    all: true,
    filters: { label: [`${SANDBOX_ID_LABEL}=${sandboxId}`] },
  });
  for (const info of containers) {
    await client.container.dockerode.getContainer(info.Id).remove({ force: true, v: true });
  }
}

async function containerLogTail(sandboxId: string): Promise<string> {
  try {
    const { getContainerRuntimeClient } = await testcontainers();
    const client = await getContainerRuntimeClient();
    const [info] = await client.container.dockerode.listContainers({ all: true, filters: { label: [`${SANDBOX_ID_LABEL}=${sandboxId}`] } });
    if (!info) return '';
    const logs = await client.container.dockerode.getContainer(info.Id).logs({ stdout: true, stderr: true, tail: 30 });
    // Multiplexed stream frames: strip the 8-byte headers.
    const chunks: string[] = [];
    for (let offset = 0; offset + 8 <= logs.length; ) {
      const size = logs.readUInt32BE(offset + 4);
      chunks.push(logs.subarray(offset + 8, offset + 8 + size).toString('utf8'));
      offset += 8 + size;
    }
    const text = chunks.join('') || logs.toString('utf8');
    return text.trim() ? `\n--- container log (tail) ---\n${tail(text)}` : '';
  } catch {
    return '';
  }
}

/** A docker sandbox also names its container, for diagnostics and tests. */
export interface DockerSandbox extends Sandbox {
  readonly kind: 'docker';
  /** Full container id. */
  readonly containerId: string;
}

/** Starts a docker sandbox; removes the container again if anything after its creation fails. */
export async function startDockerSandbox(options: SandboxOptions): Promise<DockerSandbox> {
  const image = dockerImageFor(options);
  const database = options.database ?? 'restore';
  const password = randomBytes(24).toString('base64url');
  const sandboxId = randomUUID();
  const containerName = `pgdrill-sandbox-${sandboxId}`;
  /** Error text from the engine, the image or its tools never carries the password. */
  const scrub = (text: string): string => scrubSecrets(text, [password]);
  const { PostgreSqlContainer } = await (disableRyuk(), import('@testcontainers/postgresql'));

  let container: StartedPostgreSqlContainer | undefined;
  const teardown = async (): Promise<void> => {
    if (container) await container.stop({ remove: true, removeVolumes: true, timeout: 0 });
    // Also catches a container whose start was interrupted before testcontainers returned it.
    await removeContainersById(sandboxId);
  };
  const stopSync = (): void => {
    // The docker CLI needs its own DOCKER_* settings (host, context, TLS), none of pgdrill's secrets.
    const env = childEnv(Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('DOCKER_') && e[1] !== undefined)));
    const list = spawnSync('docker', ['ps', '-aq', '--filter', `label=${SANDBOX_ID_LABEL}=${sandboxId}`], { encoding: 'utf8', env, timeout: 10_000 });
    const ids = (list.stdout ?? '').split('\n').filter(Boolean);
    if (ids.length > 0) spawnSync('docker', ['rm', '-f', '-v', ...ids], { env, stdio: 'ignore', timeout: 20_000 });
  };
  const { stop, start } = manageSandbox({
    label: `docker sandbox ${image}`,
    teardown,
    stopSync,
    leftover: { container: containerName },
    stopError: (cause) =>
      new SandboxError(`Could not remove the docker sandbox container (${image})`, {
        hint: `Remove it by hand: \`docker rm -f $(docker ps -aq --filter label=${SANDBOX_ID_LABEL}=${sandboxId})\``,
        cause,
      }),
  });

  return start(async () => {
    try {
      container = await new PostgreSqlContainer(image)
        .withUsername(SUPERUSER)
        .withPassword(password)
        .withDatabase(database)
        .withLabels({ [SANDBOX_LABEL]: 'true', [SANDBOX_ID_LABEL]: sandboxId })
        .withName(containerName)
        .withStartupTimeout(120_000)
        .start();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new SandboxError(`Docker sandbox: could not start a container from image ${image}: ${scrub(reason)}`, {
        hint: `If the image is missing and no registry is reachable, build it with scripts/build-postgres-image.sh, set sandbox.image, or use the embedded sandbox${scrub(await containerLogTail(sandboxId))}`,
        cause: error,
      });
    }
    const started = container;
    const connection: SandboxConnection = { host: started.getHost(), port: started.getPort(), user: SUPERUSER, password, database };

    const client = new pg.Client({ ...connection, connectionTimeoutMillis: 15_000 });
    let serverVersion: string;
    try {
      await client.connect();
      serverVersion = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '';
    } catch (error) {
      throw new SandboxError(`Docker sandbox: the container from ${image} started but does not accept connections: ${scrub((error as Error).message)}`, {
        hint: `Check that the image honours POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB${scrub(await containerLogTail(sandboxId))}`,
        cause: error,
      });
    } finally {
      await client.end().catch(() => undefined);
    }

    const execEnv = { PGPASSWORD: password, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '15', PGAPPNAME: 'pgdrill' };
    const target = (db: string): string[] => ['--host=localhost', '--port=5432', `--username=${SUPERUSER}`, `--dbname=${db}`];

    /** Copies a local file or directory into the container; returns its path in there. */
    const copyIn = async (localPath: string): Promise<string> => {
      const inside = `/tmp/pgdrill-${randomUUID()}${path.extname(localPath)}`;
      const info = await stat(localPath);
      if (info.isDirectory()) await started.copyDirectoriesToContainer([{ source: localPath, target: inside }]);
      else await started.copyFilesToContainer([{ source: localPath, target: inside }]);
      return inside;
    };
    /** Runs a tool inside the container; a failure has the same shape as a local run's. */
    const execTool = async (command: string, args: string[], error: PgToolErrorOptions): Promise<void> => {
      const result = await started.exec(args, { env: execEnv });
      const failure = pgToolFailure({ command, exitCode: result.exitCode, output: result.stderr || result.output, scrub: [password] });
      if (failure) throw pgToolError(failure, error);
    };
    const removeInside = async (paths: string[]): Promise<void> => {
      if (paths.length > 0) await started.exec(['rm', '-rf', '--', ...paths]).catch(() => undefined);
    };

    const sandbox: DockerSandbox = {
      kind: 'docker',
      containerId: started.getId(),
      description: image,
      serverVersion,
      connection,
      connectionUri(db = database) {
        return `postgres://${encodeURIComponent(SUPERUSER)}:${encodeURIComponent(password)}@${connection.host}:${connection.port}/${encodeURIComponent(db)}`;
      },
      async pgRestore(archivePath, args) {
        const copied: string[] = [];
        try {
          const inside = await copyIn(archivePath);
          copied.push(inside);
          // A TOC list file (--use-list / -L) lives on the host too: copy it along.
          const mapped: string[] = [];
          for (let i = 0; i < args.length; i++) {
            const arg = args[i] ?? '';
            if (arg.startsWith('--use-list=')) {
              const list = await copyIn(arg.slice('--use-list='.length));
              copied.push(list);
              mapped.push(`--use-list=${list}`);
            } else if ((arg === '-L' || arg === '--use-list') && args[i + 1] !== undefined) {
              const list = await copyIn(args[i + 1] ?? '');
              copied.push(list);
              mapped.push(arg, list);
              i++;
            } else {
              mapped.push(arg);
            }
          }
          const connArgs = target(database);
          if (hasDbnameArg(args)) connArgs.pop();
          // --verbose: each error names its archive entry (PgRestoreLog).
          const result = await started.exec(['pg_restore', '--verbose', ...connArgs, ...mapped, inside], { env: execEnv });
          const output = result.stderr || result.output;
          const failure = pgToolFailure({ command: 'pg_restore', exitCode: result.exitCode, output, scrub: [password] });
          if (failure) {
            const log = new PgRestoreLog();
            log.push(output);
            log.end();
            throw pgRestoreError(failure, log, {
              as: RestoreError,
              context: `of ${archivePath} in the docker sandbox (${image})`,
              hint: 'Check that the archive is a custom, directory or tar pg_dump archive readable by the image\'s pg_restore, and the pg_restore arguments',
              scrub: [password],
            });
          }
        } finally {
          await removeInside(copied);
        }
      },
      async psqlFile(sqlPath, db = database) {
        let inside: string | undefined;
        try {
          inside = await copyIn(sqlPath);
          await execTool(`psql -f ${sqlPath}`, ['psql', ...target(db), '--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', `--file=${inside}`, '--output=/dev/null'], {
            as: RestoreError,
            context: `in the docker sandbox (${image})`,
            hint: 'Check the SQL file; psql stops at the first error (ON_ERROR_STOP)',
          });
        } finally {
          if (inside) await removeInside([inside]);
        }
      },
      stop,
    };
    return sandbox;
  });
}
