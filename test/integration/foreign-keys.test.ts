import { readFile, utimes, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { newKeyring, runCli, tempDir } from '../helpers/pgdrill.ts';
import { startSourceDatabase, type SourceDatabase } from '../helpers/postgres.ts';
import { startS3Server, type StartedS3Server } from '../helpers/s3.ts';

// Objects pgdrill did not write, in the folders it lists (issue 11, item 8). A listing skips and
// reports them; they never fail a backup that succeeded, never fail a prune, and are never deleted.
//
// S3 (real s3rver): keys with a `..` segment are legal on S3 but pgdrill cannot address them (its
// key rules refuse `..` so that a key means the same on every backend). s3rver keeps objects as
// files, so it cannot hold `..` in the middle of a key, but it does store and list a key whose last
// segment is `..` (`backups/daily/..` becomes the file `backups/daily/..._S3rver_object`).
//
// Folder: a `..` key cannot exist there (a directory entry named `..` is always the parent and
// listings never return it), so the folder case is the other kind of stranger: a validly named
// file that is not a pgdrill object (`notes.txt`) in a tier folder, which the orphan sweep deleted.

const THREE_DAYS_AGO = new Date(Date.now() - 3 * 86_400_000);
const STRAY_KEYS = ['backups/daily/..', 'backups/manifests/daily/..', 'backups/drills/..'];

let source: SourceDatabase;
let s3: StartedS3Server;
let admin: S3Client;

/** The object's body as S3 returns it now (it must be untouched). */
async function rawBody(key: string): Promise<string> {
  const out = await admin.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return out.Body!.transformToString();
}

const occurrences = (text: string, needle: string) => text.split(needle).length - 1;

beforeAll(async () => {
  [source, s3] = await Promise.all([startSourceDatabase({ rows: 200 }), startS3Server()]);
  admin = new S3Client({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials, forcePathStyle: true });
});

afterAll(async () => {
  admin?.destroy();
  await source?.stop();
  await s3?.stop();
});

describe('keys outside the layout', () => {
  test('S3: a key with a `..` segment is skipped and reported once; backup and prune exit 0 and leave it alone', async () => {
    for (const key of STRAY_KEYS) {
      await admin.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: `not pgdrill's: ${key}` }));
      // Old enough to be swept as an orphan if the sweep saw it.
      await utimes(path.join(s3.directory, s3.bucket, `${key}._S3rver_object`), THREE_DAYS_AGO, THREE_DAYS_AGO);
    }
    const env = {
      DATABASE_URL: source.url,
      PGDRILL_STORAGE: `s3://${s3.bucket}`,
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_ACCESS_KEY: s3.credentials.accessKeyId,
      S3_SECRET_KEY: s3.credentials.secretAccessKey,
      PGDRILL_ENCRYPTION_KEYS: newKeyring(),
    };
    const warning = (key: string) => `pgdrill: ignoring "${key}" in s3://${s3.bucket}: it has a '..' segment, so pgdrill cannot read or delete it`;

    const backup = await runCli(['backup'], env);
    expect(backup.exitCode, String(backup.stderr)).toBe(0);
    expect(backup.stdout).toMatch(/^backup backups\/daily\/\S+\.dump\.zst\.enc /);
    // Listed twice (the same-day id check and retention), reported once.
    expect(occurrences(String(backup.stderr), warning('backups/daily/..'))).toBe(1);
    expect(occurrences(String(backup.stderr), warning('backups/manifests/daily/..'))).toBe(1);

    const prune = await runCli(['prune'], env);
    expect(prune.exitCode, String(prune.stderr)).toBe(0);
    expect(occurrences(String(prune.stderr), warning('backups/daily/..'))).toBe(1);
    expect(prune.stdout).not.toContain('orphan');

    const verifyReports = await runCli(['verify-reports'], env);
    expect(verifyReports.exitCode, String(verifyReports.stderr)).toBe(0);
    expect(verifyReports.stderr).toContain(warning('backups/drills/..'));

    for (const key of STRAY_KEYS) expect(await rawBody(key)).toBe(`not pgdrill's: ${key}`);
  });

  test('folder: a file not named like a pgdrill object in a tier folder is reported and kept, never swept as an orphan', async () => {
    const store = tempDir('foreign-store');
    const env = { DATABASE_URL: source.url, PGDRILL_STORAGE: store, PGDRILL_ENCRYPTION_KEYS: newKeyring() };
    const notes = path.join(store, 'backups/daily/notes.txt');
    await mkdir(path.dirname(notes), { recursive: true });
    await writeFile(notes, 'written by an operator');
    await utimes(notes, THREE_DAYS_AGO, THREE_DAYS_AGO);
    // A real orphan beside it (a data object whose manifest was never written) is still swept.
    const orphan = path.join(store, 'backups/daily/2020-01-01-oslrs.dump.zst.enc');
    await writeFile(orphan, 'left over by an interrupted run');
    await utimes(orphan, THREE_DAYS_AGO, THREE_DAYS_AGO);

    const backup = await runCli(['backup', '--no-prune'], env);
    expect(backup.exitCode, String(backup.stderr)).toBe(0);
    const dryRun = await runCli(['prune', '--dry-run'], env);
    expect(dryRun.exitCode, String(dryRun.stderr)).toBe(0);
    expect(dryRun.stdout).toContain('(dry run) orphan  backups/daily/2020-01-01-oslrs.dump.zst.enc: no manifest refers to it');
    expect(dryRun.stdout).toContain('(dry run) foreign backups/daily/notes.txt: not named like a pgdrill object; left alone');
    const prune = await runCli(['prune'], env);
    expect(prune.exitCode, String(prune.stderr)).toBe(0);
    expect(prune.stdout).toContain('foreign backups/daily/notes.txt: not named like a pgdrill object; left alone');
    expect(await readFile(notes, 'utf8')).toBe('written by an operator');
    await expect(readFile(orphan)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
