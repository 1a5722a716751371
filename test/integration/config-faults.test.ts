import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey } from '../../src/crypto/index.ts';
import { findPostgresBinaries } from '../../src/sandbox/index.ts';
import { REPO_ROOT, newKeyring, runCli, tempDir } from '../helpers/pgdrill.ts';
import { startSourceDatabase, type SourceDatabase } from '../helpers/postgres.ts';

// Bad configuration and environment faults through the real CLI: each must be a named error with
// its documented exit code (3: configuration), never a secret in the output, never half a backup.

type CliResult = { exitCode?: number; stdout: string; stderr: string };
const cli = (args: string[], env: Record<string, string | undefined>, timeoutMs?: number) => runCli(args, env, { timeoutMs }) as Promise<CliResult>;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('without a database', () => {
  const KEY = generateKey('k1');
  const NO_DATABASE = 'postgres://nobody@127.0.0.1:1/none';

  it.each([
    ['a short key', `k1:${Buffer.alloc(16, 7).toString('base64')}`, /PGDRILL_ENCRYPTION_KEYS entry 1 of 1 \(key id "k1"\): the key decodes to 16 bytes, expected 32/],
    ['bad base64', `k1:${KEY.base64.slice(0, 20)}!${KEY.base64.slice(21)}`, /entry 1 of 1 \(key id "k1"\): the key is not valid base64/],
    ['a duplicate id', `k1:${KEY.base64},k2:${generateKey('k2').base64},k1:${generateKey('k3').base64}`, /entry 3 of 3 \(key id "k1"\) duplicates the id of entry 1/],
    ['a missing id', `:${KEY.base64}`, /entry 1 of 1: the key id is empty/],
  ])('exit 3: a malformed PGDRILL_ENCRYPTION_KEYS (%s), named by entry, never the key', async (_name, keyring, message) => {
    const storage = tempDir('bad-keyring');
    const r = await cli(['backup'], { DATABASE_URL: NO_DATABASE, PGDRILL_STORAGE: storage, PGDRILL_ENCRYPTION_KEYS: keyring });
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toMatch(message);
    for (const part of keyring.split(/[,:]/)) if (part.length >= 16) expect(`${r.stdout}${r.stderr}`).not.toContain(part.slice(0, 16));
    expect(await filesUnder(storage)).toEqual([]);
  });

  it('exit 3: writing a backup without any key says what to do, in the one wording', async () => {
    const r = await cli(['backup'], { DATABASE_URL: NO_DATABASE, PGDRILL_STORAGE: tempDir('no-key') });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/^pgdrill: PGDRILL_ENCRYPTION_KEYS is not set: backups are encrypted and no key is configured\. Create a key with `pgdrill keys generate`/);
  });

  it('exit 3: a config error never prints a secret (the key beside a typo, the S3 secret beside an unknown key)', async () => {
    const secret = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCY-EXAMPLEKEY';
    const cases = [
      { body: { encryption: { keys: `k1:${KEY.base64}`, allowUnencypted: false } }, message: /encryption: Unrecognized key: "allowUnencypted"/ },
      { body: { storage: { url: 's3://bucket/p', s3: { secretAccessKey: secret, accessKeyId: 'AKIAIOSFODNN7EXAMPLE' }, bogus: 1 } }, message: /storage: Unrecognized key: "bogus"/ },
      { body: { storage: { s3: { secretAcessKey: secret } } }, message: /storage\.s3: Unrecognized key: "secretAcessKey"/ },
      { body: { report: { signoff: { performedby: 'A. Person' } } }, message: /report\.signoff: Unrecognized key: "performedby"/ },
    ];
    for (const { body, message } of cases) {
      const cwd = tempDir('config');
      await writeFile(path.join(cwd, 'pgdrill.config.json'), JSON.stringify(body));
      const r = (await runCli(['config', '--print'], {}, { cwd })) as CliResult;
      expect(r.exitCode, r.stderr).toBe(3);
      expect(r.stderr).toMatch(message);
      for (const text of [KEY.base64.slice(0, 12), secret.slice(0, 12), secret.slice(-12), 'AKIAIOSFODNN']) expect(r.stderr).not.toContain(text);
    }
  });

  it.each([
    [['--date', '2026-13-45'], /--date "2026-13-45" is not a date/],
    [['--monthly', '2026-13'], /--monthly "2026-13" is not a month/],
    [['--key', ' '], /--key is empty/],
    [['--date', '2026-01-01', '--key', 'x'], /Choose one backup: --date and --key were given together/],
  ])('exit 3: drill %j is refused before anything runs', async (args, message) => {
    const reports = path.join(tempDir('drill-flags'), 'reports');
    const r = await cli(['drill', ...args], { PGDRILL_STORAGE: tempDir('drill-store'), PGDRILL_ENCRYPTION_KEYS: newKeyring(), PGDRILL_REPORTS_DIR: reports });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(3);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).not.toContain('Drill ');
    expect(await filesUnder(reports)).toEqual([]);
  });

  it('a manifest from a newer pgdrill is named as such, not as a schema mismatch', async () => {
    const storage = tempDir('newer-manifest');
    await mkdir(path.join(storage, 'backups/manifests/daily'), { recursive: true });
    await writeFile(path.join(storage, 'backups/manifests/daily/2027-01-01-oslrs.json'), JSON.stringify({ formatVersion: 2, id: '2027-01-01-oslrs', objects: [] }));
    const r = await cli(['list'], { PGDRILL_STORAGE: storage });
    expect(r.stdout).toContain(
      'INVALID backups/manifests/daily/2027-01-01-oslrs.json: written by a newer pgdrill (manifest format 2, this pgdrill reads 1): upgrade pgdrill',
    );
    expect(r.stdout).not.toContain('expected 1');
  });
});

