import type { FileSetRecord, RedisSnapshot } from '../catalog/index.ts';
import type { PgdrillConfig } from '../config/index.ts';
import type { Keyring } from '../crypto/index.ts';
import type { BackupStorage } from '../storage/index.ts';

// File sets and Redis load only when configured: most backups are the database alone, and their
// modules (the file-set catalog, redis-cli plumbing) would be start-up cost for nothing.

/**
 * What a full backup stores besides the database: the configured file sets, then the Redis
 * snapshot. Undefined fields when they are not configured.
 */
export async function captureExtras(o: {
  config: PgdrillConfig;
  storage: BackupStorage;
  keyring: Keyring | null;
  id: string;
  level: number;
  now: () => Date;
  signal?: AbortSignal;
  onStored: (key: string) => void;
  log: (line: string) => void;
  warn?: (line: string) => void;
}): Promise<{ files?: FileSetRecord[]; redis?: RedisSnapshot }> {
  const { config } = o;
  const redisModule = config.backup.redis ? await import('./redis.ts') : undefined;
  const endpoint = redisModule?.redisSource(config);
  const format = { compression: config.backup.compression, level: o.level, keyring: o.keyring, chunkSize: config.encryption.chunkSize };
  const files =
    config.backup.files.length > 0
      ? await (await import('./file-sets.ts')).captureFileSets({ ...o, format, warn: o.warn ?? ((line) => process.stderr.write(`pgdrill: warning: ${line}\n`)) })
      : undefined;
  const redis =
    redisModule && endpoint
      ? await redisModule.captureRedis({ endpoint, storage: o.storage, prefix: config.storage.prefix, id: o.id, ...format, signal: o.signal, onStored: o.onStored })
      : undefined;
  return { ...(files ? { files } : {}), ...(redis ? { redis } : {}) };
}
