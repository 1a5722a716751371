import { createHash } from 'node:crypto';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { Result } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig, type PgdrillConfigInput } from '../../src/config/index.ts';
import { loadKeyring } from '../../src/crypto/index.ts';
import { runBackup } from '../../src/dump/index.ts';
import { isoMonth, type BackupManifest } from '../../src/catalog/index.ts';
import { listTables } from '../../src/inspect/index.ts';
import { confirmByTypingName, sameDatabase } from '../../src/restore/index.ts';
import { applyRetention } from '../../src/retention/index.ts';
import { openStorage } from '../../src/storage/index.ts';
import { newKeyring, runCli, tempDir } from '../helpers/pgdrill.ts';
import { startSourceDatabase, type SourceDatabase } from '../helpers/postgres.ts';
import { startS3Server, type StartedS3Server } from '../helpers/s3.ts';

// `pgdrill restore` and `pgdrill verify` as the on-call engineer runs them: the real CLI as a child
// process, real pg_dump/pg_restore, a real embedded PostgreSQL holding the OSLRS fixture, folder
// storage (and one s3rver case). One source cluster and one backup set serve every test; each
// test restores into its own database on that cluster, so the tests run concurrently.

const OLD_BACKUP_AT = new Date('2020-06-01T02:00:00Z');

let source: SourceDatabase;
let admin: pg.Client;
let password: string;
let cwd: string;
let oldKey: string;
let rotatedKeys: string;
/** Good set: daily 2020-06-01 and its monthly copy 2020-06 (key `old`), today's daily and this month's monthly (key `new`). */
let storeA: string;
/** storeA with today's daily altered in storage and the 2020-06 monthly altered with its manifest SHA-256 rewritten. */
let storeTampered: string;
/** storeA with today's daily dump object deleted. */
let storeMissing: string;
let daily: BackupManifest;
let thisMonth: string;
const targets = ['t_dry', 't_nonempty', 'oslrs_prod_mirror', 't_ok', 't_readonly', 't_missing', 't_tampered', 't_counts', 't_tables', 't_old', 't_old_nokey', 't_s3'];

const urlOf = (database: string) => source.sandbox.connectionUri(database);
/** A target URL as a user passes it on the command line: the password goes through PGPASSWORD. */
const targetUrl = (database: string) => {
  const url = new URL(urlOf(database));
  url.password = '';
  return url.toString();
};
const env = (extra: Record<string, string | undefined> = {}) => ({
  DATABASE_URL: source.url,
  PGPASSWORD: password,
  PGDRILL_STORAGE: storeA,
  PGDRILL_ENCRYPTION_KEYS: rotatedKeys,
  ...extra,
});

/** Runs the CLI; asserts no output ever carries the database password. */
async function pgdrill(args: string[], environment: Record<string, string | undefined> = env()): Promise<Result & { stdout: string; stderr: string }> {
  const result = (await runCli(args, environment, { cwd })) as Result & { stdout: string; stderr: string };
  expect(`${result.stdout}\n${result.stderr}`).not.toContain(password);
  return result;
}

/** pgdrill() that also notes when the run started and ended, for output that depends on the clock. */
async function pgdrillTimed(args: string[], environment?: Record<string, string | undefined>) {
  const startedAt = Date.now();
  const result = await pgdrill(args, environment);
  return { ...result, startedAt, endedAt: Date.now() };
}

/**
 * The age of the June 2020 backup as a run between `startedAt` and `endedAt` prints it
 * (`6.5 years (2374 days)`), as a pattern: computed from the backup date and the clock, so the
 * test holds in any year; either end of the run may be the one the CLI saw.
 */
function ageOfOldBackup({ startedAt, endedAt }: { startedAt: number; endedAt: number }): string {
  const ages = [startedAt, endedAt].map((at) => {
    const days = Math.floor((at - OLD_BACKUP_AT.getTime()) / 86_400_000);
    return `${(days / 365.25).toFixed(1).replace('.', '\\.')} years \\(${days} days\\)`;
  });
  return `(?:${[...new Set(ages)].join('|')})`;
}

/** The configuration the CLI would resolve from this environment (no config file). */
const configFromEnv = (environment: Record<string, string | undefined>, flags?: PgdrillConfigInput) => loadConfig({ env: environment, cwd, flags });

async function withClient<T>(database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: urlOf(database) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const userTables = (database: string) => withClient(database, async (c) => (await listTables(c)).map((t) => `${t.schema}.${t.name}`));
const count = (database: string, table: string) => withClient(database, async (c) => Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n));

