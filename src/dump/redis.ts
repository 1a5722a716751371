import { dataKey, objectExtension, type RedisSnapshot } from '../catalog/index.ts';
import type { PgdrillConfig } from '../config/index.ts';
import type { Keyring } from '../crypto/index.ts';
import { BackupError, ConfigError } from '../errors/index.ts';
import { parseKeyspace, parseRedisUrl, parseRedisVersion, redisCliConnection, redisInfo, type RedisEndpoint } from '../redistools/index.ts';
import type { BackupStorage } from '../storage/index.ts';
import { encodeCommandOutput, putInto } from './stream-command.ts';

// The Redis snapshot of a backup (seed 004 BR-006: BullMQ's job state): `redis-cli --rdb -` asks the
// server for a replication snapshot (SYNC: the server forks and writes an RDB) and writes it to
// stdout, which goes through the backup's pipeline (SHA-256, compression, encryption, SHA-256). The
// key count of every logical database is read with INFO keyspace before and after, for the drill.

/** The configured Redis (`backup.redis`: url, or urlEnv naming the variable that holds it). */
export function redisSource(config: PgdrillConfig, env: NodeJS.ProcessEnv = process.env): RedisEndpoint | undefined {
  const redis = config.backup.redis;
  if (!redis) return undefined;
  const url = redis.url ?? env[redis.urlEnv!];
  if (!url) {
    throw new ConfigError(`backup.redis.urlEnv names ${redis.urlEnv}, which is not set`, { hint: `Set ${redis.urlEnv} to the Redis URL (redis://:password@host:6379), or remove backup.redis` });
  }
  return parseRedisUrl(url, redis.url !== undefined ? 'backup.redis.url' : redis.urlEnv);
}

export async function captureRedis(o: {
  endpoint: RedisEndpoint;
  storage: BackupStorage;
  prefix: string;
  id: string;
  compression: PgdrillConfig['backup']['compression'];
  level: number;
  keyring: Keyring | null;
  chunkSize: number;
  signal?: AbortSignal;
  onStored: (key: string) => void;
}): Promise<RedisSnapshot> {
  const info = (section: string) =>
    redisInfo(o.endpoint, section, { as: BackupError, signal: o.signal, hint: 'Nothing was published. Check backup.redis (host, port, password) and that redis-tools is installed' });
  const server = await info('server');
  const keyspace = parseKeyspace(await info('keyspace'));
  const connection = redisCliConnection(o.endpoint);
  const key = dataKey(o.prefix, 'daily', o.id, objectExtension('redis.rdb', o.compression, o.keyring !== null));
  const object = await encodeCommandOutput({
    command: 'redis-cli',
    args: [...connection.args, '--no-auth-warning', '--rdb', '-'],
    env: connection.env,
    scrub: connection.scrub,
    what: `redis-cli --rdb (${o.endpoint.label})`,
    key,
    store: putInto(o.storage, key, o.onStored),
    compression: o.compression,
    level: o.level,
    keyring: o.keyring,
    chunkSize: o.chunkSize,
    signal: o.signal,
  });
  const after = parseKeyspace(await info('keyspace'));
  const same = JSON.stringify(after) === JSON.stringify(keyspace);
  return { source: o.endpoint.label, redisVersion: parseRedisVersion(server), object, keyspace, ...(same ? {} : { keyspaceAfter: after }) };
}
