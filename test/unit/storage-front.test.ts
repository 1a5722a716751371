import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalStorage, createStorage, wrapStorage, type BackupStorage, type StorageDriver } from '../../src/storage/index.ts';

const run = promisify(execFile);

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('src/storage/index.ts stays light', () => {
  it('a folder storage opened through the index never loads the AWS SDK; the first call on an s3:// storage does', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'pgdrill-light-'));
    // A fresh Node process records every module it loads (module.registerHooks), so nothing vitest
    // itself loaded can hide or fake the result.
    const script = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ load(url, context, nextLoad) { loaded.push(url); return nextLoad(url, context); } });
      const sdk = () => loaded.filter((url) => /\\/@aws-sdk\\/|\\/@smithy\\//.test(url)).length;
      const { createStorageFromUrl } = await import(${JSON.stringify(pathToFileURL(path.resolve('src/storage/index.ts')).href)});
      const s3Options = { region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'id', secretAccessKey: 'secret' } };
      const folder = createStorageFromUrl(${JSON.stringify(root)}, s3Options);
      await folder.put('daily/a.bin', Buffer.from('hello'));
      const chunks = [];
      for await (const chunk of await folder.get('daily/a.bin')) chunks.push(chunk);
      const keys = [];
      for await (const item of folder.list('daily/')) keys.push(item.key);
      const afterFolder = sdk();
      const bucket = createStorageFromUrl('s3://bucket/prefix', s3Options);
      const afterOpeningS3 = sdk();
      await bucket.head('x').catch(() => undefined);
      const afterS3Call = sdk();
      await bucket.close();
      const sawIndex = loaded.some((url) => url.endsWith('/src/storage/index.ts'));
      console.log(JSON.stringify({ read: Buffer.concat(chunks).toString(), keys, afterFolder, afterOpeningS3, afterS3Call, sawIndex }));
    `;
    try {
      const { stdout } = await run(process.execPath, ['--input-type=module', '--disable-warning=ExperimentalWarning', '-e', script], { cwd: process.cwd(), timeout: 60_000 });
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
      expect(result).toMatchObject({ read: 'hello', keys: ['daily/a.bin'], afterFolder: 0, afterOpeningS3: 0, sawIndex: true });
      expect(result.afterS3Call).toBeGreaterThan(0); // the hook does see the SDK when it loads
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('wrapStorage', () => {
  let root: string;
  let inner: BackupStorage;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'pgdrill-wrap-'));
    inner = createLocalStorage({ root });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('overrides only the methods given and passes every other call, with its options, to the inner storage', async () => {
    let downloaded = 0;
    const counting = wrapStorage(inner, {
      async get(key, options) {
        const source = await inner.get(key, options);
        source.on('data', (chunk: Buffer) => (downloaded += chunk.length));
        return source;
      },
    });
    expect(counting.location).toBe(inner.location);
    const put = await counting.put('a/one.bin', Buffer.from('12345'), { contentLength: 5 });
    expect(put).toMatchObject({ key: 'a/one.bin', size: 5 });
    await expect(counting.put('a/two.bin', Buffer.from('123'), { contentLength: 4 })).rejects.toThrow(/contentLength/);
    expect((await readAll(await counting.get('a/one.bin'))).toString()).toBe('12345');
    expect(downloaded).toBe(5);
    expect(await counting.copy('a/one.bin', 'b/copy.bin')).toMatchObject({ size: 5 });
    expect((await counting.head('b/copy.bin'))?.size).toBe(5);
    const keys: string[] = [];
    for await (const item of counting.list('')) keys.push(item.key);
    expect(keys).toEqual(['a/one.bin', 'b/copy.bin']);
    const reason = new Error('stop');
    await expect(counting.head('a/one.bin', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await counting.delete(['a/one.bin']);
    expect(await inner.head('a/one.bin')).toBeUndefined();
    await counting.close();
  });
});

describe('listing keys that break the key rules (issue 11 item 8)', () => {
  // A FAKE driver, standing in for an S3 bucket that holds keys a folder cannot (`a/../b` is legal
  // on S3); the real case runs against s3rver in test/integration/foreign-keys.test.ts.
  const driver = (keys: string[]): StorageDriver => ({
    location: 'fake://bucket',
    sizeMismatchHint: '',
    explain: (error) => ({ detail: String(error), hint: '' }),
    async *list(prefix) {
      for (const key of keys) if (key.startsWith(prefix)) yield { key, size: 1, lastModified: new Date(0) };
    },
    put: () => Promise.reject(new Error('not used')),
    get: () => Promise.reject(new Error('not used')),
    head: () => Promise.reject(new Error('not used')),
    copy: () => Promise.reject(new Error('not used')),
    delete: () => Promise.reject(new Error('not used')),
    close: () => Promise.resolve(),
  });

  it('skips them and reports each once, however often it is listed', async () => {
    const ignored: Array<[string, string]> = [];
    const storage = createStorage(driver(['daily/..', 'daily/a.bin', 'daily/x/../../etc', 'daily/z.bin']), { onIgnoredKey: (key, reason) => ignored.push([key, reason]) });
    for (let i = 0; i < 2; i += 1) {
      const keys: string[] = [];
      for await (const item of storage.list('daily/')) keys.push(item.key);
      expect(keys).toEqual(['daily/a.bin', 'daily/z.bin']);
    }
    expect(ignored).toEqual([
      ['daily/..', "it has a '..' segment"],
      ['daily/x/../../etc', "it has a '..' segment"],
    ]);
  });
});
