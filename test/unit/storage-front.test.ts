import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalStorage, wrapStorage, type BackupStorage } from '../../src/storage/index.ts';

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
