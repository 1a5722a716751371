// A real Redis for tests: Debian's redis-server on 127.0.0.1, a free port, a password, its own
// folder; stop() kills it and removes the folder.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { freePort } from '../../src/lifecycle/index.ts';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { Redis } from 'ioredis';

export interface TestRedis {
  /** redis://:password@127.0.0.1:port */
  url: string;
  port: number;
  password: string;
  stop(): Promise<void>;
}


export async function startRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(path.join(process.env.PGDRILL_TEST_TMP ?? os.tmpdir(), 'pgdrill-redis-'));
  const port = await freePort();
  const password = randomBytes(16).toString('hex');
  const conf = path.join(dir, 'redis.conf');
  await writeFile(conf, `bind 127.0.0.1\nport ${port}\nrequirepass ${password}\ndir ${dir}\nsave ""\nappendonly no\n`);
  const child = execa('redis-server', [conf], { stdio: 'ignore', reject: false });
  const client = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => {});
  for (let i = 0; ; i++) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (error) {
      client.disconnect();
      if (i > 100) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  client.disconnect();
  return {
    url: `redis://:${password}@127.0.0.1:${port}`,
    port,
    password,
    async stop() {
      child.kill('SIGKILL');
      await child;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
