import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, StorageError } from '../../src/errors/index.ts';
import { createLocalStorage, findLocalLeftovers } from '../../src/storage/local.ts';
import { streamPartSize } from '../../src/storage/multipart.ts';
import { choosePartSize, createS3Storage, type S3StorageOptions } from '../../src/storage/s3.ts';
import { createStorageFromUrl } from '../../src/storage/url.ts';
import { openStorage } from '../../src/storage/from-config.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { BackupStorage } from '../../src/storage/types.ts';
import { startS3Server, type S3RequestRecord, type StartedS3Server } from '../helpers/s3.ts';
import { randomStream, readAll, runStorageConformance, sha256 } from './storage.conformance.ts';

const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Folder backend

runStorageConformance('local folder', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'pgdrill-storage-'));
  return {
    storage: createLocalStorage({ root: path.join(root, 'not-yet-created') }),
    leftovers: () => findLocalLeftovers(root),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describe('local folder backend', () => {
  let root: string;
  let storage: BackupStorage;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'pgdrill-storage-local-'));
    storage = createLocalStorage({ root });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('stores keys as nested files under the root and names it as a file:// URL', async () => {
    await storage.put('daily/2026-11-23-app.dump.enc', Buffer.from('x'));
    expect(await readdir(path.join(root, 'daily'))).toEqual(['2026-11-23-app.dump.enc']);
    expect(storage.location).toBe(pathToFileURL(root).href);
  });

  it('hides temp files of interrupted puts from list and head, and finds them as leftovers', async () => {
    await mkdir(path.join(root, 'tmpcase'), { recursive: true });
    await writeFile(path.join(root, 'tmpcase', '.obj.bin.partial-0123456789ab'), 'torn');
    await storage.put('tmpcase/real.bin', Buffer.from('ok'));
    const keys: string[] = [];
    for await (const item of storage.list('tmpcase/')) keys.push(item.key);
    expect(keys).toEqual(['tmpcase/real.bin']);
    expect(await findLocalLeftovers(root)).toEqual(['tmpcase/.obj.bin.partial-0123456789ab']);
    await expect(storage.put('tmpcase/.obj.bin.partial-0123456789ab', Buffer.from('x'))).rejects.toBeInstanceOf(StorageError);
  });

  it('writes through a temp file: the key never shows a partial object while a put is running', async () => {
    const source = randomStream(8 * MiB, { chunk: 16 * 1024 });
    const pending = storage.put('atomic/obj.bin', source.stream);
    let sawPartial = false;
    while (!(await Promise.race([pending.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2))]))) {
      const head = await storage.head('atomic/obj.bin');
      if (head && head.size !== 8 * MiB) sawPartial = true;
    }
    expect(sawPartial).toBe(false);
    expect((await storage.head('atomic/obj.bin'))?.size).toBe(8 * MiB);
  });

  it('reports filesystem failures as StorageError naming key and folder', async () => {
    await storage.put('conflict', Buffer.from('a file'));
    const error = await storage.put('conflict/child', Buffer.from('x')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain('"conflict/child"');
    expect((error as Error).message).toContain(storage.location);
  });
});

// ---------------------------------------------------------------------------------------------
// S3 backend against s3rver