async function flipByte(file: string, offset: number): Promise<Buffer> {
  const bytes = await readFile(file);
  bytes[offset] = bytes[offset]! ^ 0xff;
  await writeFile(file, bytes);
  return bytes;
}

beforeAll(async () => {
  cwd = tempDir('restore-cwd');
  source = await startSourceDatabase({ rows: 2000 });
  password = source.sandbox.connection.password;
  admin = new pg.Client({ connectionString: source.url });
  await admin.connect();
  for (const database of targets) await admin.query(`CREATE DATABASE ${database}`);

  oldKey = newKeyring('old');
  rotatedKeys = `${newKeyring('new')},${oldKey}`;
  storeA = tempDir('restore-store');
  // A backup from June 2020 under the key that was active then, promoted to the monthly tier…
  const oldConfig = await configFromEnv(env({ PGDRILL_ENCRYPTION_KEYS: oldKey }));
  const storage = openStorage(oldConfig);
  try {
    await runBackup({ config: oldConfig, storage, keyring: loadKeyring(oldConfig, 'write'), now: () => OLD_BACKUP_AT });
    const retention = { storage, prefix: oldConfig.storage.prefix, policy: oldConfig.retention, orphanGraceHours: 24 };
    await applyRetention({ ...retention, now: new Date() });
    // …then the key was rotated: `new` is active, `old` stays listed to read old backups.
    const config = await configFromEnv(env());
    daily = (await runBackup({ config, storage, keyring: loadKeyring(config, 'write') })).manifest;
    await applyRetention({ ...retention, now: new Date() });
  } finally {
    await storage.close();
  }
  expect(daily.encryption).toMatchObject({ keyId: 'new' });
  thisMonth = isoMonth(new Date(daily.startedAt));

  storeTampered = tempDir('restore-tampered');
  await cp(storeA, storeTampered, { recursive: true });
  await flipByte(path.join(storeTampered, daily.objects.dump.key), 4000);
  const oldManifestFile = path.join(storeTampered, 'backups/manifests/monthly/2020-06-oslrs.json');
  const oldManifest = JSON.parse(await readFile(oldManifestFile, 'utf8')) as BackupManifest;
  const tampered = await flipByte(path.join(storeTampered, oldManifest.objects.dump.key), 3000);
  // Same size, SHA-256 rewritten to match: only authenticated decryption can notice.
  oldManifest.objects.dump.sha256 = createHash('sha256').update(tampered).digest('hex');
  await writeFile(oldManifestFile, JSON.stringify(oldManifest));

  storeMissing = tempDir('restore-missing');
  await cp(storeA, storeMissing, { recursive: true });
  await rm(path.join(storeMissing, daily.objects.dump.key));

  await withClient('t_nonempty', (c) => c.query('CREATE TABLE keepme (id int); INSERT INTO keepme VALUES (42)'));
  await admin.query('ALTER DATABASE t_readonly SET default_transaction_read_only = on');
});

afterAll(async () => {
  await admin?.end();
  await source?.stop();
  for (const dir of [cwd, storeA, storeTampered, storeMissing]) if (dir) await rm(dir, { recursive: true, force: true });
});

