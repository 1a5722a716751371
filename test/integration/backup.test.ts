import { readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKeyring } from '../../src/crypto/index.ts';
import { runBackup } from '../../src/dump/index.ts';
import { BackupManifest, listBackups } from '../../src/catalog/index.ts';
import { InterruptedError, StorageError } from '../../src/errors/index.ts';
import { describeConnection, parseDatabaseUrl } from '../../src/pgtools/index.ts';
import { fetchBackup } from '../../src/restore/index.ts';
import { applyRetention } from '../../src/retention/index.ts';
import { openStorage, wrapStorage } from '../../src/storage/index.ts';
import { startSourceDatabase, type SourceDatabase } from '../helpers/postgres.ts';
import { freezeDirectory, waitFor } from '../helpers/faults.ts';
import { configFromEnv, filesUnder, newKeyring, runCli, startCli, tempDir } from '../helpers/pgdrill.ts';
import { startS3Server, type S3RequestRecord, type StartedS3Server } from '../helpers/s3.ts';

let source: SourceDatabase;
let keys: string;

beforeAll(async () => {
  source = await startSourceDatabase({ rows: 3000 });
  keys = newKeyring('k1');
});
afterAll(async () => {
  await source?.stop();
});

const env = (storage: string, extra: Record<string, string> = {}) => ({
  DATABASE_URL: source.url,
  PGDRILL_STORAGE: storage,
  PGDRILL_ENCRYPTION_KEYS: keys,
  ...extra,
});

/** The environment that points the CLI (or configFromEnv) at an s3rver bucket. */
const s3Env = (s3: StartedS3Server) =>
  env(`s3://${s3.bucket}`, { S3_ENDPOINT: s3.endpoint, S3_REGION: s3.region, S3_ACCESS_KEY: s3.credentials.accessKeyId, S3_SECRET_KEY: s3.credentials.secretAccessKey });

/** A config file for settings that have no environment variable; its path for PGDRILL_CONFIG. */
async function configFile(config: object): Promise<string> {
  const file = path.join(tempDir('cfg'), 'pgdrill.config.json');
  await writeFile(file, JSON.stringify(config));
  return file;
}

/** A request on the dump object of a daily backup (uncompressed or zstd, encrypted). */
const isDumpObject = (r: S3RequestRecord) => /^backups\/daily\/[^/]+\.dump(\.zst)?\.enc$/.test(r.key);

/** Objects stored in the s3rver bucket (multipart uploads in progress are not objects). */
async function objectsIn(s3: StartedS3Server): Promise<string[]> {
  return (await filesUnder(path.join(s3.directory, s3.bucket))).filter((f) => f.endsWith('._S3rver_object'));
}

/**
 * The dump's multipart upload was really started (CreateMultipartUpload, then parts under its
 * upload id) and then aborted (AbortMultipartUpload for that id); no upload is left pending.
 */
async function expectMultipartUploadAborted(s3: StartedS3Server): Promise<void> {
  const dump = s3.requests.filter(isDumpObject);
  expect(dump.filter((r) => r.method === 'POST' && r.query.has('uploads'))).toHaveLength(1);
  const uploadIds = new Set(dump.filter((r) => r.method === 'PUT' && r.query.has('partNumber')).map((r) => r.query.get('uploadId')));
  expect(uploadIds.size).toBe(1);
  const [uploadId] = uploadIds;
  expect(dump.some((r) => r.method === 'DELETE' && r.query.get('uploadId') === uploadId)).toBe(true);
  expect(await s3.pendingUploads()).toEqual([]);
}

