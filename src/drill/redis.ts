import type { RedisOutcome } from '../check/index.ts';
import type { BackupManifest } from '../catalog/index.ts';
import type { Keyring } from '../crypto/index.ts';
import { scratchFolder } from '../files/index.ts';
import { fetchObject } from '../restore/index.ts';
import { startRedisSandbox } from '../sandbox/index.ts';
import type { BackupStorage } from '../storage/index.ts';

/**
 * The backup's Redis snapshot, downloaded and verified, loaded into a throwaway redis-server; its
 * keyspace against the one recorded at backup time is judged by the `redis-keyspace` check. Null
 * when the backup has no snapshot; failures are the outcome's error, never thrown.
 */
export async function restoreRedis(o: {
  storage: BackupStorage;
  keyring: Keyring | null;
  manifest: BackupManifest;
  mark: (step: string, detail?: string) => void;
}): Promise<RedisOutcome | null> {
  const snapshot = o.manifest.redis;
  if (!snapshot) return null;
  const outcome: RedisOutcome = { expected: snapshot.keyspace, ...(snapshot.keyspaceAfter ? { expectedAfter: snapshot.keyspaceAfter } : {}), restored: null };
  const folder = await scratchFolder('redis');
  try {
    const fetched = await fetchObject({ storage: o.storage, manifest: o.manifest, object: snapshot.object, keyring: o.keyring, workDir: folder.path, name: 'dump.rdb' });
    const sandbox = await startRedisSandbox(fetched.path);
    try {
      outcome.restored = await sandbox.keyspace();
      outcome.serverVersion = sandbox.serverVersion;
    } finally {
      await sandbox.stop();
    }
    o.mark('redis-restored', `${snapshot.object.key} loaded into redis-server ${outcome.serverVersion}`);
  } catch (error) {
    outcome.error = (error as Error).message;
  } finally {
    await folder.remove();
  }
  return outcome;
}
