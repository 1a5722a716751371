import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../src/errors/index.ts';
import type { BackupStorage, CallOptions, StoredObject } from '../../src/storage/types.ts';

// The contract every BackupStorage backend must keep (restic-style shared backend tests). Each
// test works under its own random namespace, so one storage instance serves the whole suite.

export interface ConformanceTarget {
  storage: BackupStorage;
  cleanup(): Promise<void>;
  /**
   * What a failed put may leave behind without it being visible as a key: pending multipart
   * uploads (S3), temp files (folder). Must be empty after any failed put.
   */
  leftovers?(): Promise<string[]>;
}

const MiB = 1024 * 1024;

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A stream of `total` random bytes in odd-sized chunks, with the SHA-256 of what it yields; optionally fails after `failAfter` bytes. */
export function randomStream(total: number, options: { chunk?: number; failAfter?: number; error?: Error } = {}): { stream: Readable; digest(): string } {
  const hash = createHash('sha256');
  const chunkSize = options.chunk ?? 65_537;
  let digest: string | undefined;
  async function* produce(): AsyncGenerator<Buffer> {
    for (let sent = 0; sent < total; ) {
      if (options.failAfter !== undefined && sent >= options.failAfter) throw options.error ?? new Error('source failed on purpose');
      const chunk = randomBytes(Math.min(chunkSize, total - sent));
      hash.update(chunk);
      sent += chunk.length;
      yield chunk;
    }
    digest = hash.digest('hex');
  }
  return {
    stream: Readable.from(produce()),
    digest: () => {
      if (digest === undefined) throw new Error('stream not fully consumed');
      return digest;
    },
  };
}

async function listKeys(storage: BackupStorage, prefix: string, options?: CallOptions): Promise<StoredObject[]> {
  const found: StoredObject[] = [];
  for await (const item of storage.list(prefix, options)) found.push(item);
  return found;
}

