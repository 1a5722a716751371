import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { Redis } from 'ioredis';
import { ConfigError } from '../errors/index.ts';
import { registerCleanup } from '../lifecycle/index.ts';
import { childEnv } from '../pgtools/index.ts';

// Where the job service keeps its queues: a shared Redis (REDIS_URL), or a private redis-server
// that `pgdrill serve` starts on 127.0.0.1 with a random password and its data in the state folder.
// `pgdrill run`, `status` and a second worker find that private one through the state folder.

/** Everything needed to connect; `label` is safe to print (no password). */
export interface RedisEndpoint {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls: boolean;
  label: string;
}

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

export function parseRedisUrl(url: string): RedisEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('REDIS_URL is not a valid URL', { hint: 'Use redis://[:password@]host:6379[/db] or rediss:// for TLS' });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError(`REDIS_URL has protocol ${parsed.protocol}`, { hint: 'Use redis://host:6379 or rediss://host:6380' });
  }
  const port = Number(parsed.port || 6379);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined;
  return {
    host: parsed.hostname || '127.0.0.1',
    port,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: Number.isInteger(db) ? db : undefined,
    tls: parsed.protocol === 'rediss:',
    label: `${parsed.protocol}//${parsed.hostname}:${port}${parsed.pathname.length > 1 ? parsed.pathname : ''}`,
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

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
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
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const passwordFile = path.join(dir, PASSWORD_FILE);
  const password = (await readFile(passwordFile, 'utf8').catch(() => '')).trim() || randomBytes(24).toString('base64url');
  await writeFile(passwordFile, password, { mode: 0o600 });
  const port = await freePort();
  const configFile = path.join(dataDir, 'redis.conf');
  await writeFile(
    configFile,
    [
      'bind 127.0.0.1',
      'protected-mode yes',
      `port ${port}`,
      `requirepass ${password}`,
      `dir ${dataDir}`,
      'appendonly yes',
      'save ""',
      'daemonize no',
      `pidfile ${path.join(dataDir, 'redis.pid')}`,
      'loglevel warning',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  let child: ResultPromise;
  try {
    child = execa(binary, [configFile], { env: childEnv({}), extendEnv: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', reject: false });
  } catch (error) {
    throw redisMissing(binary, error);
  }
  const exited = child.then((result) => result);
  const endpoint: RedisEndpoint = { host: '127.0.0.1', port, password, tls: false, label: `embedded redis 127.0.0.1:${port} (${dir})` };
  let running = true;
  void exited.then(() => (running = false));
  const stop = async (): Promise<void> => {
    unregister();
    if (running) child.kill('SIGTERM');
    await exited;
    await rm(path.join(dir, STATE_FILE), { force: true });
  };
  const unregister = registerCleanup({ kind: 'redis server(s)', label: endpoint.label, run: stop, runSync: () => void child.kill('SIGKILL') });
  // Wait until it answers (or died: a missing binary, a bad config).
  for (let waited = 0; ; waited += 100) {
    const result = await Promise.race([exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 100))]);
    if (result) {
      unregister();
      if (result.exitCode === undefined || /ENOENT/.test(result.message ?? '')) throw redisMissing(binary, result);
      throw new ConfigError(`redis-server exited (${result.exitCode}) before answering: ${String(result.stderr).trim().split('\n').slice(-3).join(' | ')}`, {
        hint: `Check the state folder ${dir} (free space, permissions)`,
      });
    }
    const ok = await checkRedis(endpoint).then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (waited > 15_000) {
      await stop();
      throw new ConfigError('redis-server did not answer within 15 s', { hint: `Check ${dataDir}` });
    }
  }
  await writeFile(path.join(dir, STATE_FILE), JSON.stringify({ port, pid: child.pid }), { mode: 0o600 });
  return { endpoint, stop };
}

function redisMissing(binary: string, cause: unknown): ConfigError {
  return new ConfigError(`Cannot start ${binary}: it is not installed or not on PATH`, {
    hint: 'Install Redis (Debian: apt-get install redis-server; scripts/bootstrap.sh does), or set REDIS_URL to a running Redis',
    cause,
  });
}