describe('backup round trip', () => {
  it('into a folder: the restored plaintext hashes to the manifest, counts match the fixture', async () => {
    const config = await configFromEnv(env(tempDir('store')));
    const storage = openStorage(config);
    const { manifest } = await runBackup({ config, storage, keyring: loadKeyring(config, 'write') });
    expect(manifest.encryption).toMatchObject({ algorithm: 'aes-256-gcm-stream-v1', keyId: 'k1' });
    expect(manifest.objects.dump.key).toBe(`backups/daily/${manifest.id}.dump.zst.enc`);
    const fetched = await fetchBackup({ storage, manifest, keyring: loadKeyring(config, 'read') });
    try {
      const listing = await execa('pg_restore', ['--list', fetched.dumpPath]);
      expect(listing.stdout).toContain('TABLE DATA public respondents');
    } finally {
      await fetched.cleanup();
    }
    const counts = Object.fromEntries(manifest.tables.map((t) => [`${t.schema}.${t.name}`, t.rows]));
    expect(counts['public.respondents']).toBe(source.summary.tables['public.respondents']);
    expect(counts['public.audit_logs']).toBe(source.summary.tables['public.audit_logs']);
    expect(manifest.auditChain).toMatchObject({ table: 'public.audit_logs', lastId: String(source.summary.auditChainHead.id), lastHash: source.summary.auditChainHead.hash });
    expect(manifest.roles.map((r) => r.name)).toEqual(expect.arrayContaining(['super_admin', 'public_user', 'oslrs_app']));
    expect(manifest.rolePasswords).toBe(true);
    await storage.close();
  });

  it('into S3 (s3rver on 127.0.0.1) with gzip and plain SQL: round trip to the exact plaintext SHA-256', async () => {
    const s3: StartedS3Server = await startS3Server();
    try {
      const config = await configFromEnv(
        env(`s3://${s3.bucket}/pgdrill`, {
          S3_ENDPOINT: s3.endpoint,
          S3_REGION: s3.region,
          S3_ACCESS_KEY: s3.credentials.accessKeyId,
          S3_SECRET_KEY: s3.credentials.secretAccessKey,
        }),
        { backup: { format: 'plain', compression: 'gzip' } },
      );
      const storage = openStorage(config);
      const { manifest } = await runBackup({ config, storage, keyring: loadKeyring(config, 'write') });
      expect(manifest.objects.dump.key).toMatch(/\.sql\.gz\.enc$/);
      const catalog = await listBackups(storage, 'backups');
      expect(catalog.backups.map((b) => b.manifest.id)).toContain(manifest.id);
      const fetched = await fetchBackup({ storage, manifest, keyring: loadKeyring(config, 'read') });
      const sql = await readFile(fetched.dumpPath, 'utf8');
      expect(sql).toContain('PostgreSQL database dump complete');
      await fetched.cleanup();
      expect(await s3.pendingUploads()).toEqual([]);
      await storage.close();
    } finally {
      await s3.stop();
    }
  });

  it('CLI --json prints a manifest that validates; no secret in any output or stored manifest', async () => {
    const dir = tempDir('store');
    const result = await runCli(['backup', '--json'], env(dir));
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const manifest = BackupManifest.parse(JSON.parse(String(result.stdout)));
    const stored = await readFile(path.join(dir, 'backups/manifests/daily', `${manifest.id}.json`), 'utf8');
    const password = new URL(source.url).password;
    for (const text of [String(result.stdout), String(result.stderr), stored]) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(keys.split(':')[1]);
    }
  });

  it('two backups on one day never overwrite each other', async () => {
    const dir = tempDir('store');
    const first = await runCli(['backup', '--json', '--no-prune'], env(dir));
    const second = await runCli(['backup', '--json', '--no-prune'], env(dir));
    const ids = [first, second].map((r) => (JSON.parse(String(r.stdout)) as BackupManifest).id);
    expect(ids[1]).toBe(`${ids[0]}-2`);
    const manifests = (await filesUnder(dir)).filter((f) => f.startsWith('backups/manifests/daily/'));
    expect(manifests).toHaveLength(2);
    // Retention keeps the first as this month's promotion source, then supersedes it by the newer one.
    const promote = await runCli(['prune'], env(dir));
    expect(String(promote.stdout)).toContain(`keep    daily/${ids[0]}: kept: source of monthly promotion`);
    const prune = await runCli(['prune'], env(dir));
    expect(String(prune.stdout)).toContain(`delete  daily/${ids[0]}: superseded`);
  });
});

