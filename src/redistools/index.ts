import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ResultPromise } from 'execa';
import { ConfigError, PgdrillError, type PgdrillErrorOptions } from '../errors/index.ts';
import { freePort, registerCleanup } from '../lifecycle/index.ts';
import { childEnv, loadExeca, runPgTool, type PgdrillErrorClass } from '../pgtools/index.ts';

// Redis, the one way pgdrill talks to it outside BullMQ: the URL parsed once, Debian's `redis-cli`
// (redis-tools, a dependency of redis-server) with the password in REDISCLI_AUTH (never in argv),
// `INFO` parsed, and a `redis-server` started on 127.0.0.1 that never outlives pgdrill (the job
// service's private Redis, the drill's throwaway one).

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

/** Parses `redis://[user:password@]host[:port][/db]` (`rediss://` for TLS); `what` names it in errors (`REDIS_URL`). */
export function parseRedisUrl(url: string, what = 'REDIS_URL'): RedisEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${what} is not a valid URL`, { hint: 'Use redis://[:password@]host:6379[/db] or rediss:// for TLS' });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError(`${what} has protocol ${parsed.protocol}`, { hint: 'Use redis://host:6379 or rediss://host:6380' });
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

/** redis-cli's connection arguments and environment: the password only in REDISCLI_AUTH. */
export function redisCliConnection(endpoint: RedisEndpoint): { args: string[]; env: Record<string, string>; scrub: string[] } {
  return {
    args: ['-h', endpoint.host, '-p', String(endpoint.port), ...(endpoint.username ? ['--user', endpoint.username] : []), ...(endpoint.tls ? ['--tls'] : [])],
    env: endpoint.password ? { REDISCLI_AUTH: endpoint.password } : {},
    scrub: endpoint.password ? [endpoint.password] : [],
  };
}

/** `redis-cli INFO section` of a server; throws `as` (default PgdrillError) naming the server when it does not answer. */
export async function redisInfo(endpoint: RedisEndpoint, section: string, error: { as?: PgdrillErrorClass; hint?: string; signal?: AbortSignal } = {}): Promise<string> {
  const connection = redisCliConnection(endpoint);
  // redis-cli exits 0 even when the server refused the command: its output says so.
  const { stdout } = await runPgTool('redis-cli', [...connection.args, '--no-auth-warning', 'INFO', section], {
    env: connection.env,
    scrub: connection.scrub,
    stdout: 'keep',
    timeout: 30_000,
    command: `redis-cli INFO ${section} (${endpoint.label})`,
    cancelSignal: error.signal,
    error: { as: error.as, hint: error.hint ?? 'Install redis-tools (Debian: apt-get install redis-tools) and check the Redis URL' },
  });
  if (!/^# /m.test(stdout)) {
    const ErrorClass = error.as ?? PgdrillError;
    throw new ErrorClass(`redis-cli INFO ${section} (${endpoint.label}) failed: ${stdout.trim().split('\n').slice(-2).join(' | ') || '(no answer)'}`, {
      hint: error.hint ?? 'Check the Redis URL and its password',
    });
  }
  return stdout;
}

/** Keys per logical database from `INFO keyspace` (`db0:keys=3,expires=1,avg_ttl=0`), by db number. */
export function parseKeyspace(info: string): Array<{ db: number; keys: number; expires: number }> {
  const out: Array<{ db: number; keys: number; expires: number }> = [];
  for (const match of info.matchAll(/^db(\d+):keys=(\d+),expires=(\d+)/gm)) out.push({ db: Number(match[1]), keys: Number(match[2]), expires: Number(match[3]) });
  return out.sort((a, b) => a.db - b.db);
}

/** `redis_version` from `INFO server`. */
export function parseRedisVersion(info: string): string {
  return /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
}


export interface RedisServer {
  port: number;
  pid: number | undefined;
  stop(): Promise<void>;
}

export interface StartRedisServerOptions {
  /** Folder of its data and config file (created 0700). */
  dir: string;
  /** Lines of redis.conf besides `port`, `dir` and `daemonize no`. */
  config: string[];
  /** For messages and the cleanup registry, without secrets. */
  label: string;
  /** Whether it is ready (answers, has loaded its data). */
  ready: (port: number) => Promise<boolean>;
  /** The error class of a failure to start (ConfigError for the service, SandboxError for the drill). */
  as: PgdrillErrorClass;
  /** What to do when it cannot start (after "Cannot start redis-server"). */
  missingHint: string;
  binary?: string;
  timeoutMs?: number;
}

/**
 * Starts `redis-server` with a config file in `dir` (never a password on its command line), waits
 * until `ready`, and registers it with the lifecycle: it is stopped on a signal or at exit.
 */
export async function startRedisServer(o: StartRedisServerOptions): Promise<RedisServer> {
  const binary = o.binary ?? 'redis-server';
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  const port = await freePort();
  const configFile = path.join(o.dir, 'redis.conf');
  await writeFile(configFile, [`port ${port}`, `dir ${o.dir}`, 'daemonize no', ...o.config, ''].join('\n'), { mode: 0o600 });
  const missing = (cause: unknown, options: PgdrillErrorOptions = {}) =>
    new o.as(`Cannot start ${binary}: it is not installed or not on PATH`, { hint: o.missingHint, cause, ...options });
  const { execa } = loadExeca(); // outside the try: a failure to load it is not a missing binary
  let child: ResultPromise;
  try {
    child = execa(binary, [configFile], { env: childEnv({}), extendEnv: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', reject: false });
  } catch (error) {
    throw missing(error);
  }
  const exited = child.then((result) => result);
  let running = true;
  void exited.then(() => (running = false));
  const stop = async (): Promise<void> => {
    unregister();
    if (running) child.kill('SIGTERM');
    await exited;
  };
  const unregister = registerCleanup({ kind: 'redis server(s)', label: o.label, run: stop, runSync: () => void child.kill('SIGKILL') });
  const timeoutMs = o.timeoutMs ?? 15_000;
  for (let waited = 0; ; waited += 100) {
    const result = await Promise.race([exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 100))]);
    if (result) {
      unregister();
      if (result.exitCode === undefined || /ENOENT/.test(result.message ?? '')) throw missing(result);
      throw new o.as(`${binary} exited (${result.exitCode}) before answering: ${String(result.stderr).trim().split('\n').slice(-3).join(' | ')}`, {
        hint: `Check ${o.dir} (free space, permissions)`,
      });
    }
    if (await o.ready(port).catch(() => false)) return { port, pid: child.pid, stop };
    if (waited > timeoutMs) {
      await stop();
      throw new o.as(`${binary} (${o.label}) did not answer within ${Math.round(timeoutMs / 1000)} s`, { hint: `Check ${o.dir}` });
    }
  }
}