describe.concurrent('pgdrill restore', () => {
  test('--list shows every backup with its tier, age and key; exit 0', async () => {
    const r = await pgdrillTimed(['restore', '--list']);
    expect(r.exitCode).toBe(0);
    const [dailies, monthlies] = r.stdout.split('monthly:\n');
    expect(dailies).toMatch(new RegExp(`^daily:\n {2}2020-06-01-oslrs .*${ageOfOldBackup(r)} .*17 tables {2}key old$`, 'm'));
    expect(dailies).toMatch(new RegExp(`^ {2}${daily.id} .*key new$`, 'm'));
    expect(monthlies).toMatch(/^ {2}2020-06-oslrs .*key old$/m);
    expect(monthlies).toMatch(new RegExp(`^ {2}${thisMonth}-oslrs .*key new$`, 'm'));
  });

  test('--dry-run downloads, verifies, decrypts and lists the archive, and touches nothing', async () => {
    const r = await pgdrill(['restore', '--latest', '--dry-run', '--target-db', targetUrl('t_dry')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('Restore plan');
    expect(r.stdout).toMatch(/target {5}127\.0\.0\.1:\d+\/t_dry as pgdrill/);
    expect(r.stdout).toMatch(/taken at .*ago\)/);
    expect(r.stdout).toMatch(/contents {3}17 tables, [\d,]+ rows/);
    expect(r.stdout).toContain('plaintext SHA-256 matches');
    expect(r.stdout).toMatch(/archive: pg_restore --list reads \d+ entries/);
    expect(r.stdout).toContain('would restore 17 tables');
    expect(r.stdout).toMatch(/public\.respondents\s+2,000 rows/);
    expect(await userTables('t_dry')).toEqual([]);
  });

  test('guard: a non-empty target is refused without --confirm (exit 5) and left as it was', async () => {
    const r = await pgdrill(['restore', '--latest', '--target-db', targetUrl('t_nonempty')]);
    expect(r.exitCode).toBe(5);
    expect(r.stdout).toContain('Restore plan');
    expect(r.stderr).toMatch(/Refusing to restore into 127\.0\.0\.1:\d+\/t_nonempty: the target database is not empty: 1 user table \(public\.keepme\)/);
    expect(r.stderr).toContain('--confirm');
    expect(await userTables('t_nonempty')).toEqual(['public.keepme']);
    expect(await count('t_nonempty', 'keepme')).toBe(1);
  });

  test('guard: the backup source (the default target, DATABASE_URL) is refused (exit 5) and left as it was', async () => {
    const before = await userTables('oslrs');
    const r = await pgdrill(['restore', '--latest']);
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toMatch(/the target is the configured backup source \(DATABASE_URL 127\.0\.0\.1:\d+\/oslrs\)/);
    expect(await userTables('oslrs')).toEqual(before);
    expect(await count('oslrs', 'public.respondents')).toBe(2000);
    // The same database spelled with another loopback name is still the source.
    const src = new URL(source.url);
    expect(sameDatabase({ host: 'localhost', port: Number(src.port), database: 'oslrs' }, { host: '127.0.0.1', port: Number(src.port), database: 'oslrs' })).toBe(true);
  });

  test('guard: an empty database matching productionPatterns is refused (exit 5) and left empty', async () => {
    const configFile = path.join(cwd, 'prod-patterns.json');
    await writeFile(configFile, JSON.stringify({ productionPatterns: ['prod'] }));
    const r = await pgdrill(['--config', configFile, 'restore', '--latest', '--target-db', targetUrl('oslrs_prod_mirror')]);
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toContain('the target matches the production pattern "prod"');
    expect(r.stderr).not.toContain('not empty');
    expect(await userTables('oslrs_prod_mirror')).toEqual([]);
  });

  test('exit 0: restores the newest backup and every record count matches the manifest', async () => {
    const r = await pgdrill(['restore', '--latest', '--target-db', targetUrl('t_ok'), '--jobs', '2']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`decrypted with key new`);
    expect(r.stdout).toMatch(/public\.respondents\s+2,000\s+2,000 {2}OK/);
    expect(r.stdout).not.toContain('DIFF');
    expect(r.stdout).toMatch(/record counts: 17 tables, [\d,]+ rows and 2 large object\(s\): every count matches/);
    expect(r.stdout).toMatch(/restore OK: \S+ into 127\.0\.0\.1:\d+\/t_ok/);
    for (const [table, rows] of Object.entries(source.summary.tables)) expect(await count('t_ok', table), table).toBe(rows);
  });

  test('exit 1: pg_restore fails on a read-only target', async () => {
    const r = await pgdrill(['restore', '--latest', '--target-db', targetUrl('t_readonly')]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/pg_restore into 127\.0\.0\.1:\d+\/t_readonly failed .*read-only transaction/);
    expect(await userTables('t_readonly')).toEqual([]);
  });

  test('exit 2: a backup object missing from storage is a download failure; the target is untouched', async () => {
    const r = await pgdrill(['restore', '--latest', '--target-db', targetUrl('t_missing')], env({ PGDRILL_STORAGE: storeMissing }));
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${daily.objects.dump.key}`);
    expect(r.stderr).toContain('no such object');
    expect(await userTables('t_missing')).toEqual([]);
  });

  test.each([
    ['no target: neither --target-db nor DATABASE_URL', ['restore', '--latest'], { DATABASE_URL: undefined }, /No target database: --target-db is not given and DATABASE_URL is not set/],
    ['a password on the command line', ['restore', '--latest', '--target-db', 'postgres://u:pw@127.0.0.1:1/x'], {}, /--target-db carries a password on the command line/],
    ['a malformed --date', ['restore', '--date', '2026-13-45', '--target-db', 'postgres://x@127.0.0.1:1/x'], {}, /--date "2026-13-45" is not a date/],
    ['--schema-only with --data-only', ['restore', '--latest', '--schema-only', '--data-only'], {}, /--schema-only and --data-only exclude each other/],
  ])('exit 3: %s', async (_name, args, extra, message) => {
    const r = await pgdrill(args, env(extra));
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(message);
  });

  test('exit 3: a --tables name that is not in the backup, before the target is touched', async () => {
    const r = await pgdrill(['restore', '--latest', '--tables', 'public.no_such_table', '--target-db', targetUrl('t_dry')]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/Table public\.no_such_table is not in backup/);
    expect(await userTables('t_dry')).toEqual([]);
  });

  test('exit 4: an object altered in storage is never restored', async () => {
    const r = await pgdrill(['restore', '--latest', '--target-db', targetUrl('t_tampered')], env({ PGDRILL_STORAGE: storeTampered }));
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/Stored object .* does not match its manifest/);
    expect(await userTables('t_tampered')).toEqual([]);
  });

  test('exit 4: record counts differ from the manifest (data restored into a table that already had a row)', async () => {
    const schema = await pgdrill(['restore', '--latest', '--schema-only', '--target-db', targetUrl('t_counts')]);
    expect(schema.exitCode, schema.stderr).toBe(0);
    expect(schema.stdout).toMatch(/public\.lgas\s+0\s+0 {2}OK/);
    await withClient('t_counts', (c) => c.query(`INSERT INTO public.lgas (id, name, wards) VALUES (999, 'Not in the backup', 1)`));
    const r = await pgdrill(['restore', '--latest', '--data-only', '--tables', 'public.lgas', '--confirm', '--target-db', targetUrl('t_counts')]);
    expect(r.exitCode).toBe(4);
    expect(r.stdout).toContain('--confirm given');
    expect(r.stdout).toMatch(/public\.lgas\s+33\s+34 {2}DIFF/);
    expect(r.stderr).toMatch(/Verification failed after restoring .*public\.lgas: 34 of 33 rows/);
  });

  test('--tables into an empty scratch database: schema skeleton, then only those rows', async () => {
    const notes = Object.keys(source.summary.tables).find((t) => t.startsWith('"Registry Ops".'))!;
    const r = await pgdrill(['restore', '--latest', '--tables', `public.users,${notes}`, '--target-db', targetUrl('t_tables')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("the backup's schema skeleton first");
    expect(r.stdout).toMatch(/public\.users\s+50\s+50 {2}OK/);
    expect(r.stdout).toMatch(/record counts: 2 tables, 55 rows: every count matches/);
    expect(await count('t_tables', 'public.users')).toBe(50);
    expect(await count('t_tables', notes)).toBe(5);
    expect(await count('t_tables', 'public.respondents')).toBe(0);
  });

  test('an old monthly backup encrypted with a key rotated out of the active slot restores with the old key listed after the new one', async () => {
    const r = await pgdrillTimed(['restore', '--monthly', '2020-06', '--target-db', targetUrl('t_old')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/backup {5}monthly 2020-06-oslrs \(copy of 2020-06-01-oslrs\)/);
    expect(r.stdout).toMatch(new RegExp(`taken at {3}2020-06-01T02:00:00\\.000Z \\(${ageOfOldBackup(r)} ago\\)`));
    expect(r.stdout).toContain('decrypted with key old');
    expect(r.stdout).toContain('every count matches');
    expect(await count('t_old', 'public.respondents')).toBe(2000);
  });

  test('the same old backup without the old key is refused before download: CryptoError UNKNOWN_KEY (exit 4)', async () => {
    const r = await pgdrill(['restore', '--monthly', '2020-06', '--target-db', targetUrl('t_old_nokey')], env({ PGDRILL_ENCRYPTION_KEYS: rotatedKeys.split(',')[0] }));
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/UNKNOWN_KEY: backup 2020-06-oslrs is encrypted with key old, which is not in PGDRILL_ENCRYPTION_KEYS \(new\)/);
    expect(r.stdout).not.toContain('downloading');
    expect(await userTables('t_old_nokey')).toEqual([]);
  });

  test('a plain-SQL backup from S3 (s3rver) with --with-roles; verify checks its completion trailer', async () => {
    const s3: StartedS3Server = await startS3Server();
    try {
      const s3env = env({
        PGDRILL_STORAGE: `s3://${s3.bucket}/pgdrill`,
        S3_ENDPOINT: s3.endpoint,
        S3_REGION: s3.region,
        S3_ACCESS_KEY: s3.credentials.accessKeyId,
        S3_SECRET_KEY: s3.credentials.secretAccessKey,
      });
      const config = await configFromEnv(s3env, { backup: { format: 'plain', compression: 'gzip' } });
      const storage = openStorage(config);
      await runBackup({ config, storage, keyring: loadKeyring(config, 'write') }).finally(() => storage.close());
      const r = await pgdrill(['restore', '--latest', '--with-roles', '--target-db', targetUrl('t_s3')], s3env);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/downloading \S+\.sql\.gz\.enc and \S+\.globals\.sql\.gz\.enc from s3:\/\//);
      expect(r.stdout).toContain("archive: plain SQL, ");
      expect(r.stdout).toContain('every count matches');
      expect(await count('t_s3', 'public.respondents')).toBe(2000);
      const v = await pgdrill(['verify', '--json'], s3env);
      expect(v.exitCode, v.stderr).toBe(0);
      expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, results: [{ tier: 'daily', ok: true }] });
    } finally {
      await s3.stop();
    }
  });
});