describe('snapshot consistency', () => {
  it('counts taken during concurrent writes equal what the dump contains', async () => {
    const config = await configFromEnv(env(tempDir('store')));
    const storage = openStorage(config);
    const writer = new pg.Client({ connectionString: source.url });
    await writer.connect();
    const before = Number((await writer.query('SELECT count(*) AS n FROM public.audit_logs')).rows[0].n);
    const columns = (
      await writer.query<{ list: string }>(
        `SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) AS list FROM pg_attribute
          WHERE attrelid = 'public.respondents'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' AND attidentity = ''`,
      )
    ).rows[0]!.list;
    let writing = true;
    let written = 0;
    const writes = (async () => {
      while (writing) {
        await writer.query(
          `INSERT INTO public.respondents (${columns}) SELECT ${columns} FROM public.respondents ORDER BY id LIMIT 50`,
        );
        written += 50;
      }
    })();
    try {
      const { manifest } = await runBackup({ config, storage, keyring: loadKeyring(config, 'write') });
      writing = false;
      await writes;
      const manifestRespondents = manifest.tables.find((t) => t.schema === 'public' && t.name === 'respondents')!.rows;
      const now = Number((await writer.query('SELECT count(*) AS n FROM public.respondents')).rows[0].n);
      expect(written).toBeGreaterThan(0);
      expect(now).toBeGreaterThan(manifestRespondents); // writes landed during/after the snapshot
      // What the dump holds, counted by restoring it: exactly the manifest's figure.
      const fetched = await fetchBackup({ storage, manifest, keyring: loadKeyring(config, 'read') });
      const data = await execa('pg_restore', ['--data-only', '--table=respondents', '--file=-', fetched.dumpPath]);
      const copyBlock = data.stdout.split('\nCOPY public.respondents ')[1]!.split('\n\\.')[0]!;
      expect(copyBlock.split('\n').length - 1).toBe(manifestRespondents);
      await fetched.cleanup();
      expect(before).toBe(manifest.tables.find((t) => t.name === 'audit_logs')!.rows);
    } finally {
      writing = false;
      await writes;
      await writer.end();
      await storage.close();
    }
  });
});

