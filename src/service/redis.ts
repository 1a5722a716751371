import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { ConfigError } from '../errors/index.ts';
import { parseRedisUrl, startRedisServer, type RedisEndpoint } from '../redistools/index.ts';

export { parseRedisUrl, type RedisEndpoint };

// Where the job service keeps its queues: a shared Redis (REDIS_URL), or a private redis-server
// that `pgdrill serve` starts on 127.0.0.1 with a random password and its data in the state folder.
// `pgdrill run`, `status` and a second worker find that private one through the state folder.

/** Connection options for ioredis and BullMQ alike (workers need maxRetriesPerRequest: null). */
export interface RedisConnectionOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: object;
  maxRetriesPerRequest: null;
  connectTimeout: number;
}

export function redisOptions(endpoint: RedisEndpoint): RedisConnectionOptions {
  return {
    host: endpoint.host,
    port: endpoint.port,
    username: endpoint.username,
    password: endpoint.password,
    db: endpoint.db,
    ...(endpoint.tls ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    connectTimeout: 10_000,
  };
}

const STATE_FILE = 'redis.json';
const PASSWORD_FILE = 'redis.password';

/** The state folder, private to this user (0700). */
export async function ensureStateDir(stateDir: string): Promise<string> {
  const dir = path.resolve(stateDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  return dir;
}

/** The embedded Redis a `pgdrill serve` in this state folder runs, if any. */
async function embeddedEndpoint(stateDir: string): Promise<RedisEndpoint | undefined> {
  const dir = path.resolve(stateDir);
  const state = await readFile(path.join(dir, STATE_FILE), 'utf8').catch(() => undefined);
  if (!state) return undefined;
  const { port } = JSON.parse(state) as { port: number };
  const password = (await readFile(path.join(dir, PASSWORD_FILE), 'utf8')).trim();
  return { host: '127.0.0.1', port, password, tls: false, label: `embedded redis 127.0.0.1:${port} (${dir})` };
}

/** Fails with a ConfigError (exit 3) naming the fix unless Redis answers PING. */
export async function checkRedis(endpoint: RedisEndpoint): Promise<void> {
  const client = new Redis({ ...redisOptions(endpoint), maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new ConfigError(`Redis at ${endpoint.label} does not answer: ${(error as Error).message}`, {
      hint: 'Check REDIS_URL (host, port, password), or start the service with `pgdrill serve` (it runs its own Redis when REDIS_URL is unset)',
      cause: error,
    });
  } finally {
    client.disconnect();
  }
}

/**
 * The Redis to use: REDIS_URL, else the embedded one of the state folder. Throws a ConfigError
 * (exit 3) naming the fix when there is none or it does not answer.
 */
export async function resolveRedis(service: { redisUrl?: string; stateDir: string }): Promise<RedisEndpoint> {
  const endpoint = service.redisUrl ? parseRedisUrl(service.redisUrl) : await embeddedEndpoint(service.stateDir);
  if (!endpoint) {
    throw new ConfigError(`No Redis: REDIS_URL is not set and no pgdrill service runs with state folder ${path.resolve(service.stateDir)}`, {
      hint: 'Start the service with `pgdrill serve` in this folder (or set PGDRILL_STATE_DIR to its state folder), or set REDIS_URL to a shared Redis',
    });
  }
  await checkRedis(endpoint);
  return endpoint;
}

export interface EmbeddedRedis {
  endpoint: RedisEndpoint;
  stop(): Promise<void>;
}

/**
 * Starts a private redis-server: 127.0.0.1, a random port and password (in a 0600 file, never on
 * its command line), append-only data in `{stateDir}/redis` so queued and scheduled jobs survive a
 * restart. Stopped with the process (signals included).
 */
export async function startEmbeddedRedis(stateDir: string, binary = 'redis-server'): Promise<EmbeddedRedis> {
  const dir = await ensureStateDir(stateDir);
  const dataDir = path.join(dir, 'redis');
  const passwordFile = path.join(dir, PASSWORD_FILE);
  const password = (await readFile(passwordFile, 'utf8').catch(() => '')).trim() || randomBytes(24).toString('base64url');
  await writeFile(passwordFile, password, { mode: 0o600 });
  const endpointAt = (port: number): RedisEndpoint => ({ host: '127.0.0.1', port, password, tls: false, label: `embedded redis 127.0.0.1:${port} (${dir})` });
  const server = await startRedisServer({
    binary,
    dir: dataDir,
    label: `embedded redis (${dir})`,
    config: ['bind 127.0.0.1', 'protected-mode yes', `requirepass ${password}`, 'appendonly yes', 'save ""', `pidfile ${path.join(dataDir, 'redis.pid')}`, 'loglevel warning'],
    ready: (port) => checkRedis(endpointAt(port)).then(() => true),
    as: ConfigError,
    missingHint: 'Install Redis (Debian: apt-get install redis-server; scripts/bootstrap.sh does), or set REDIS_URL to a running Redis',
  });
  const endpoint = endpointAt(server.port);
  await writeFile(path.join(dir, STATE_FILE), JSON.stringify({ port: server.port, pid: server.pid }), { mode: 0o600 });
  return {
    endpoint,
    async stop() {
      await server.stop();
      await rm(path.join(dir, STATE_FILE), { force: true });
    },
  };
}