describe.concurrent('pgdrill verify', () => {
  test('--all passes on a good retention set (exit 0)', async () => {
    const r = await pgdrill(['verify', '--all']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.match(/^OK /gm)).toHaveLength(4);
    expect(r.stdout).toMatch(/^OK +monthly +2020-06-oslrs .*pg_restore --list: \d+ entries/m);
    expect(r.stdout).toContain('4 OK, 0 FAILED');
  });

  test('names each bad backup and its error code, exit 4; --json', async () => {
    const r = await pgdrill(['verify', '--json'], env({ PGDRILL_STORAGE: storeTampered }));
    expect(r.exitCode).toBe(4);
    const report = JSON.parse(r.stdout) as { ok: boolean; results: Array<{ id: string; tier: string; manifestKey: string; ok: boolean; error?: string }> };
    expect(report.ok).toBe(false);
    const byId = Object.fromEntries(report.results.map((x) => [`${x.tier}/${x.id}`, x]));
    expect(byId[`daily/${daily.id}`]).toMatchObject({ ok: false, error: expect.stringMatching(/^IntegrityError: Stored object .* does not match its manifest/) });
    expect(byId['monthly/2020-06-oslrs']).toMatchObject({ ok: false, error: expect.stringMatching(/^CryptoError CHUNK_AUTH_FAILED: /) });
    expect(byId[`monthly/${thisMonth}-oslrs`]).toMatchObject({ ok: true, manifestKey: `backups/manifests/monthly/${thisMonth}-oslrs.json` });
    expect(byId['daily/2020-06-01-oslrs']).toMatchObject({ ok: true });
    expect(r.stderr).toContain(`2 of 4 backups failed verification`);
    expect(r.stderr).toContain(`daily/${daily.id} (IntegrityError)`);
    expect(r.stderr).toContain('monthly/2020-06-oslrs (CryptoError CHUNK_AUTH_FAILED)');
  });

  test('--since limits the pass to recent backups', async () => {
    const r = await pgdrill(['verify', '--since', daily.startedAt.slice(0, 10)], env({ PGDRILL_STORAGE: storeTampered }));
    expect(r.exitCode).toBe(4);
    expect(r.stdout).not.toContain('2020-06-oslrs');
    expect(r.stdout).toContain('1 OK, 1 FAILED');
  });
});

describe('interactive confirmation', () => {
  const ask = async (typed: string | null) => {
    const input = new PassThrough();
    const output = new PassThrough();
    const answer = confirmByTypingName({ input, output, database: 'oslrs_restore' });
    if (typed === null) input.end();
    else input.write(`${typed}\n`);
    const result = await answer;
    return { result, prompt: String(output.read() ?? '') };
  };

  test('proceeds only when the exact database name is typed', async () => {
    expect(await ask('oslrs_restore')).toEqual({ result: true, prompt: expect.stringContaining('Type the database name "oslrs_restore" to continue') });
    expect((await ask('yes')).result).toBe(false);
    expect((await ask('oslrs')).result).toBe(false);
    expect((await ask(null)).result).toBe(false);
  });
});