export function runStorageConformance(name: string, make: () => Promise<ConformanceTarget>): void {
  describe(`BackupStorage conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let storage: BackupStorage;
    let ns: string;

    beforeAll(async () => {
      target = await make();
      storage = target.storage;
    });
    afterAll(async () => {
      await storage?.close();
      await target?.cleanup();
    });
    beforeEach(() => {
      ns = `t-${randomBytes(5).toString('hex')}/`;
    });

    async function expectNoLeftovers(): Promise<void> {
      if (target.leftovers) expect(await target.leftovers()).toEqual([]);
    }

    it('round-trips a Buffer and reports size and date', async () => {
      const data = randomBytes(1234);
      const before = Date.now();
      const put = await storage.put(`${ns}dir/one.bin`, data);
      expect(put.key).toBe(`${ns}dir/one.bin`);
      expect(put.size).toBe(1234);
      expect(put.lastModified).toBeInstanceOf(Date);
      expect(Math.abs(put.lastModified.getTime() - before)).toBeLessThan(120_000);
      expect((await readAll(await storage.get(`${ns}dir/one.bin`))).equals(data)).toBe(true);
    });

    it('round-trips an empty object and keys with spaces and non-ASCII characters', async () => {
      await storage.put(`${ns}empty`, Buffer.alloc(0));
      expect((await readAll(await storage.get(`${ns}empty`))).length).toBe(0);
      expect((await storage.head(`${ns}empty`))?.size).toBe(0);
      const key = `${ns}with space/ü-ñ/日本+%20.bin`;
      await storage.put(key, Buffer.from('unicode'));
      expect((await readAll(await storage.get(key))).toString()).toBe('unicode');
      expect((await listKeys(storage, `${ns}with space/`)).map((o) => o.key)).toEqual([key]);
    });

    it('streams a multi-MiB body intact (SHA-256), with and without contentLength', async () => {
      const total = 12 * MiB + 321;
      const first = randomStream(total);
      const put = await storage.put(`${ns}big/stream.bin`, first.stream);
      expect(put.size).toBe(total);
      const back = await readAll(await storage.get(`${ns}big/stream.bin`));
      expect(back.length).toBe(total);
      expect(sha256(back)).toBe(first.digest());

      const second = randomStream(6 * MiB + 7, { chunk: 1000 });
      const put2 = await storage.put(`${ns}big/known.bin`, second.stream, { contentLength: 6 * MiB + 7, contentType: 'application/octet-stream' });
      expect(put2.size).toBe(6 * MiB + 7);
      expect(sha256(await readAll(await storage.get(`${ns}big/known.bin`)))).toBe(second.digest());
    });

    it('head: present, missing, and a "folder" that only prefixes other keys', async () => {
      await storage.put(`${ns}h/present.txt`, Buffer.from('12345'));
      const head = await storage.head(`${ns}h/present.txt`);
      expect(head).toMatchObject({ key: `${ns}h/present.txt`, size: 5 });
      expect(head?.lastModified).toBeInstanceOf(Date);
      expect(await storage.head(`${ns}h/missing.txt`)).toBeUndefined();
      expect(await storage.head(`${ns}h`)).toBeUndefined();
    });

    it('lists by prefix in byte order, recursively, respecting prefix boundaries', async () => {
      const keys = ['a/b.x', 'a/b-1', 'a/b/c', 'a/b/d/e', 'a/bc/d', 'a-b', 'a0', 'b', 'B', 'a/é', 'a/z'];
      for (const [index, key] of keys.entries()) await storage.put(ns + key, Buffer.alloc(index + 1, 1));
      const sorted = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

      const all = await listKeys(storage, ns);
      expect(all.map((o) => o.key)).toEqual(sorted.map((k) => ns + k));
      for (const item of all) {
        expect(item.size).toBe(keys.indexOf(item.key.slice(ns.length)) + 1);
        expect(item.lastModified).toBeInstanceOf(Date);
      }
      const rel = async (prefix: string): Promise<string[]> => (await listKeys(storage, ns + prefix)).map((o) => o.key.slice(ns.length));
      expect(await rel('a/b/')).toEqual(['a/b/c', 'a/b/d/e']);
      expect(await rel('a/b')).toEqual(['a/b-1', 'a/b.x', 'a/b/c', 'a/b/d/e', 'a/bc/d']);
      expect(await rel('a/bc')).toEqual(['a/bc/d']);
      expect(await rel('a/')).toEqual(['a/b-1', 'a/b.x', 'a/b/c', 'a/b/d/e', 'a/bc/d', 'a/z', 'a/é']);
      expect(await rel('a')).toEqual(['a-b', 'a/b-1', 'a/b.x', 'a/b/c', 'a/b/d/e', 'a/bc/d', 'a/z', 'a/é', 'a0']);
      expect(await rel('a/b/d/e')).toEqual(['a/b/d/e']);
      expect(await rel('nothing/')).toEqual([]);
      expect(await rel('zz')).toEqual([]);
    });

    it('copies an object and replaces an existing target', async () => {
      await storage.put(`${ns}src.bin`, Buffer.from('source'));
      await storage.put(`${ns}other/dst.bin`, Buffer.from('old target, longer'));
      const copied = await storage.copy(`${ns}src.bin`, `${ns}other/dst.bin`);
      expect(copied).toMatchObject({ key: `${ns}other/dst.bin`, size: 6 });
      expect((await readAll(await storage.get(`${ns}other/dst.bin`))).toString()).toBe('source');
      expect((await readAll(await storage.get(`${ns}src.bin`))).toString()).toBe('source');
      expect(await storage.copy(`${ns}src.bin`, `${ns}src.bin`)).toMatchObject({ key: `${ns}src.bin`, size: 6 });
      expect((await readAll(await storage.get(`${ns}src.bin`))).toString()).toBe('source');
      await storage.copy(`${ns}src.bin`, `${ns}new/deep/dst.bin`);
      expect((await storage.head(`${ns}new/deep/dst.bin`))?.size).toBe(6);

      const error = await storage.copy(`${ns}absent.bin`, `${ns}x.bin`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as Error).message).toContain(`${ns}absent.bin`);
      expect(await storage.head(`${ns}x.bin`)).toBeUndefined();
      await expectNoLeftovers();
    });

    it('deletes idempotently, many keys at once, and leaves other keys alone', async () => {
      const keys = Array.from({ length: 60 }, (_, i) => `${ns}del/${String(i).padStart(3, '0')}.bin`);
      await Promise.all(keys.map((key) => storage.put(key, Buffer.from(key))));
      await storage.put(`${ns}keep.bin`, Buffer.from('keep'));
      expect(await listKeys(storage, `${ns}del/`)).toHaveLength(60);

      await storage.delete([...keys, `${ns}never-existed.bin`, keys[0]!]);
      expect(await listKeys(storage, `${ns}del/`)).toEqual([]);
      expect(await storage.head(keys[5]!)).toBeUndefined();
      await storage.delete(keys); // again: missing keys are not an error
      await storage.delete([]);
      expect((await storage.head(`${ns}keep.bin`))?.size).toBe(4);
    });

    it('get of a missing key throws StorageError naming the key', async () => {
      const error = await storage.get(`${ns}no/such/key.bin`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).exitCode).toBe(2);
      expect((error as Error).message).toContain(`${ns}no/such/key.bin`);
      expect((error as Error).message).toContain(storage.location);
    });

    it('a missing object is reported by code NOT_FOUND on get and copy, never only by message text', async () => {
      await storage.put(`${ns}present.bin`, Buffer.from('here'));
      const missing = [
        await storage.get(`${ns}gone/key.bin`).catch((e: unknown) => e),
        await storage.copy(`${ns}gone/key.bin`, `${ns}to.bin`).catch((e: unknown) => e),
        await storage.copy(`${ns}gone/key.bin`, `${ns}gone/key.bin`).catch((e: unknown) => e),
      ];
      for (const error of missing) {
        expect(error).toBeInstanceOf(StorageError);
        expect((error as StorageError).code).toBe('NOT_FOUND');
        expect((error as StorageError).exitCode).toBe(2);
        expect((error as Error).message).toContain(`${ns}gone/key.bin`);
      }
      // A key under an object (`present.bin/x`) is missing too, whatever the backend makes of the path.
      expect(((await storage.get(`${ns}present.bin/x`).catch((e: unknown) => e)) as StorageError).code).toBe('NOT_FOUND');
      // Other failures carry no NOT_FOUND code.
      const invalid = await storage.get(`${ns}a/../b`).catch((e: unknown) => e);
      expect(invalid).toBeInstanceOf(StorageError);
      expect((invalid as StorageError).code).toBeUndefined();
      expect(await storage.head(`${ns}to.bin`)).toBeUndefined();
    });

    it('an aborted signal ends any call with its reason; a put aborted midway leaves nothing behind', async () => {
      const reason = new Error('interrupted on purpose');
      const aborted = AbortSignal.abort(reason);
      await storage.put(`${ns}kept.bin`, Buffer.from('kept'));
      await expect(storage.put(`${ns}new.bin`, Buffer.from('x'), { signal: aborted })).rejects.toBe(reason);
      await expect(storage.get(`${ns}kept.bin`, { signal: aborted })).rejects.toBe(reason);
      await expect(storage.head(`${ns}kept.bin`, { signal: aborted })).rejects.toBe(reason);
      await expect(listKeys(storage, ns, { signal: aborted })).rejects.toBe(reason);
      await expect(storage.copy(`${ns}kept.bin`, `${ns}copy.bin`, { signal: aborted })).rejects.toBe(reason);
      await expect(storage.delete([`${ns}kept.bin`], { signal: aborted })).rejects.toBe(reason);

      // Midway through a streamed put: the source is destroyed and nothing becomes visible.
      const controller = new AbortController();
      const source = randomStream(20 * MiB, { chunk: 256 * 1024 });
      let read = 0;
      source.stream.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= 7 * MiB) controller.abort(reason);
      });
      await expect(storage.put(`${ns}midway.bin`, source.stream, { signal: controller.signal })).rejects.toBe(reason);
      expect(source.stream.destroyed).toBe(true);
      expect(await storage.head(`${ns}midway.bin`)).toBeUndefined();

      // Midway through a download: the stream fails with the reason.
      await storage.put(`${ns}big.bin`, randomBytes(4 * MiB));
      const reading = new AbortController();
      const download = await storage.get(`${ns}big.bin`, { signal: reading.signal });
      const chunks: Buffer[] = [];
      const finished = (async () => {
        for await (const chunk of download) {
          chunks.push(chunk as Buffer);
          if (chunks.length === 1) reading.abort(reason);
        }
      })();
      await expect(finished).rejects.toBe(reason);
      expect(download.destroyed).toBe(true);

      expect((await listKeys(storage, ns)).map((o) => o.key)).toEqual([`${ns}big.bin`, `${ns}kept.bin`]);
      await expectNoLeftovers();
    });

    it('overwrites: a put to an existing key replaces it', async () => {
      await storage.put(`${ns}over.bin`, Buffer.from('first version, long'));
      const second = randomStream(3 * MiB + 5);
      await storage.put(`${ns}over.bin`, second.stream);
      const back = await readAll(await storage.get(`${ns}over.bin`));
      expect(sha256(back)).toBe(second.digest());
      expect((await storage.head(`${ns}over.bin`))?.size).toBe(3 * MiB + 5);
      await storage.put(`${ns}over.bin`, Buffer.from('v3'));
      expect((await readAll(await storage.get(`${ns}over.bin`))).toString()).toBe('v3');
      expect((await listKeys(storage, ns)).map((o) => o.key)).toEqual([`${ns}over.bin`]);
    });

    it('a put whose source fails midway rethrows that error and leaves nothing under the key', async () => {
      const boom = new Error('pg_dump died');
      const source = randomStream(20 * MiB, { failAfter: 12 * MiB, error: boom });
      const error = await storage.put(`${ns}fail/new.bin`, source.stream).catch((e: unknown) => e);
      expect(error).toBe(boom);
      expect(source.stream.destroyed).toBe(true);
      expect(await storage.head(`${ns}fail/new.bin`)).toBeUndefined();
      expect(await listKeys(storage, ns)).toEqual([]);
      await expectNoLeftovers();
    });

    it('a failed overwrite keeps the previous object intact', async () => {
      const original = randomBytes(100_000);
      await storage.put(`${ns}keep/obj.bin`, original);
      const source = randomStream(20 * MiB, { failAfter: 11 * MiB });
      await expect(storage.put(`${ns}keep/obj.bin`, source.stream)).rejects.toThrow('source failed on purpose');
      expect((await readAll(await storage.get(`${ns}keep/obj.bin`))).equals(original)).toBe(true);
      expect((await listKeys(storage, ns)).map((o) => o.key)).toEqual([`${ns}keep/obj.bin`]);
      await expectNoLeftovers();
    });

    it('a put whose body does not match contentLength fails and stores nothing', async () => {
      const error = await storage.put(`${ns}len.bin`, randomStream(6 * MiB).stream, { contentLength: 6 * MiB + 1 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as Error).message).toContain('contentLength');
      const small = await storage.put(`${ns}len2.bin`, Buffer.from('abc'), { contentLength: 4 }).catch((e: unknown) => e);
      expect(small).toBeInstanceOf(StorageError);
      expect(await listKeys(storage, ns)).toEqual([]);
      await expectNoLeftovers();
    });

    it('rejects keys that are empty, absolute, or have empty, "." or ".." segments', async () => {
      for (const key of ['', '/abs/key', 'a//b', 'a/', '../escape', 'a/../../b', 'a/./b', 'nul\0byte']) {
        await expect(storage.put(key, Buffer.from('x')), `put ${JSON.stringify(key)}`).rejects.toBeInstanceOf(StorageError);
        await expect(storage.get(key), `get ${JSON.stringify(key)}`).rejects.toBeInstanceOf(StorageError);
        await expect(storage.head(key), `head ${JSON.stringify(key)}`).rejects.toBeInstanceOf(StorageError);
        await expect(storage.delete([key]), `delete ${JSON.stringify(key)}`).rejects.toBeInstanceOf(StorageError);
      }
      await expect(listKeys(storage, '../')).rejects.toBeInstanceOf(StorageError);
      await expect(listKeys(storage, '/abs')).rejects.toBeInstanceOf(StorageError);
    });

    it('a download can be abandoned part-way without blocking later calls', async () => {
      await storage.put(`${ns}partial.bin`, randomBytes(4 * MiB));
      for (let i = 0; i < 3; i++) {
        const stream = await storage.get(`${ns}partial.bin`);
        for await (const chunk of stream) {
          expect((chunk as Buffer).length).toBeGreaterThan(0);
          break; // leaving the loop destroys the stream
        }
        expect(stream.destroyed).toBe(true);
      }
      expect((await storage.head(`${ns}partial.bin`))?.size).toBe(4 * MiB);
    });

    it('location names the place without credentials', () => {
      expect(storage.location).toMatch(/^(s3|file):\/\//);
      expect(storage.location).not.toMatch(/@|secret|S3RVER/i);
    });
  });
}
