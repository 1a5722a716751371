// File sets and Redis in the backup (issue 18), against real parts: an s3rver holding a source
// bucket beside the backup bucket, folder sources and stores, Debian's redis-server, the real CLI.
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentKey, listBackups } from '../../src/catalog/index.ts';
import { loadKeyring } from '../../src/crypto/index.ts';
import { runBackup } from '../../src/dump/index.ts';
import { StorageError } from '../../src/errors/index.ts';
import { putContent } from '../../src/files/index.ts';
import { applyRetention } from '../../src/retention/index.ts';
import { openStorage, wrapStorage } from '../../src/storage/index.ts';
import { freezeDirectory } from '../helpers/faults.ts';
import { startSourceDatabase, type SourceDatabase } from '../helpers/postgres.ts';
import { configFromEnv, filesUnder, newKeyring, runCli, tempDir } from '../helpers/pgdrill.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startS3Server, type StartedS3Server } from '../helpers/s3.ts';
import { drill } from './drill-helpers.ts';

let source: SourceDatabase;
let keys: string;

beforeAll(async () => {
  source = await startSourceDatabase({ rows: 300 });
  keys = newKeyring('k1');
  // The rows that point at uploaded files (seed 004: item images and documents by storage key).
  const client = new pg.Client({ connectionString: source.url });
  await client.connect();
  await client.query('create table public.uploads (id serial primary key, storage_key text not null)');
  await client.end();
});
afterAll(async () => {
  await source?.stop();
});

/** The file with index i: distinct content per (i, version). */
const fileBody = (i: number, version = 0) => Buffer.from(`upload ${i} version ${version} ${'x'.repeat(i % 97)}`);
const fileKey = (i: number) => `items/${String(i).padStart(4, '0')}.jpg`;

async function writeConfig(config: object): Promise<string> {
  const file = path.join(tempDir('cfg'), 'pgdrill.config.json');
  await writeFile(file, JSON.stringify(config));
  return file;
}

async function setReferences(storageKeys: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: source.url });
  await client.connect();
  try {
    await client.query('truncate public.uploads');
    await client.query('insert into public.uploads (storage_key) select unnest($1::text[])', [storageKeys]);
  } finally {
    await client.end();
  }
}

describe('file sets in the backup', () => {
  let s3: StartedS3Server;
  beforeAll(async () => {
    s3 = await startS3Server({ extraBuckets: 1 });
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('backs up 1,000 files of an S3 bucket; a second backup after 10 change stores only those 10', async () => {
    const sourceBucket = s3.extraBuckets[0]!;
    const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: s3.credentials });
    const put = (i: number, version = 0) => client.send(new PutObjectCommand({ Bucket: sourceBucket, Key: `uploads/${fileKey(i)}`, Body: fileBody(i, version) }));
    for (let i = 0; i < 1000; i += 25) await Promise.all(Array.from({ length: 25 }, (_, j) => put(i + j)));
    const config = await writeConfig({
      backup: {
        files: [{ name: 'uploads', source: `s3://${sourceBucket}/uploads`, s3: { endpoint: s3.endpoint, forcePathStyle: true, accessKeyIdEnv: 'SRC_KEY_ID', secretAccessKeyEnv: 'SRC_SECRET' } }],
      },
    });
    const env = {
      DATABASE_URL: source.url,
      PGDRILL_CONFIG: config,
      PGDRILL_STORAGE: `s3://${s3.bucket}`,
      PGDRILL_ENCRYPTION_KEYS: keys,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_ACCESS_KEY: s3.credentials.accessKeyId,
      S3_SECRET_KEY: s3.credentials.secretAccessKey,
      SRC_KEY_ID: s3.credentials.accessKeyId,
      SRC_SECRET: s3.credentials.secretAccessKey,
    };
    const contentPuts = () => s3.requests.filter((r) => r.method === 'PUT' && r.bucket === s3.bucket && r.key.startsWith('backups/content/')).map((r) => r.key);

    const first = await runCli(['backup'], env);
    expect(first.exitCode, String(first.stderr)).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^files uploads 1,000 files .* from s3://${sourceBucket}/uploads: 1,000 new content\\(s\\) stored .*, 0 unchanged$`, 'm'));
    expect(new Set(contentPuts()).size).toBe(1000);

    const changed = [3, 150, 151, 400, 512, 640, 777, 800, 901, 999];
    await Promise.all(changed.map((i) => put(i, 1)));
    const before = contentPuts().length;
    const second = await runCli(['backup'], env);
    expect(second.exitCode, String(second.stderr)).toBe(0);
    expect(second.stdout).toMatch(/^files uploads 1,000 files .*: 10 new content\(s\) stored .*, 990 unchanged$/m);
    // Only the 10 changed contents were written to the backup bucket, each under its own SHA-256.
    const written = contentPuts().slice(before);
    expect(written.sort()).toEqual(changed.map((i) => contentKey('backups', createHash('sha256').update(fileBody(i, 1)).digest('hex'), true)).sort());

    const storage = openStorage(await configFromEnv(env));
    const catalog = await listBackups(storage, 'backups');
    const newest = catalog.backups.map((b) => b.manifest).sort((a, b) => a.startedAt.localeCompare(b.startedAt)).at(-1)!;
    expect(newest.files![0]).toMatchObject({ files: 1000, contents: 1000, newContents: 10, unchanged: 990 });
    await storage.close();

    // Put back into another prefix of the source bucket (the set's endpoint and credentials).
    const restored = await runCli(['restore', '--latest', '--files', 'uploads', '--to', `s3://${sourceBucket}/restored`], env);
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    expect(restored.stdout).toMatch(/^restore OK: 1,000 files /m);
    const back = async (i: number) => Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: sourceBucket, Key: `restored/${fileKey(i)}` }))).Body!.transformToByteArray());
    expect(await back(150)).toEqual(fileBody(150, 1));
    expect(await back(152)).toEqual(fileBody(152));
    client.destroy();
  }, 480_000);
});