describe('failures publish nothing', () => {
  /** About 57 MB of pg_dump output: big enough for a multipart upload in 5 MiB parts and to be caught mid-way. */
  let big: SourceDatabase;
  beforeAll(async () => {
    big = await startSourceDatabase({ rows: 60_000, database: 'big' });
  });
  afterAll(async () => {
    await big?.stop();
  });

  it('pg_dump failure (no permission on a table): exit 1, no manifest, no objects', async () => {
    const admin = new pg.Client({ connectionString: source.url });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS limited_backup; CREATE ROLE limited_backup LOGIN PASSWORD 'limited-pass-123'; GRANT CONNECT ON DATABASE oslrs TO limited_backup; GRANT USAGE ON SCHEMA public TO limited_backup; GRANT SELECT ON public.users TO limited_backup`);
    await admin.end();
    const url = new URL(source.url);
    url.username = 'limited_backup';
    url.password = 'limited-pass-123';
    const dir = tempDir('store');
    const result = await runCli(['backup'], { ...env(dir), DATABASE_URL: url.toString() });
    expect(result.exitCode).toBe(1);
    expect(String(result.stderr)).toMatch(/permission denied for (table|schema)/);
    expect(String(result.stderr)).not.toContain('limited-pass-123');
    expect(await filesUnder(dir)).toEqual([]);
  });

  it('pg_dumpall --roles-only failing alongside the dump: the backup fails with its error (exit 1), nothing stored', async () => {
    // A fake pg_dumpall (named as such) beside the real pg_dump: a failing globals capture cannot be produced on demand otherwise.
    const binDir = tempDir('bin');
    await symlink('/usr/lib/postgresql/15/bin/pg_dump', path.join(binDir, 'pg_dump')); // the source's major (startSourceDatabase: 15)
    await writeFile(path.join(binDir, 'pg_dumpall'), '#!/bin/sh\necho "pg_dumpall: error: injected failure (fake pg_dumpall of backup.test.ts)" >&2\nexit 1\n', { mode: 0o755 });
    const dir = tempDir('store');
    const result = await runCli(['backup'], env(dir, { PGDRILL_PG_BINDIR: binDir }));
    expect(result.exitCode, String(result.stderr)).toBe(1);
    expect(String(result.stderr)).toContain('injected failure (fake pg_dumpall of backup.test.ts)');
    expect(await filesUnder(dir)).toEqual([]);
  });

  it('storage failure mid-upload (injected S3 error on a part): exit 2, the multipart upload started and then aborted, nothing stored', async () => {
    const s3 = await startS3Server();
    try {
      // FAULT INJECTION: s3rver answers every try of the dump's second part with an InternalError.
      s3.intercept((r) => isDumpObject(r) && r.method === 'PUT' && r.query.get('partNumber') === '2', { error: { status: 500, code: 'InternalError' } });
      // About 57 MB uncompressed in 5 MiB parts: a multipart upload of 11 parts.
      const config = await configFromEnv({ ...s3Env(s3), DATABASE_URL: big.url }, { backup: { compression: 'none' }, storage: { s3: { partSizeMiB: 5 } } });
      const storage = openStorage(config);
      const error = await runBackup({ config, storage, keyring: loadKeyring(config, 'write') }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).exitCode).toBe(2);
      await expectMultipartUploadAborted(s3);
      expect((await listBackups(storage, 'backups')).backups).toEqual([]);
      expect(await objectsIn(s3)).toEqual([]);
      await storage.close();
    } finally {
      await s3.stop();
    }
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s to the CLI mid-upload to S3: exits %i, the multipart upload aborted, nothing stored', async (signal, code) => {
    const s3 = await startS3Server();
    try {
      const child = startCli(['backup', '--compression', 'none'], { ...s3Env(s3), DATABASE_URL: big.url, PGDRILL_CONFIG: await configFile({ storage: { s3: { partSizeMiB: 5 } } }) });
      // Parts 1 and 2 of 11 are on their way: the upload is well under way and far from done.
      await waitFor('the second part of the dump to be uploading', () => s3.requests.some((r) => isDumpObject(r) && r.method === 'PUT' && r.query.get('partNumber') === '2'));
      child.kill(signal);
      const result = await child;
      expect(result.exitCode, String(result.stderr)).toBe(code);
      expect(String(result.stderr)).toContain(`${signal} received`);
      await expectMultipartUploadAborted(s3);
      expect(await objectsIn(s3)).toEqual([]);
    } finally {
      await s3.stop();
    }
  });

  it('interrupted (abort signal, as on SIGINT): no manifest, no objects, exit 130', async () => {
    const dir = tempDir('store');
    const config = await configFromEnv(env(dir));
    const storage = openStorage(config);
    const controller = new AbortController();
    const run = runBackup({
      config,
      storage,
      keyring: loadKeyring(config, 'write'),
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytes > 0) controller.abort(new InterruptedError('SIGINT'));
      },
    });
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterruptedError);
    expect((error as InterruptedError).exitCode).toBe(130);
    expect(await filesUnder(dir)).toEqual([]);
  });

  it('SIGTERM to the CLI mid-backup into a folder: exits 143 and leaves nothing', async () => {
    const dir = tempDir('store');
    const child = startCli(['backup'], { ...env(dir), DATABASE_URL: big.url });
    // Wait until the dump is streaming (a partial file appears), then terminate.
    await waitFor('the dump to be streaming into the folder', async () => (await filesUnder(dir)).length > 0, 60_000, 25);
    child.kill('SIGTERM');
    const result = await child;
    expect(result.exitCode, String(result.stderr)).toBe(143);
    expect(String(result.stderr)).toContain('SIGTERM');
    expect(await filesUnder(dir)).toEqual([]);
  });

  it('two real backups of one database at once: the second is refused (exit 5) naming the lock, the first completes', async () => {
    const s3 = await startS3Server();
    try {
      // The first backup takes its lock, then its first storage call (does the backup id exist?)
      // is held by the endpoint until the second backup has run: the two surely overlap.
      let release = (): void => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      const isFirstStorageCall = (r: S3RequestRecord) => r.method === 'HEAD' && r.key.startsWith('backups/manifests/daily/');
      s3.intercept(isFirstStorageCall, { delay: held }, 1);
      const first = startCli(['backup', '--no-prune'], s3Env(s3));
      await waitFor('the first backup to wait on storage', () => s3.requests.some(isFirstStorageCall));
      const dir = tempDir('store');
      const second = await runCli(['backup', '--no-prune'], env(dir));
      release();
      const firstResult = await first;
      expect(second.exitCode, String(second.stderr)).toBe(5);
      expect(String(second.stderr)).toContain(`Another pgdrill backup of ${describeConnection(parseDatabaseUrl(source.url))} is running (advisory lock held)`);
      expect(await filesUnder(dir)).toEqual([]);
      expect(firstResult.exitCode, String(firstResult.stderr)).toBe(0);
      expect(String(firstResult.stdout)).toMatch(/^backup backups\/daily\/\S+\.dump\.zst\.enc /);
    } finally {
      await s3.stop();
    }
  });

  it('no key and no explicit opt-out is a configuration error; the opt-out is recorded', async () => {
    const dir = tempDir('store');
    const refused = await runCli(['backup'], { DATABASE_URL: source.url, PGDRILL_STORAGE: dir });
    expect(refused.exitCode).toBe(3);
    expect(String(refused.stderr)).toContain('pgdrill keys generate');
    const plain = await runCli(['backup', '--json'], { DATABASE_URL: source.url, PGDRILL_STORAGE: dir, PGDRILL_ALLOW_UNENCRYPTED: 'true' });
    expect(plain.exitCode, String(plain.stderr)).toBe(0);
    expect(JSON.parse(String(plain.stdout)).encryption).toEqual({ algorithm: 'none' });
  });
});

describe('retention against storage', () => {
  it('keeps 7 dailies and a monthly copy per month, deletes the rest manifest-first, sweeps orphans past the grace and keeps younger ones', async () => {
    const dir = tempDir('store');
    const config = await configFromEnv(env(dir));
    const storage = openStorage(config);
    const keyring = loadKeyring(config, 'write');
    // Ten daily backups from Jan 27 to Feb 5 (UTC), each followed by retention, as the CLI does.
    const days = Array.from({ length: 10 }, (_, i) => new Date(Date.UTC(2026, 0, 27 + i, 1, 0, 0)));
    const prune = (now: Date) => applyRetention({ storage, prefix: 'backups', policy: config.retention, now, orphanGraceHours: 24 });
    const outcomes = [];
    for (const day of days) {
      await runBackup({ config, storage, keyring, now: () => day });
      outcomes.push(await prune(day));
    }
    // Objects no manifest refers to, on both sides of the 24 h grace at the last prune below.
    const lastPruneAt = new Date(Date.UTC(2026, 1, 5, 12));
    const leftover = async (key: string, text: string, ageHours: number) => {
      const at = new Date(lastPruneAt.getTime() - ageHours * 3_600_000);
      await writeFile(path.join(dir, key), text);
      await utimes(path.join(dir, key), at, at);
    };
    await leftover('backups/daily/2026-02-04-oslrs-8.dump.zst.enc', 'left over by an interrupted run', 25);
    await leftover('backups/daily/2026-02-04-oslrs-9.dump.zst.enc', 'an upload still in progress', 23);
    // A manifest this version cannot read (a newer format): its data is kept for a human, never swept.
    const future = path.join(dir, 'backups/daily/2026-01-02-oslrs.dump.zst.enc');
    await writeFile(future, 'written by a newer pgdrill');
    await utimes(future, new Date('2026-01-02'), new Date('2026-01-02'));
    await writeFile(path.join(dir, 'backups/manifests/daily/2026-01-02-oslrs.json'), JSON.stringify({ formatVersion: 2, id: '2026-01-02-oslrs' }));
    const last = await prune(lastPruneAt);
    const catalog = await listBackups(storage, 'backups');
    const byTier = (tier: string) => catalog.backups.filter((b) => b.manifest.tier === tier).map((b) => b.manifest.id);
    expect(byTier('daily')).toEqual(['2026-01-30-oslrs', '2026-01-31-oslrs', '2026-02-01-oslrs', '2026-02-02-oslrs', '2026-02-03-oslrs', '2026-02-04-oslrs', '2026-02-05-oslrs']);
    expect(byTier('monthly')).toEqual(['2026-01-oslrs', '2026-02-oslrs']);
    const janCopy = catalog.backups.find((b) => b.manifest.id === '2026-01-oslrs')!.manifest;
    expect(janCopy.promotedFrom).toBe('2026-01-27-oslrs');
    const deleted = outcomes.flatMap((o) => o.plan.delete);
    expect(deleted.map((d) => d.id)).toEqual(['2026-01-27-oslrs', '2026-01-28-oslrs', '2026-01-29-oslrs']);
    expect(deleted[0]!.reasons.join(' ')).toMatch(/expired/);
    expect(last.orphans).toEqual(['backups/daily/2026-02-04-oslrs-8.dump.zst.enc']);
    const files = await filesUnder(dir);
    expect(files.some((f) => f.includes('2026-01-27-oslrs'))).toBe(false);
    expect(files).not.toContain('backups/daily/2026-02-04-oslrs-8.dump.zst.enc');
    expect(files).toContain('backups/daily/2026-02-04-oslrs-9.dump.zst.enc');
    expect(files).toContain('backups/daily/2026-01-02-oslrs.dump.zst.enc');
    expect((await listBackups(storage, 'backups')).invalid.map((i) => i.manifestKey)).toEqual(['backups/manifests/daily/2026-01-02-oslrs.json']);
    expect((await stat(path.join(dir, 'backups/monthly/2026-01-oslrs.dump.zst.enc'))).size).toBe(janCopy.objects.dump.size);
    await storage.close();
  });

  it('a data delete that fails leaves the expired backup invisible, never half there (manifest first); the leftovers are swept after the grace', async () => {
    const dir = tempDir('store');
    const config = await configFromEnv(env(dir), { retention: { daily: 1 } });
    const storage = openStorage(config);
    const keyring = loadKeyring(config, 'write');
    const prune = (now: Date) => applyRetention({ storage, prefix: 'backups', policy: config.retention, now, orphanGraceHours: 24 });
    const older = (await runBackup({ config, storage, keyring, now: () => new Date(Date.UTC(2026, 2, 3, 1)) })).manifest;
    await runBackup({ config, storage, keyring, now: () => new Date(Date.UTC(2026, 2, 4, 1)) });
    // The first prune copies the older backup to monthly/ and keeps it as the copy's source; the next one deletes it.
    await prune(new Date(Date.UTC(2026, 2, 4, 12)));
    const olderData = [older.objects.dump.key, older.objects.globals!.key].sort();
    // A real EPERM: nothing in the data folder can be deleted; the manifests folder still can.
    const thaw = await freezeDirectory(path.join(dir, 'backups/daily'));
    let error: unknown;
    try {
      error = await prune(new Date(Date.UTC(2026, 2, 4, 13))).catch((e: unknown) => e);
    } finally {
      await thaw();
    }
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).exitCode).toBe(2);
    const catalog = await listBackups(storage, 'backups');
    expect(catalog.backups.map((b) => `${b.manifest.tier}/${b.manifest.id}`).sort()).toEqual(['daily/2026-03-04-oslrs', 'monthly/2026-03-oslrs']);
    expect(catalog.invalid).toEqual([]);
    const files = await filesUnder(dir);
    expect(files).not.toContain(`backups/manifests/daily/${older.id}.json`);
    for (const key of olderData) expect(files).toContain(key);
    // Its data objects are orphans now: kept within the grace, swept after it.
    expect((await prune(new Date(Date.now() + 23 * 3_600_000))).orphans).toEqual([]);
    expect((await prune(new Date(Date.now() + 25 * 3_600_000))).orphans.sort()).toEqual(olderData);
    expect((await filesUnder(dir)).filter((f) => f.includes(older.id))).toEqual([]);
    await storage.close();
  });

  it('a partial backup never supersedes the newest full one; restore --latest picks the full one (issue 11 item 1)', async () => {
    const dir = tempDir('store');
    const backup = async (...flags: string[]): Promise<BackupManifest> => {
      const result = await runCli(['backup', '--json', ...flags], env(dir));
      expect(result.exitCode, String(result.stderr)).toBe(0);
      return BackupManifest.parse(JSON.parse(String(result.stdout)));
    };
    const lgaRows = (m: BackupManifest) => m.tables.find((t) => t.schema === 'public' && t.name === 'lgas')!.rows;
    const writer = new pg.Client({ connectionString: source.url });
    await writer.connect();
    try {
      const first = await backup();
      await writer.query(`INSERT INTO public.lgas (id, name, wards) SELECT 9000 + g, 'Inserted between backups ' || g, 1 FROM generate_series(1, 5) g`);
      const second = await backup();
      expect(lgaRows(second)).toBe(lgaRows(first) + 5);
      const partials = [await backup('--schema-only'), await backup('--tables', 'public.lgas'), await backup('--exclude-table', 'public.audit_logs')];

      const listed = await runCli(['list', '--json'], env(dir));
      expect(listed.exitCode, String(listed.stderr)).toBe(0);
      const dailies = (JSON.parse(String(listed.stdout)) as { backups: Array<{ tier: string; id: string; scope: string; series: string }> }).backups.filter((b) => b.tier === 'daily');
      // The newer full backup (with the inserted rows) survives every partial backup after it, and each partial survives in its own series.
      expect(dailies.map((b) => b.id)).toContain(second.id);
      expect(dailies.find((b) => b.id === second.id)).toMatchObject({ scope: 'full', series: 'full' });
      expect([first, second].map((m) => m.scope)).toEqual(['full', 'full']);
      expect(partials.map((m) => m.scope)).toEqual(['partial', 'partial', 'partial']);
      expect(dailies.filter((b) => b.scope === 'partial').map((b) => [b.id, b.series])).toEqual([
        [partials[0]!.id, 'partial: schema-only; exclude-table *._prisma_migrations'],
        [partials[1]!.id, 'partial: tables public.lgas; exclude-table *._prisma_migrations'],
        [partials[2]!.id, 'partial: exclude-table public.audit_logs'],
      ]);
      for (const command of [['list'], ['restore', '--list']]) {
        const text = await runCli(command, env(dir));
        expect(String(text.stdout)).toMatch(new RegExp(`${partials[0]!.id} .*partial: schema-only`));
        expect(String(text.stdout)).not.toMatch(new RegExp(`${second.id} .*partial`));
      }

      const restore = await runCli(['restore', '--latest', '--dry-run'], env(dir));
      expect(restore.exitCode, String(restore.stderr)).toBe(0);
      expect(String(restore.stdout)).toContain(`backup     daily ${second.id}  [`);
      expect(String(restore.stdout)).toMatch(new RegExp(`public\\.lgas +${lgaRows(second)} rows`));
      // A partial backup is restored only when asked for by key, and the plan says what it is.
      const byKey = await runCli(['restore', '--key', partials[0]!.id, '--dry-run'], env(dir));
      expect(byKey.exitCode, String(byKey.stderr)).toBe(0);
      expect(String(byKey.stdout)).toContain(`backup     daily ${partials[0]!.id} (partial: schema-only; exclude-table *._prisma_migrations)  [`);
    } finally {
      await writer.query('DELETE FROM public.lgas WHERE id > 9000');
      await writer.end();
    }
  });

  it('a promotion copy is read back and hashed: a damaged daily is not promoted and prune deletes nothing (exit 4)', async () => {
    const dir = tempDir('store');
    const configFile = path.join(tempDir('config'), 'pgdrill.config.json');
    await writeFile(configFile, JSON.stringify({ retention: { daily: 1 } }));
    const config = await configFromEnv(env(dir, { PGDRILL_CONFIG: configFile }));
    const storage = openStorage(config);
    // 2026-03-03 is the month's promotion source; with one daily kept, 2026-03-04 is due for deletion.
    const manifests = [];
    for (const day of [3, 4, 5]) manifests.push((await runBackup({ config, storage, keyring: loadKeyring(config, 'write'), now: () => new Date(Date.UTC(2026, 2, day, 2)) })).manifest);
    await storage.close();
    // Same size, one byte flipped: a size check cannot see it.
    const damaged = path.join(dir, manifests[0]!.objects.dump.key);
    const bytes = await readFile(damaged);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    await writeFile(damaged, bytes);
    const before = await filesUnder(dir);

    const result = await runCli(['prune'], env(dir, { PGDRILL_CONFIG: configFile }));
    expect(result.exitCode, String(result.stderr)).toBe(4);
    expect(String(result.stderr)).toContain(
      `Promotion of daily/2026-03-03-oslrs to monthly/2026-03-oslrs refused: the daily's object ${manifests[0]!.objects.dump.key} does not match its manifest`,
    );
    // Nothing deleted (2026-03-04 is still there), no monthly copy or manifest left behind.
    expect(await filesUnder(dir)).toEqual(before);
  });

  it('a promotion copy that storage corrupted is removed and stops retention before any deletion (exit 2)', async () => {
    const dir = tempDir('store');
    const config = await configFromEnv(env(dir), { retention: { daily: 1 } });
    const storage = openStorage(config);
    for (const day of [3, 4, 5]) await runBackup({ config, storage, keyring: loadKeyring(config, 'write'), now: () => new Date(Date.UTC(2026, 2, day, 2)) });
    const before = await filesUnder(dir);
    // FAULT INJECTION: a storage whose server-side copy flips a byte of what it writes (a folder
    // copies faithfully; a misbehaving object store need not). The source stays intact.
    const corrupting = wrapStorage(storage, {
      async copy(fromKey, toKey, options) {
        const copied = await storage.copy(fromKey, toKey, options);
        const file = path.join(dir, toKey);
        const bytes = await readFile(file);
        bytes[0]! ^= 0x01;
        await writeFile(file, bytes);
        return copied;
      },
    });
    const pruning = applyRetention({ storage: corrupting, prefix: 'backups', policy: config.retention, now: new Date(Date.UTC(2026, 2, 5, 12)), orphanGraceHours: 24 });
    await expect(pruning).rejects.toThrow(StorageError);
    await expect(pruning).rejects.toMatchObject({ exitCode: 2 });
    await expect(pruning).rejects.toThrow(/Promotion of daily\/2026-03-03-oslrs to monthly\/2026-03-oslrs failed: the copy backups\/monthly\/2026-03-oslrs\.dump\.zst\.enc read back does not match its source/);
    expect(await filesUnder(dir)).toEqual(before);
    await storage.close();
  });

  it('`pgdrill prune --dry-run` prints reasons and deletes nothing', async () => {
    const dir = tempDir('store');
    const config = await configFromEnv(env(dir), { retention: { daily: 1 } });
    const storage = openStorage(config);
    for (const day of [3, 4]) await runBackup({ config, storage, keyring: loadKeyring(config, 'write'), now: () => new Date(Date.UTC(2026, 2, day)) });
    const before = await filesUnder(dir);
    const result = await runCli(['prune', '--dry-run'], { ...env(dir) }, { cwd: dir });
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(String(result.stdout)).toContain('(dry run) promote 2026-03-03-oslrs → monthly/2026-03-oslrs');
    expect(await filesUnder(dir)).toEqual(before);
    await storage.close();
  });
});

describe('storage and config errors', () => {
  it('an unreachable S3 endpoint is a storage error (exit 2) naming the location', async () => {
    const result = await runCli(['backup'], {
      ...env('s3://nowhere-bucket/x'),
      S3_ENDPOINT: 'http://127.0.0.1:9',
      S3_ACCESS_KEY: 'a',
      S3_SECRET_KEY: 'b',
    });
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr)).toContain('s3://nowhere-bucket');
  });

  it('a bad storage URL is a configuration error (exit 3)', async () => {
    const result = await runCli(['backup'], env('ftp://example/x'));
    expect(result.exitCode).toBe(3);
    expect(String(result.stderr)).toMatch(/ftp:\/\/example\/x/);
  });
});