// A read-only file system for real: a tmpfs mounted read-only (needs root; skipped, with the reason, without).
describe('on a read-only file system', () => {
  let readOnly: string | undefined;
  let skipReason = '';
  beforeAll(async () => {
    const dir = tempDir('readonly');
    const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir], { reject: false });
    if (mounted.exitCode === 0) readOnly = dir;
    else skipReason = `cannot mount a read-only tmpfs: ${String(mounted.stderr).trim()}`;
  });
  afterAll(async () => {
    if (readOnly) await execa('umount', [readOnly]);
  });

  it('the reports folder: EROFS is named, not ENOENT', async ({ skip }) => {
    if (!readOnly) skip(skipReason);
    const r = await cli(['report', '--from', path.join(REPO_ROOT, 'test/fixtures/evidence-pass.json'), '--out', path.join(readOnly!, 'reports')], {});
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/EROFS: read-only file system, mkdir '.*\/reports'/);
    expect(r.stderr).not.toContain('ENOENT');
  });
});

describe('with a database that needs a password', () => {
  let source: SourceDatabase;
  let user: string;
  let password: string;
  let port: number;
  /** The source URL without its password: users give it through PGPASSWORD or ~/.pgpass. */
  let bareUrl: string;
  let keys: string;
  beforeAll(async () => {
    source = await startSourceDatabase({ rows: 200 });
    ({ user, password, port } = source.sandbox.connection);
    const url = new URL(source.url);
    url.password = '';
    bareUrl = url.toString();
    keys = newKeyring('k1');
  });
  afterAll(async () => {
    await source?.stop();
  });

  /** A fresh HOME, optionally holding a .pgpass with these lines and mode. */
  async function home(lines?: string[], mode = 0o600): Promise<string> {
    const dir = tempDir('home');
    if (lines) {
      await writeFile(path.join(dir, '.pgpass'), `${lines.join('\n')}\n`);
      await chmod(path.join(dir, '.pgpass'), mode);
    }
    return dir;
  }

  it('exit 3: no password anywhere is named as such, with where to set one (not "SASL … must be a string")', async () => {
    const storage = tempDir('no-password');
    const HOME = await home();
    // Promptly: a refused authentication must not hold the socket until the server's authentication_timeout (60 s).
    const r = await cli(['backup'], { HOME, DATABASE_URL: bareUrl, PGDRILL_STORAGE: storage, PGDRILL_ENCRYPTION_KEYS: keys }, 30_000);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toContain(`no password for user ${user} on 127.0.0.1:${port}/oslrs: set PGPASSWORD, a password in DATABASE_URL, or ${HOME}/.pgpass`);
    expect(r.stderr).not.toContain('SASL');
    expect(await filesUnder(storage)).toEqual([]);
  });

  it('exit 3: a ~/.pgpass that others may read is ignored, as libpq does, and the error says so', async () => {
    const HOME = await home([`127.0.0.1:${port}:oslrs:${user}:${password}`], 0o644);
    const r = await cli(['backup'], { HOME, DATABASE_URL: bareUrl, PGDRILL_STORAGE: tempDir('pgpass-open'), PGDRILL_ENCRYPTION_KEYS: keys }, 30_000);
    expect(r.exitCode, r.stderr).toBe(3);
    expect(r.stderr).toContain(`${HOME}/.pgpass was ignored: group or others may access it (mode 644); chmod 0600 ${HOME}/.pgpass`);
    expect(r.stderr).not.toContain(password);
  });

  it('~/.pgpass (0600, wildcards) serves both the node-postgres client and pg_dump: the backup succeeds', async () => {
    const storage = tempDir('pgpass-ok');
    const HOME = await home(['# other servers first', `db.example:5432:*:${user}:wrong`, `127.0.0.1:*:oslrs:${user}:${password}`]);
    const r = await cli(['backup'], { HOME, DATABASE_URL: bareUrl, PGDRILL_STORAGE: storage, PGDRILL_ENCRYPTION_KEYS: keys });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^backup backups\/daily\/\S+-oslrs\.dump\.zst\.enc /);
    expect((await filesUnder(storage)).some((f) => f.startsWith('backups/manifests/daily/'))).toBe(true);

    // A restore target without a password (none may be given on the command line): named, exit 3.
    const target = new URL(bareUrl);
    target.pathname = '/no_such_database';
    const noPassword = await cli(['restore', '--latest', '--target-db', target.toString()], { HOME: await home(), PGDRILL_STORAGE: storage, PGDRILL_ENCRYPTION_KEYS: keys }, 30_000);
    expect(noPassword.exitCode, noPassword.stderr).toBe(3);
    expect(noPassword.stderr).toMatch(new RegExp(`no password for user ${user} on 127\\.0\\.0\\.1:${port}/no_such_database: set PGPASSWORD or \\S+/\\.pgpass`));

    // The same store without the key: restore and verify stop before downloading, in the one wording.
    const noKey = { HOME, DATABASE_URL: bareUrl, PGDRILL_STORAGE: storage };
    const restore = await cli(['restore', '--latest', '--dry-run'], noKey);
    expect(restore.exitCode, restore.stderr).toBe(3);
    expect(restore.stderr).toMatch(/^pgdrill: PGDRILL_ENCRYPTION_KEYS is not set: backup \S+-oslrs is encrypted with key k1\. Set PGDRILL_ENCRYPTION_KEYS from the key escrow with key k1 in it/);
    const verify = await cli(['verify'], noKey);
    expect(verify.exitCode, verify.stderr).toBe(3);
    // the daily and its monthly copy
    expect(verify.stderr).toMatch(/^pgdrill: PGDRILL_ENCRYPTION_KEYS is not set: 2 backups \(\S+-oslrs, \S+-oslrs\) are encrypted with key k1\. Set PGDRILL_ENCRYPTION_KEYS from the key escrow/);
  });

  it('PGPASSFILE with escaped ":" and "\\" reads the same password libpq (psql) reads', async () => {
    const odd = 'pa:ss\\word';
    const admin = new pg.Client({ connectionString: source.url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE "odd:user" LOGIN SUPERUSER PASSWORD '${odd.replace(/'/g, "''")}'`);
    } finally {
      await admin.end();
    }
    const file = path.join(tempDir('passfile'), 'pgpass');
    await writeFile(file, `127.0.0.1:${port}:oslrs:odd\\:user:${odd.replace(/[:\\]/g, (c) => `\\${c}`)}\n`, { mode: 0o600 });
    const HOME = await home();
    const url = `postgres://${encodeURIComponent('odd:user')}@127.0.0.1:${port}/oslrs`;
    const psql = await execa((await findPostgresBinaries(15)).bin('psql'), ['--no-password', '-tAc', 'SELECT current_user', url], {
      env: { PATH: process.env.PATH, HOME, PGPASSFILE: file },
      extendEnv: false,
      reject: false,
    });
    expect(psql.stdout.trim(), psql.stderr).toBe('odd:user');
    const storage = tempDir('passfile-store');
    const r = await cli(['backup'], { HOME, PGPASSFILE: file, DATABASE_URL: url, PGDRILL_STORAGE: storage, PGDRILL_ENCRYPTION_KEYS: keys });
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it('exit 2: backup storage on a read-only file system names EROFS, not ENOENT; nothing is left', async ({ skip }) => {
    const dir = tempDir('readonly-store');
    const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir], { reject: false });
    if (mounted.exitCode !== 0) skip(`cannot mount a read-only tmpfs: ${String(mounted.stderr).trim()}`);
    try {
      const r = await cli(['backup'], { DATABASE_URL: source.url, PGDRILL_STORAGE: path.join(dir, 'store'), PGDRILL_ENCRYPTION_KEYS: keys });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/EROFS: read-only file system.*The backup folder is on a read-only filesystem; point PGDRILL_STORAGE at a writable folder/);
      expect(r.stderr).not.toContain('ENOENT');
    } finally {
      await execa('umount', [dir]);
    }
  });
});