describe('S3 backend (s3rver)', () => {
  let server: StartedS3Server;
  let admin: S3Client;
  const opened: BackupStorage[] = [];

  beforeAll(async () => {
    server = await startS3Server();
    admin = new S3Client({ endpoint: server.endpoint, region: server.region, credentials: server.credentials, forcePathStyle: true });
  });
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
    admin?.destroy();
    await server?.stop();
  });

  function s3(overrides: Partial<S3StorageOptions> = {}): BackupStorage {
    const storage = createS3Storage({
      bucket: server.bucket,
      prefix: `p-${randomBytes(4).toString('hex')}`,
      endpoint: server.endpoint,
      region: server.region,
      credentials: server.credentials,
      partSize: 5 * MiB,
      ...overrides,
    });
    opened.push(storage);
    return storage;
  }

  async function pendingUploads(prefix = ''): Promise<string[]> {
    const out = await admin.send(new ListMultipartUploadsCommand({ Bucket: server.bucket, Prefix: prefix }));
    return (out.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`);
  }

  const requestsSince = (mark: number, match: (r: S3RequestRecord) => boolean): S3RequestRecord[] => server.requests.slice(mark).filter(match);

  // s3rver ignores the SDK's x-amz-checksum-* headers, so WHEN_SUPPORTED passes here; pgdrill hands
  // the SDK Buffers only, so WHEN_SUPPORTED never produces aws-chunked trailers (checked below).
  for (const mode of ['WHEN_REQUIRED', 'WHEN_SUPPORTED'] as const) {
    runStorageConformance(`S3 via s3rver, checksums ${mode}`, async () => {
      const storage = s3({ requestChecksumCalculation: mode, responseChecksumValidation: mode });
      const prefix = storage.location.slice(`s3://${server.bucket}/`.length);
      return { storage, leftovers: () => pendingUploads(`${prefix}/`), cleanup: async () => {} };
    });
  }

  it('names its location s3://bucket/prefix, without endpoint or credentials', () => {
    const storage = s3({ prefix: '/backups/prod/' });
    expect(storage.location).toBe(`s3://${server.bucket}/backups/prod`);
    expect(s3({ prefix: '' }).location).toBe(`s3://${server.bucket}`);
  });

  it('keeps keys under its prefix and lists them relative to it', async () => {
    const a = s3({ prefix: 'shared/a' });
    const b = s3({ prefix: 'shared/ab' });
    await a.put('k.bin', Buffer.from('a'));
    await b.put('k.bin', Buffer.from('b'));
    const keys: string[] = [];
    for await (const item of a.list('')) keys.push(item.key);
    expect(keys).toEqual(['k.bin']);
    expect((await readAll(await b.get('k.bin'))).toString()).toBe('b');
    expect(server.requests.some((r) => r.method === 'PUT' && r.key === 'shared/a/k.bin')).toBe(true);
  });

  it('sorts a listing of up to listSortLimit keys whatever order s3rver lists in; past it streams each key after the last one yielded, and refuses one that is not', async () => {
    const keysOf = async (storage: BackupStorage, prefix: string): Promise<string[]> => {
      const keys: string[] = [];
      for await (const item of storage.list(prefix)) keys.push(item.key);
      return keys;
    };
    const prefix = `p-${randomBytes(4).toString('hex')}`;
    const small = s3({ prefix, listSortLimit: 2 });
    // Five keys listed in byte order: past the limit of 2 they stream, complete and in order.
    const ordered = ['f/1', 'f/2', 'f/3', 'f/4', 'f/5'];
    for (const key of ordered) await small.put(key, Buffer.from(key));
    expect(await keysOf(small, 'f/')).toEqual(ordered);
    // s3rver walks its folders: `q/a/b` comes before `q/a-b`, which byte order puts first. Both
    // are among the 2 held and sorted; the keys after them stream.
    const heldQuirk = ['q/a-b', 'q/a/b', 'q/c', 'q/d'];
    for (const key of heldQuirk) await small.put(key, Buffer.from(key));
    expect(await keysOf(small, 'q/')).toEqual(heldQuirk);
    // Here `r/a-b` comes after the held (and yielded) `r/a/c`: refused, naming both and the setting.
    for (const key of ['r/a-b', 'r/a/b', 'r/a/c']) await small.put(key, Buffer.from(key));
    const refused = keysOf(small, 'r/');
    await expect(refused).rejects.toThrow(/lists "r\/a-b" after "r\/a\/c", not in UTF-8 byte order, and the listing is longer than 2 keys/);
    await expect(refused).rejects.toMatchObject({ hint: expect.stringContaining('storage.s3.listSortLimit') });
    // Within the (default) limit the same listing is held and sorted.
    expect(await keysOf(s3({ prefix }), 'r/')).toEqual(['r/a-b', 'r/a/b', 'r/a/c']);
    expect(() => s3({ listSortLimit: 0 })).toThrow(/listSortLimit must be a positive integer/);
  });

  it('uploads a large stream as a multipart upload of part-sized parts', async () => {
    const storage = s3();
    const mark = server.requests.length;
    const source = randomStream(3 * 5 * MiB + 1000, { chunk: 4096 });
    const put = await storage.put('multi/big.bin', source.stream);
    expect(put.size).toBe(15 * MiB + 1000);
    const parts = requestsSince(mark, (r) => r.method === 'PUT' && r.query.has('partNumber'));
    expect(parts.map((r) => Number(r.query.get('partNumber'))).sort()).toEqual([1, 2, 3, 4]);
    expect(parts.map((r) => Number(r.headers['content-length'])).sort((x, y) => y - x)).toEqual([5 * MiB, 5 * MiB, 5 * MiB, 1000]);
    expect(requestsSince(mark, (r) => r.method === 'POST' && r.query.has('uploadId'))).toHaveLength(1);
    expect(requestsSince(mark, (r) => r.method === 'HEAD')).toHaveLength(1); // the size check
    expect(sha256(await readAll(await storage.get('multi/big.bin')))).toBe(source.digest());
    expect(await pendingUploads()).toEqual([]);
  });

  it('sends small bodies as one PutObject', async () => {
    const storage = s3();
    const mark = server.requests.length;
    await storage.put('small.bin', randomStream(100_000).stream);
    expect(requestsSince(mark, (r) => r.method === 'PUT').map((r) => r.query.get('x-id'))).toEqual(['PutObject']);
  });

  it('checksum modes: WHEN_REQUIRED sends no checksum headers; WHEN_SUPPORTED sends CRC32 headers, never aws-chunked', async () => {
    const checksumHeaders = (r: S3RequestRecord): string[] => Object.keys(r.headers).filter((h) => h.startsWith('x-amz-checksum') || h === 'x-amz-trailer');
    for (const mode of ['WHEN_REQUIRED', 'WHEN_SUPPORTED'] as const) {
      const storage = s3({ requestChecksumCalculation: mode, responseChecksumValidation: mode });
      const mark = server.requests.length;
      await storage.put('c/small.bin', Buffer.from('tiny'));
      await storage.put('c/multi.bin', randomStream(11 * MiB).stream);
      const uploads = requestsSince(mark, (r) => r.method === 'PUT');
      expect(uploads.length).toBe(4); // PutObject + 3 UploadPart
      for (const r of uploads) {
        expect(String(r.headers['content-encoding'] ?? '')).not.toContain('aws-chunked');
        expect(String(r.headers['x-amz-content-sha256'] ?? '')).not.toMatch(/STREAMING/);
        if (mode === 'WHEN_REQUIRED') expect(checksumHeaders(r)).toEqual([]);
        else expect(checksumHeaders(r)).toContain('x-amz-checksum-crc32');
      }
    }
    // The default follows the endpoint: a custom endpoint means WHEN_REQUIRED.
    const byDefault = s3();
    const mark = server.requests.length;
    await byDefault.put('c/default.bin', Buffer.from('x'));
    expect(requestsSince(mark, (r) => r.method === 'PUT').flatMap(checksumHeaders)).toEqual([]);
  });

  it('aborts the multipart upload when a part upload fails', async () => {
    const storage = s3();
    const clear = server.intercept((r) => r.method === 'PUT' && r.query.get('partNumber') === '2', { error: { status: 403, code: 'AccessDenied', message: 'Access Denied' } });
    try {
      const mark = server.requests.length;
      const error = await storage.put('abort/part-fails.bin', randomStream(16 * MiB).stream).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as Error).message).toContain('"abort/part-fails.bin"');
      expect((error as Error).message).toContain('AccessDenied');
      expect((error as StorageError).hint).toMatch(/credentials/);
      expect(requestsSince(mark, (r) => r.method === 'DELETE' && r.query.has('uploadId')).length).toBeGreaterThanOrEqual(1);
      expect(await pendingUploads()).toEqual([]);
      expect(await server.pendingUploads()).toEqual([]);
      expect(await storage.head('abort/part-fails.bin')).toBeUndefined();
    } finally {
      clear();
    }
  });

  it('aborts the multipart upload again when the first abort fails', async () => {
    const storage = s3();
    const clearPart = server.intercept((r) => r.method === 'PUT' && r.query.get('partNumber') === '3', { error: { status: 400, code: 'InvalidPart', message: 'injected' } });
    // The first AbortMultipartUpload fails; a second one must follow.
    const clearAbort = server.intercept((r) => r.method === 'DELETE' && r.query.has('uploadId'), { error: { status: 403, code: 'AccessDenied', message: 'injected' } }, 1);
    try {
      const mark = server.requests.length;
      await expect(storage.put('abort/abort-fails.bin', randomStream(16 * MiB).stream)).rejects.toBeInstanceOf(StorageError);
      expect(requestsSince(mark, (r) => r.method === 'DELETE' && r.query.has('uploadId'))).toHaveLength(2);
      expect(await pendingUploads()).toEqual([]);
    } finally {
      clearPart();
      clearAbort();
    }
  });

  it('reports a stray multipart upload it could not abort, with the lifecycle-rule hint', async () => {
    const storage = s3();
    const clearPart = server.intercept((r) => r.method === 'PUT' && r.query.get('partNumber') === '2', { error: { status: 400, code: 'InvalidPart', message: 'injected' } });
    const clearAbort = server.intercept((r) => r.method === 'DELETE' && r.query.has('uploadId'), { error: { status: 403, code: 'AccessDenied', message: 'injected' } });
    try {
      const error = await storage.put('abort/stuck.bin', randomStream(12 * MiB).stream).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as Error).message).toMatch(/multipart upload [0-9a-f]+ may remain/);
      expect((error as StorageError).hint).toContain('AbortIncompleteMultipartUpload');
      expect(await pendingUploads()).toHaveLength(1);
    } finally {
      clearPart();
      clearAbort();
    }
    for (const upload of await server.pendingUploads()) await rm(path.join(server.directory, server.bucket, '._S3rver_uploads', upload.uploadId), { recursive: true });
  });

  it('verifies the stored size with HeadObject and deletes a mismatching object', async () => {
    const storage = s3();
    const clear = server.intercept((r) => r.method === 'HEAD' && r.key.endsWith('/verify/obj.bin'), { responseHeaders: { 'content-length': '7' } }, 1);
    try {
      const error = await storage.put('verify/obj.bin', randomBytes(1000)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as Error).message).toContain('sent 1000 bytes but the stored object has 7');
      expect(await storage.head('verify/obj.bin')).toBeUndefined();
    } finally {
      clear();
    }
  });

  it('deletes in DeleteObjects batches of at most 1000 keys', async () => {
    const storage = s3();
    const keys = Array.from({ length: 1001 }, (_, i) => `batch/${String(i).padStart(4, '0')}`);
    await storage.put(keys[0]!, Buffer.from('first'));
    await storage.put(keys[1000]!, Buffer.from('last'));
    const mark = server.requests.length;
    await storage.delete(keys);
    const batches = requestsSince(mark, (r) => r.method === 'POST' && r.query.has('delete'));
    expect(batches).toHaveLength(2);
    expect(await storage.head(keys[0]!)).toBeUndefined();
    expect(await storage.head(keys[1000]!)).toBeUndefined();
  });

  it('falls back to DeleteObject when the service rejects DeleteObjects', async () => {
    const storage = s3();
    await storage.put('fallback/a', Buffer.from('a'));
    await storage.put('fallback/b', Buffer.from('b'));
    const clear = server.intercept((r) => r.method === 'POST' && r.query.has('delete'), { error: { status: 501, code: 'NotImplemented', message: 'injected' } });
    try {
      const mark = server.requests.length;
      await storage.delete(['fallback/a', 'fallback/b', 'fallback/missing']);
      // Distinct keys: s3rver can answer a concurrent DeleteObject with a 500 (it prunes empty
      // folders racily), which the SDK then retries.
      const deleted = new Set(requestsSince(mark, (r) => r.method === 'DELETE' && !r.query.has('uploadId')).map((r) => r.key.split('/').slice(1).join('/')));
      expect([...deleted].sort()).toEqual(['fallback/a', 'fallback/b', 'fallback/missing']);
      expect(await storage.head('fallback/a')).toBeUndefined();
      expect(await storage.head('fallback/b')).toBeUndefined();
      const again = server.requests.length;
      await storage.delete(['fallback/c']);
      expect(requestsSince(again, (r) => r.method === 'POST')).toHaveLength(0); // remembered
    } finally {
      clear();
    }
  });

  it('maps a missing bucket to StorageError with a bucket hint', async () => {
    const storage = s3({ bucket: 'no-such-bucket-here' });
    const error = await (async () => {
      for await (const _ of storage.list('')) void _;
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain('NoSuchBucket');
    expect((error as StorageError).hint).toContain('no-such-bucket-here');
    await expect(storage.put('x', Buffer.from('x'))).rejects.toThrow(/NoSuchBucket/);
  });

  it('maps a refused connection to StorageError naming the endpoint, never the credentials', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const storage = s3({ endpoint: `http://127.0.0.1:${port}`, credentials: { accessKeyId: 'AKIDSECRETID', secretAccessKey: 'very-secret-key' } });
    const error = await storage.head('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    const text = `${(error as Error).message}`;
    expect(text).toContain(`127.0.0.1:${port}`);
    expect(text).toContain('ECONNREFUSED');
    expect((error as StorageError).hint).toContain('S3_ENDPOINT');
    expect(text).not.toMatch(/very-secret-key|AKIDSECRETID/);
  });

  it('rejects invalid options with ConfigError', () => {
    expect(() => s3({ partSize: MiB })).toThrow(ConfigError);
    expect(() => s3({ queueSize: 0 })).toThrow(ConfigError);
    expect(() => s3({ bucket: '' })).toThrow(ConfigError);
    expect(() => s3({ region: '' })).toThrow(ConfigError);
  });

  it('chooses the part size from contentLength so that at most 10,000 parts are needed', () => {
    expect(choosePartSize(16 * MiB, undefined)).toBe(16 * MiB);
    expect(choosePartSize(16 * MiB, 100 * MiB)).toBe(16 * MiB);
    expect(choosePartSize(16 * MiB, 10_000 * 16 * MiB)).toBe(16 * MiB);
    const big = 10_000 * 16 * MiB + 1;
    const size = choosePartSize(16 * MiB, big);
    expect(size).toBe(17 * MiB);
    expect(Math.ceil(big / size)).toBeLessThanOrEqual(10_000);
    expect(choosePartSize(5 * MiB, 1024 ** 4)).toBe(105 * MiB); // 1 TiB
  });

  it('a stream of unknown length doubles its part size every 1,000 parts, so 10,000 parts hold S3\'s 5 TiB object', () => {
    expect(streamPartSize(8 * MiB, 1)).toBe(8 * MiB);
    expect(streamPartSize(8 * MiB, 1000)).toBe(8 * MiB);
    expect(streamPartSize(8 * MiB, 1001)).toBe(16 * MiB);
    expect(streamPartSize(8 * MiB, 10_000)).toBe(4096 * MiB);
    expect(streamPartSize(64 * MiB, 10_000)).toBe(5120 * MiB); // S3's largest part
    let total = 0;
    for (let part = 1; part <= 10_000; part++) total += streamPartSize(8 * MiB, part);
    expect(total).toBeGreaterThanOrEqual(5 * 1024 ** 4);
  });
});

