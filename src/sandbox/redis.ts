import path from 'node:path';
import type { RedisKeyspace } from '../catalog/index.ts';
import { SandboxError } from '../errors/index.ts';
import { parseKeyspace, parseRedisVersion, redisInfo, startRedisServer, type RedisEndpoint } from '../redistools/index.ts';

// A throwaway redis-server that loads a restored RDB snapshot (the drill's Redis restore): bound
// to 127.0.0.1 on a free port, nothing saved, stopped with the drill (and on a signal or at exit).

export interface RedisSandbox {
  /** `INFO keyspace` of the loaded data. */
  keyspace(): Promise<RedisKeyspace>;
  serverVersion: string;
  stop(): Promise<void>;
}

/** Starts redis-server on the RDB file `rdbPath` (in a private folder it may write its config to) and waits until it has loaded it. */
export async function startRedisSandbox(rdbPath: string): Promise<RedisSandbox> {
  const endpointAt = (port: number): RedisEndpoint => ({ host: '127.0.0.1', port, tls: false, label: `redis sandbox 127.0.0.1:${port}` });
  const loaded = async (port: number) => /^loading:0/m.test(await redisInfo(endpointAt(port), 'persistence', { as: SandboxError }));
  const server = await startRedisServer({
    dir: path.dirname(rdbPath),
    label: `redis sandbox (${rdbPath})`,
    config: ['bind 127.0.0.1', 'protected-mode yes', `dbfilename ${path.basename(rdbPath)}`, 'save ""', 'appendonly no', 'loglevel warning'],
    ready: loaded,
    as: SandboxError,
    missingHint: 'Install Redis on the drill host (Debian: apt-get install redis-server)',
    timeoutMs: 120_000,
  });
  try {
    const endpoint = endpointAt(server.port);
    const serverVersion = parseRedisVersion(await redisInfo(endpoint, 'server', { as: SandboxError }));
    return { serverVersion, keyspace: async () => parseKeyspace(await redisInfo(endpoint, 'keyspace', { as: SandboxError })), stop: () => server.stop() };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