describe('drills over file sets and Redis', () => {
  let redis: TestRedis;
  let store: string;
  let uploads: string;
  let env: Record<string, string>;
  let config: (extra?: object) => Promise<string>;
  beforeAll(async () => {
    redis = await startRedis();
    const client = new Redis(redis.url);
    await client.mset('bull:mail:1', 'a', 'bull:mail:2', 'b', 'bull:mail:id', '2');
    await client.set('session:1', 'x', 'EX', 86_400);
    await client.select(3);
    await client.hset('bull:reports:meta', { opts: '{}' });
    client.disconnect();
    store = tempDir('store');
    uploads = tempDir('uploads');
    for (let i = 0; i < 20; i++) {
      await mkdir(path.dirname(path.join(uploads, fileKey(i))), { recursive: true });
      await writeFile(path.join(uploads, fileKey(i)), fileBody(i));
    }
    await setReferences(Array.from({ length: 20 }, (_, i) => fileKey(i)));
    config = (extra = {}) =>
      writeConfig({
        backup: { files: [{ name: 'uploads', source: uploads, referencesQuery: 'select storage_key from public.uploads' }], redis: { urlEnv: 'APP_REDIS_URL' } },
        ...extra,
      });
    env = {
      PGDRILL_STORAGE: store,
      PGDRILL_ENCRYPTION_KEYS: keys,
      PGDRILL_CANARY_PASSWORD: source.canaryPassword,
      PGDRILL_SANDBOX: 'embedded',
      APP_REDIS_URL: redis.url,
      PGDRILL_CONFIG: await config(),
    };
    const backup = await runCli(['backup'], { ...env, DATABASE_URL: source.url });
    expect(backup.exitCode, String(backup.stderr)).toBe(0);
    expect(backup.stdout).toMatch(/^redis \S+\.redis\.rdb\.zst\.enc .* \(db0 4 keys, db3 1 keys\)$/m);
    expect(backup.stdout + backup.stderr).not.toContain(redis.password);
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('a healthy backup passes: every referenced key present, the sample verifies, the Redis snapshot holds the same key counts', async () => {
    const run = await drill(env);
    expect(run.result.verdict, run.output.slice(-3000)).toBe('PASS');
    expect(run.check('file-references')).toMatchObject({ status: 'pass' });
    expect(run.check('file-references')!.summary).toMatch(/^uploads: 20 referenced key\(s\), all present; 20 of 20 stored files verified \(all\)/);
    expect(run.check('redis-keyspace')).toMatchObject({ status: 'pass' });
    expect(run.check('redis-keyspace')!.summary).toMatch(/^db0 4 of 4 keys; db3 1 of 1 keys restored into redis-server \d/);
  });

  /** A copy of the store with one stored content (of fileKey(i)) altered. */
  async function corruptContent(i: number): Promise<string> {
    const copy = tempDir('store-copy');
    await cp(store, copy, { recursive: true });
    const sha = createHash('sha256').update(fileBody(i)).digest('hex');
    const file = path.join(copy, contentKey('backups', sha, true));
    const bytes = await readFile(file);
    bytes[bytes.length - 20]! ^= 0x01;
    await writeFile(file, bytes);
    return copy;
  }

  it('a corrupted stored file is caught when the sample takes it, and by --full always', async () => {
    const copy = await corruptContent(7);
    // The sample covers every file (objects ≥ files): the altered content is among it.
    const sampled = await drill({ ...env, PGDRILL_STORAGE: copy });
    expect(sampled.result.verdict).toBe('FAIL');
    expect(sampled.check('file-references')).toMatchObject({ status: 'fail' });
    expect(sampled.check('file-references')!.summary).toContain(`1 stored file(s) missing or damaged ("${fileKey(7)}")`);
    // No sample at all: only --full looks at it.
    const noSample = { ...env, PGDRILL_STORAGE: copy, PGDRILL_CONFIG: await config({ drill: { fileSample: { objects: 0, percent: 0 } } }) };
    const unsampled = await drill(noSample);
    expect(unsampled.check('file-references')!.summary).toContain('0 of 20 stored files verified (sample)');
    const full = await drill(noSample, { full: true });
    expect(full.result.verdict).toBe('FAIL');
    expect(full.check('file-references')!.summary).toContain(`1 stored file(s) missing or damaged ("${fileKey(7)}")`);
    expect(full.check('file-references')!.summary).toContain('20 of 20 stored files verified (all)');
  }, 480_000);

  it('a row that points to a deleted file fails the drill, naming the key', async () => {
    const deletedStore = tempDir('store');
    await rm(path.join(uploads, fileKey(11)));
    try {
      const backup = await runCli(['backup'], { ...env, PGDRILL_STORAGE: deletedStore, DATABASE_URL: source.url });
      expect(backup.exitCode, String(backup.stderr)).toBe(0);
      const run = await drill({ ...env, PGDRILL_STORAGE: deletedStore });
      expect(run.result.verdict).toBe('FAIL');
      expect(run.exitCode).toBe(1);
      expect(run.check('file-references')).toMatchObject({ status: 'fail' });
      expect(run.check('file-references')!.summary).toContain(`1 referenced key(s) missing from the file manifest ("${fileKey(11)}")`);
      expect(run.result.failedChecks).toContain(run.check('file-references')!.title);
    } finally {
      await writeFile(path.join(uploads, fileKey(11)), fileBody(11));
    }
  });

  it('restore --files puts the set back: a dry run writes nothing, a non-empty target or the source needs --confirm (exit 5), a damaged content is never written (exit 4)', async () => {
    const restoreEnv = { PGDRILL_STORAGE: store, PGDRILL_ENCRYPTION_KEYS: keys, PGDRILL_CONFIG: env.PGDRILL_CONFIG };
    const restore = (to: string, ...flags: string[]) => runCli(['restore', '--latest', '--files', 'uploads', '--to', to, ...flags], restoreEnv);
    const target = tempDir('restored');

    const noTarget = await runCli(['restore', '--latest', '--files', 'uploads'], restoreEnv);
    expect(noTarget.exitCode).toBe(3);
    expect(noTarget.stderr).toContain('--files needs --to: where the files go');
    const unknown = await runCli(['restore', '--latest', '--files', 'photos', '--to', target], restoreEnv);
    expect(unknown.exitCode).toBe(3);
    expect(unknown.stderr).toMatch(/Backup \S+ has no file set "photos"/);

    const dry = await restore(target, '--dry-run');
    expect(dry.exitCode, String(dry.stderr)).toBe(0);
    expect(dry.stdout).toContain('dry run: 20 of 20 stored contents present; nothing was written');
    expect(await filesUnder(target)).toEqual([]);

    const restored = await restore(target);
    expect(restored.exitCode, String(restored.stderr)).toBe(0);
    expect(restored.stdout).toMatch(/^restore OK: 20 files \(.*\) of "uploads" from \S+ into /m);
    const keysWritten = await filesUnder(target);
    expect(keysWritten).toEqual(Array.from({ length: 20 }, (_, i) => fileKey(i)));
    for (const key of keysWritten) expect(await readFile(path.join(target, key))).toEqual(await readFile(path.join(uploads, key)));

    const again = await restore(target);
    expect(again.exitCode).toBe(5);
    expect(again.stderr).toMatch(/Refusing to restore into \S+: the target \S+ is not empty \(it holds "items\/0000\.jpg", …\)/);
    expect((await restore(target, '--confirm')).exitCode).toBe(0);
    const ontoSource = await restore(uploads);
    expect(ontoSource.exitCode).toBe(5);
    expect(ontoSource.stderr).toContain("the target is the file set's own source");

    const damaged = await corruptContent(7);
    const fresh = tempDir('restored');
    const broken = await runCli(['restore', '--latest', '--files', 'uploads', '--to', fresh], { ...restoreEnv, PGDRILL_STORAGE: damaged });
    expect(broken.exitCode, String(broken.stderr)).toBe(4);
    expect(broken.stderr, String(broken.stderr)).toContain(`stored content of "${fileKey(7)}"`);
    expect(await filesUnder(fresh)).not.toContain(fileKey(7));
  });
});

describe('retention of stored file contents', () => {
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');
  const day = (d: number) => new Date(Date.UTC(2026, 2, d, 1));

  /** A folder store with a folder file set; backups and prunes at fixed dates in March 2026. */
  async function contentStore(retention: object) {
    const dir = tempDir('store');
    const uploads = tempDir('uploads');
    const config = await configFromEnv(
      { DATABASE_URL: source.url, PGDRILL_STORAGE: dir, PGDRILL_ENCRYPTION_KEYS: keys },
      { backup: { files: [{ name: 'uploads', source: uploads }] }, retention: { monthly: 0, ...retention } },
    );
    const storage = openStorage(config);
    const keyring = loadKeyring(config, 'write');
    const stored = (text: string) => path.join(dir, contentKey('backups', sha(text), true));
    return {
      dir,
      config,
      storage,
      keyring,
      stored,
      exists: (text: string) => readFile(stored(text)).then(() => true, () => false),
      /** Contents stored long before the backups that refer to them (the grace period does not protect them). */
      age: async (...texts: string[]) => {
        for (const text of texts) await utimes(stored(text), day(1), day(1));
      },
      backupWith: async (d: number, files: Record<string, string>, on = storage) => {
        await rm(uploads, { recursive: true, force: true });
        await mkdir(uploads);
        for (const [name, text] of Object.entries(files)) await writeFile(path.join(uploads, name), text);
        return (await runBackup({ config, storage: on, keyring, now: () => day(d) })).manifest;
      },
      prune: (d: number, on = storage) =>
        applyRetention({ storage: on, prefix: 'backups', policy: config.retention, now: new Date(day(d).getTime() + 12 * 3_600_000), orphanGraceHours: 24, keyring: () => keyring }),
    };
  }

  it('removes a stored content only when the last manifest referring to it goes', async () => {
    const { storage, exists, age, backupWith, prune } = await contentStore({ daily: 2 });
    await backupWith(10, { 'a.txt': 'A', 'b.txt': 'B', 'c.txt': 'C' });
    await backupWith(11, { 'a.txt': 'A', 'b.txt': 'B', 'd.txt': 'D' });
    await age('A', 'B', 'C', 'D');
    // Two dailies kept: nothing expires, nothing is swept.
    expect((await prune(11)).contents).toMatchObject({ stored: 4, referenced: 4, swept: 0 });

    await backupWith(12, { 'a.txt': 'A', 'd.txt': 'D', 'e.txt': 'E' });
    await age('E');
    const third = await prune(12);
    // The 10th goes: C (only it referred to C) goes with it; B stays for the 11th.
    expect(third.plan.delete.map((d) => d.id)).toEqual(['2026-03-10-oslrs']);
    expect(third.contents).toMatchObject({ stored: 5, referenced: 4, swept: 1 });
    expect(await exists('C')).toBe(false);
    expect(await Promise.all(['A', 'B', 'D', 'E'].map(exists))).toEqual([true, true, true, true]);

    await backupWith(13, { 'a.txt': 'A', 'd.txt': 'D', 'e.txt': 'E' });
    const fourth = await prune(13);
    expect(fourth.plan.delete.map((d) => d.id)).toEqual(['2026-03-11-oslrs']);
    expect(fourth.contents).toMatchObject({ referenced: 3, swept: 1 });
    expect(await exists('B')).toBe(false);
    expect(await Promise.all(['A', 'D', 'E'].map(exists))).toEqual([true, true, true]);
    expect((await listBackups(storage, 'backups')).backups.map((b) => b.manifest.id)).toEqual(['2026-03-12-oslrs', '2026-03-13-oslrs']);
    await storage.close();
  });

  it('keeps what a promoted monthly copy refers to after its daily goes; sweeps nothing while a manifest does not validate', async () => {
    const { dir, storage, exists, age, backupWith, prune } = await contentStore({ daily: 1, monthly: 3 });
    await backupWith(1, { 'a.txt': 'A', 'm.txt': 'M' });
    await prune(1); // promotes the 1st to monthly/2026-03
    await backupWith(2, { 'a.txt': 'A', 'b.txt': 'B' });
    await backupWith(3, { 'a.txt': 'A' });
    await age('A', 'M', 'B');
    // A manifest this version cannot read may refer to any content: nothing is swept.
    const future = path.join(dir, 'backups/manifests/daily/2026-03-02-oslrs-7.json');
    await writeFile(future, JSON.stringify({ formatVersion: 99 }));
    const blocked = await prune(3);
    expect(blocked.plan.delete.map((d) => d.id).sort()).toEqual(['2026-03-01-oslrs', '2026-03-02-oslrs']);
    expect(blocked.contents.swept).toBe(0);
    expect(blocked.contents.skipped).toMatch(/^1 manifest\(s\) do not validate \(backups\/manifests\/daily\/2026-03-02-oslrs-7\.json\) and may refer to stored files: no stored file is removed$/);
    expect(await Promise.all(['A', 'M', 'B'].map(exists))).toEqual([true, true, true]);

    await rm(future);
    const swept = await prune(3);
    // M: only the monthly copy (of the deleted 1st) refers to it. B: nothing does any more.
    expect(swept.contents).toMatchObject({ referenced: 2, swept: 1, examples: [path.relative(dir, path.join(dir, contentKey('backups', sha('B'), true)))] });
    expect(await Promise.all(['A', 'M', 'B'].map(exists))).toEqual([true, true, false]);
    await storage.close();
  });

  it('a sweep stopped part-way (a delete fails) removed only unreferenced contents; the next run finishes it', async () => {
    const { dir, storage, exists, age, backupWith, prune } = await contentStore({ daily: 1 });
    const gone = ['G1', 'G2', 'G3', 'G4', 'G5', 'G6'];
    await backupWith(10, Object.fromEntries(gone.map((t) => [`${t}.txt`, t])));
    await backupWith(11, { 'a.txt': 'A' });
    await age('A', ...gone);
    // A real EPERM on one content's folder: deleting it fails; the error stops retention.
    const blocked = path.dirname(path.join(dir, contentKey('backups', sha('G4'), true)));
    const thaw = await freezeDirectory(blocked);
    let error: unknown;
    try {
      error = await prune(11).catch((e: unknown) => e);
    } finally {
      await thaw();
    }
    expect(error).toBeInstanceOf(StorageError);
    expect(await exists('A')).toBe(true);
    expect(await exists('G4')).toBe(true);
    const second = await prune(11);
    expect(second.contents.referenced).toBe(1);
    expect(await Promise.all(['A', ...gone].map(exists))).toEqual([true, false, false, false, false, false, false]);
    await storage.close();
  });

  it('a content stored again by a backup running during the sweep is kept; a backup published during it stops the sweep', async () => {
    const { storage, keyring, exists, age, backupWith, prune } = await contentStore({ daily: 1 });
    await backupWith(10, { 'c.txt': 'C', 'x.txt': 'X' });
    await backupWith(11, { 'a.txt': 'A' });
    await age('A', 'C', 'X');
    // FAULT INJECTION (a stand-in for a concurrent run, timed where it matters): when the sweep
    // looks at C again before deleting it, a running backup stores C again.
    const contentC = contentKey('backups', sha('C'), true);
    let hooked = false;
    const racing = wrapStorage(storage, {
      head: async (key, options) => {
        if (!hooked && key === contentC) {
          hooked = true;
          await putContent({ storage, prefix: 'backups', keyring, chunkSize: 65_536 }, sha('C'), Buffer.from('C'));
        }
        return storage.head(key, options);
      },
    });
    const kept = await prune(11, racing);
    expect(kept.contents).toMatchObject({ swept: 1, young: 1 });
    expect(await exists('C')).toBe(true);
    expect(await exists('X')).toBe(false);

    // Now a whole backup is published while the sweep looks: it stops before deleting anything.
    await backupWith(12, { 'a.txt': 'A' });
    await age('C');
    hooked = false;
    const publishing = wrapStorage(storage, {
      head: async (key, options) => {
        if (!hooked && key === contentC) {
          hooked = true;
          await backupWith(12, { 'a.txt': 'A', 'c2.txt': 'C' });
        }
        return storage.head(key, options);
      },
    });
    const stopped = await prune(12, publishing);
    expect(stopped.contents.swept).toBe(0);
    expect(stopped.contents.skipped).toMatch(/^backup backups\/manifests\/daily\/2026-03-12-oslrs-2\.json was published while stored files were being swept: it may refer to them, so the rest is left for the next run$/);
    expect(await exists('C')).toBe(true);
    await storage.close();
  });
});