// ---------------------------------------------------------------------------------------------
// S3 timeouts and interrupts. A real TCP server stands in for a broken S3 endpoint (a fault
// s3rver cannot produce on demand): it accepts connections and reads requests but never answers,
// or (stallBody) answers a GET with headers and the first bytes of the body, then goes silent.

interface BrokenEndpoint {
  endpoint: string;
  host: string;
  stop(): Promise<void>;
}

async function startBrokenEndpoint(mode: 'silent' | 'stallBody'): Promise<BrokenEndpoint> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', () => {
      if (mode === 'stallBody') {
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\nETag: "stalled"\r\n\r\n');
        socket.write(Buffer.alloc(1000, 7));
      }
    });
    socket.resume(); // read whatever is sent, answer nothing (more)
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('S3 backend: timeouts and interrupts', () => {
  const opened: BackupStorage[] = [];
  const endpoints: BrokenEndpoint[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await Promise.all(endpoints.map((e) => e.stop()));
  });

  async function broken(mode: 'silent' | 'stallBody'): Promise<BrokenEndpoint> {
    const endpoint = await startBrokenEndpoint(mode);
    endpoints.push(endpoint);
    return endpoint;
  }

  function s3At(endpoint: string, overrides: Partial<S3StorageOptions> = {}): BackupStorage {
    const storage = createS3Storage({ bucket: 'bucket', prefix: 'p', endpoint, region: 'us-east-1', credentials: { accessKeyId: 'id', secretAccessKey: 'secret' }, ...overrides });
    opened.push(storage);
    return storage;
  }

  /** Runs `call`, returning its error and how long it took. */
  async function timed(call: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
    const started = Date.now();
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    return { error, ms: Date.now() - started };
  }

  it('put, get, head and list against an endpoint that never answers fail after the request timeout with a TIMEOUT StorageError naming endpoint and timeout', async () => {
    const silent = await broken('silent');
    const timeoutMs = 400;
    const storage = s3At(silent.endpoint, { requestTimeoutMs: timeoutMs });
    const calls: Record<string, () => Promise<unknown>> = {
      put: () => storage.put('daily/x.dump', Buffer.from('data')),
      get: async () => readAll(await storage.get('daily/x.dump')),
      head: () => storage.head('daily/x.dump'),
      list: async () => {
        for await (const _ of storage.list('daily/')) void _;
      },
    };
    const results = await Promise.all(Object.entries(calls).map(async ([name, call]) => ({ name, ...(await timed(call)) })));
    for (const { name, error, ms } of results) {
      expect(error, name).toBeInstanceOf(StorageError);
      const storageError = error as StorageError;
      expect(storageError.exitCode, name).toBe(2);
      expect(storageError.code, name).toBe('TIMEOUT');
      expect(storageError.message, name).toContain(`${name} "daily/`);
      expect(storageError.message, name).toContain(silent.host);
      expect(storageError.message, name).toContain(`${timeoutMs} ms`);
      expect(storageError.message, name).toContain('S3_REQUEST_TIMEOUT_MS');
      expect(storageError.message, name).not.toContain('secret');
      // Each of the SDK's 3 attempts waits one timeout; backoff and a busy machine add a little.
      expect(ms, name).toBeGreaterThanOrEqual(timeoutMs);
      expect(ms, name).toBeLessThan(3 * timeoutMs + 4000);
    }
  });

  it('takes its timeouts from S3_REQUEST_TIMEOUT_MS through the configuration', async () => {
    const silent = await broken('silent');
    const env = { PGDRILL_STORAGE: 's3://bucket/p', S3_ENDPOINT: silent.endpoint, S3_ACCESS_KEY: 'id', S3_SECRET_KEY: 'secret', S3_REQUEST_TIMEOUT_MS: '300' };
    const storage = openStorage(await loadConfig({ env, cwd: tmpdir() }));
    opened.push(storage);
    const error = await storage.head('x').catch((e: unknown) => e);
    expect((error as StorageError).code).toBe('TIMEOUT');
    expect((error as Error).message).toContain('within 300 ms');
  });

  it('a download whose body stalls fails after the request timeout; the bytes so far are not taken for the object', async () => {
    const stalled = await broken('stallBody');
    const storage = s3At(stalled.endpoint, { requestTimeoutMs: 500 });
    const download = await storage.get('daily/x.dump');
    const { error, ms } = await timed(() => readAll(download));
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe('TIMEOUT');
    expect((error as Error).message).toContain(stalled.host);
    expect((error as Error).message).toContain('500 ms');
    expect(ms).toBeGreaterThanOrEqual(500);
    expect(ms).toBeLessThan(4000);
  });

  it('an abort signal ends a put, a get and a lazily opened listing against a silent endpoint within a second', async () => {
    const silent = await broken('silent');
    const reason = new Error('SIGTERM stand-in');
    // A long request timeout, so only the signal can end these calls quickly.
    const storage = s3At(silent.endpoint, { requestTimeoutMs: 60_000 });
    const abortAfter = (ms: number): AbortSignal => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(reason), ms);
      return controller.signal;
    };
    const source = randomStream(2 * MiB);
    const put = await timed(() => storage.put('daily/x.dump', source.stream, { signal: abortAfter(300) }));
    expect(put.error).toBe(reason);
    expect(put.ms).toBeLessThan(300 + 1000);
    expect(source.stream.destroyed).toBe(true);

    const get = await timed(() => storage.get('daily/x.dump', { signal: abortAfter(300) }));
    expect(get.error).toBe(reason);
    expect(get.ms).toBeLessThan(300 + 1000);

    // The storage-wide signal of a storage opened from its URL (the AWS SDK loads on this first call).
    const lazy = createStorageFromUrl('s3://bucket/p', { endpoint: silent.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'id', secretAccessKey: 'secret' }, requestTimeoutMs: 60_000 }, { signal: abortAfter(300) });
    opened.push(lazy);
    const list = await timed(async () => {
      for await (const _ of lazy.list('')) void _;
    });
    expect(list.error).toBe(reason);
    expect(list.ms).toBeLessThan(300 + 1000 + 1000); // + loading the SDK
  });

  it('a download read slowly (paused longer than the request timeout) is not cut off', async () => {
    const server = await startS3Server();
    try {
      const storage = createS3Storage({ bucket: server.bucket, prefix: 'slow', endpoint: server.endpoint, region: server.region, credentials: server.credentials, requestTimeoutMs: 300 });
      opened.push(storage);
      const data = randomBytes(8 * MiB); // far more than the socket buffers hold: the socket goes idle while the reader pauses
      await storage.put('slow/reader.bin', data);
      const download = await storage.get('slow/reader.bin');
      const chunks: Buffer[] = [];
      for await (const chunk of download) {
        chunks.push(chunk as Buffer);
        if (chunks.length === 1) await new Promise((resolve) => setTimeout(resolve, 1200));
      }
      expect(sha256(Buffer.concat(chunks))).toBe(sha256(data));
    } finally {
      await server.stop();
    }
  });
});
