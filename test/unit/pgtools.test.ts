import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, IntegrityError, RestoreError } from '../../src/errors/index.ts';
import {
  childEnv,
  findPgBinDir,
  hasDbnameArg,
  installedPgMajors,
  pgBinary,
  pgToolError,
  pgToolFailure,
  runPgTool,
  toolVersion,
} from '../../src/pgtools/index.ts';
import { listArchive } from '../../src/restore/index.ts';

let root: string;
const savedEnv = { ...process.env };

/** An executable shell script standing in for a PostgreSQL tool (prints its version). */
function fakeTool(dir: string, name: string, version: string): void {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\necho "${name} (PostgreSQL) ${version}"\n`);
  chmodSync(file, 0o755);
}

beforeAll(() => {
  // Laid out like Debian's /usr/lib/postgresql: 13 and 16 complete, 17 client tools only,
  // 18 with a pg_restore that is not executable, plus a non-version entry.
  root = mkdtempSync(path.join(tmpdir(), 'pgdrill-pgtools-'));
  for (const [major, version, tools] of [
    [13, '13.16', ['initdb', 'pg_dump', 'pg_restore', 'psql']],
    [16, '16.4', ['initdb', 'pg_dump', 'pg_restore', 'psql']],
    [17, '17.2', ['pg_dump', 'pg_restore', 'psql']],
  ] as const) {
    for (const tool of tools) fakeTool(path.join(root, String(major), 'bin'), tool, version);
  }
  for (const tool of ['pg_dump', 'psql']) fakeTool(path.join(root, '18', 'bin'), tool, '18.0');
  writeFileSync(path.join(root, '18', 'bin', 'pg_restore'), '');
  mkdirSync(path.join(root, 'common', 'bin'), { recursive: true });
});

afterEach(() => {
  process.env = { ...savedEnv };
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('findPgBinDir over a Debian-style layout', () => {
  it('takes the exact major when it is installed', async () => {
    expect(await findPgBinDir(16, { need: 'client', root })).toBe(path.join(root, '16', 'bin'));
    expect(await findPgBinDir(13, { need: 'server', root })).toBe(path.join(root, '13', 'bin'));
  });
  it('else the newest newer major holding the wanted set, never an older one', async () => {
    expect(await findPgBinDir(14, { need: 'client', root })).toBe(path.join(root, '17', 'bin'));
    // 17 has no server and 18 no executable pg_restore: neither counts for what they lack.
    expect(await findPgBinDir(14, { need: 'server', root })).toBe(path.join(root, '16', 'bin'));
    expect(await installedPgMajors('client', root)).toEqual([17, 16, 13]);
    expect(await installedPgMajors('server', root)).toEqual([16, 13]);
  });
  it('none new enough, or no such root: undefined, and the tool is looked up on PATH', async () => {
    expect(await findPgBinDir(19, { need: 'client', root })).toBeUndefined();
    expect(await findPgBinDir(15, { need: 'server', root: path.join(root, 'missing') })).toBeUndefined();
    expect(pgBinary(undefined, 'pg_restore')).toBe('pg_restore');
    // The bare name resolves through the PATH the child inherits.
    const onPath = path.join(root, 'path-bin');
    fakeTool(onPath, 'pg_restore', '19.1');
    process.env.PATH = `${onPath}:${savedEnv.PATH ?? ''}`;
    expect(await toolVersion(pgBinary(await findPgBinDir(19, { need: 'client', root }), 'pg_restore'))).toEqual({ major: 19, version: '19.1', text: '19.1' });
  });
  it('a configured directory is used as is', async () => {
    expect(await findPgBinDir(12, { binDir: '/opt/pg/bin', need: 'client', root })).toBe('/opt/pg/bin');
    expect(pgBinary('/opt/pg/bin', 'psql')).toBe('/opt/pg/bin/psql');
  });
});

describe('childEnv', () => {
  it('passes only PATH, HOME, locale, TZ, TMPDIR and USER, plus the explicit extras', () => {
    Object.assign(process.env, {
      DATABASE_URL: 'postgres://app:source-pass@db/oslrs',
      S3_SECRET_KEY: 's3-secret-value',
      PGDRILL_ENCRYPTION_KEYS: 'k1:c2VjcmV0',
      AWS_SECRET_ACCESS_KEY: 'aws-secret',
      PGPASSWORD: 'stray-pass',
      PGHOSTADDR: '10.9.9.9',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TZ: 'UTC',
      TMPDIR: '/tmp',
      HOME: '/home/x',
      USER: 'x',
    });
    const env = childEnv({ PGPASSWORD: 'sandbox-pass', PGHOST: '127.0.0.1' });
    const allowed = /^(PATH|HOME|LANG|LC_[A-Z]+|TZ|TMPDIR|USER)$/;
    expect(Object.keys(env).filter((name) => !allowed.test(name)).sort()).toEqual(['PGHOST', 'PGPASSWORD']);
    expect(env).toMatchObject({ PATH: process.env.PATH, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TZ: 'UTC', TMPDIR: '/tmp', HOME: '/home/x', USER: 'x', PGPASSWORD: 'sandbox-pass' });
    const values = Object.values(env).join('\n');
    for (const secret of ['source-pass', 's3-secret-value', 'c2VjcmV0', 'aws-secret', 'stray-pass', '10.9.9.9']) expect(values).not.toContain(secret);
  });
});

describe('runPgTool: one error shape', () => {
  it('names the command, its exit code and the stderr tail, as the class the caller asked for, secrets scrubbed', async () => {
    const secret = 'tok3n-s3cret';
    const archive = `/nonexistent/${secret}/archive.dump`;
    const error = await runPgTool('pg_restore', ['--list', archive], {
      command: 'pg_restore --list',
      env: { PGPASSWORD: 'pgpass-s3cret' },
      scrub: [secret],
      error: { as: IntegrityError, context: 'of the test archive', hint: 'Restore from another backup' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    expect((error as IntegrityError).exitCode).toBe(4);
    expect((error as Error).message).toMatch(
      /^pg_restore --list of the test archive failed \(exit code 1\): pg_restore: error: could not open input file "\/nonexistent\/\*{8}\/archive\.dump": No such file or directory\. Restore from another backup$/,
    );
    expect((error as Error).message).not.toContain(secret);

    // PGPASSWORD handed to the tool is scrubbed without being named.
    const viaEnv = await runPgTool('pg_restore', ['--list', '/nonexistent/pgpass-s3cret.dump'], { env: { PGPASSWORD: 'pgpass-s3cret' } }).catch((e: unknown) => e);
    expect((viaEnv as Error).message).toMatch(/^pg_restore failed \(exit code 1\): .*\/nonexistent\/\*{8}\.dump/);
  });

  it('reports a binary that cannot start, a timeout, a signal and a cancel for what they are', async () => {
    const missing = await runPgTool('/nonexistent/bin/pg_restore', ['--list', 'x'], { reject: false });
    expect(missing.failure).toMatchObject({ command: 'pg_restore', notStarted: true, exitCode: undefined });
    expect(missing.failure?.outcome).toMatch(/^could not start: .*ENOENT/);

    const slow = await runPgTool('sleep', ['5'], { timeout: 200, reject: false });
    expect(slow.failure).toMatchObject({ command: 'sleep 5', outcome: 'timed out after 200 ms', notStarted: false });

    const killed = await runPgTool('sh', ['-c', 'echo "going down" >&2; kill -9 $$'], { reject: false });
    expect(killed.failure).toMatchObject({ outcome: 'killed by SIGKILL', tail: 'going down' });

    const controller = new AbortController();
    const reason = new RestoreError('Interrupted by the test');
    setTimeout(() => controller.abort(reason), 100);
    await expect(runPgTool('sleep', ['5'], { cancelSignal: controller.signal })).rejects.toBe(reason);
  });

  it('keeps stdout when asked, and the child sees only childEnv plus the extras', async () => {
    process.env.S3_SECRET_KEY = 's3-secret-value';
    const { stdout, failure } = await runPgTool('sh', ['-c', 'env'], { stdout: 'keep', env: { PGAPPNAME: 'pgdrill' } });
    expect(failure).toBeUndefined();
    expect(stdout).toContain('PGAPPNAME=pgdrill');
    expect(stdout).not.toContain('S3_SECRET_KEY');
  });
});

describe('pgToolFailure (also used for tools run inside a container)', () => {
  it('is undefined for exit 0; else the last 10 stderr lines on one line', () => {
    expect(pgToolFailure({ command: 'psql', exitCode: 0, output: 'NOTICE: fine' })).toBeUndefined();
    const output = Array.from({ length: 14 }, (_, i) => `line ${i + 1}`).join('\n');
    const failure = pgToolFailure({ command: 'psql -f /x.sql', exitCode: 3, output: `${output}\n\n`, scrub: ['line 14'] })!;
    expect(failure.tail).toBe('line 5 | line 6 | line 7 | line 8 | line 9 | line 10 | line 11 | line 12 | line 13 | ********');
    const error = pgToolError(failure, { as: RestoreError, context: 'in the docker sandbox (postgres:15)' });
    expect(error).toBeInstanceOf(RestoreError);
    expect(error.message).toBe(`psql -f /x.sql in the docker sandbox (postgres:15) failed (exit code 3): ${failure.tail}`);
  });
});

describe('hasDbnameArg', () => {
  it('recognises every way pg_restore is given a database', () => {
    for (const args of [['-d', 'x'], ['-dx'], ['--dbname', 'x'], ['--dbname=x']]) expect(hasDbnameArg(args)).toBe(true);
    expect(hasDbnameArg(['--data-only', '--disable-triggers'])).toBe(false);
  });
});

describe('listArchive maps a pg_restore failure by its cause', () => {
  it('an unreadable archive is an integrity failure (exit 4), a missing pg_restore a configuration error (exit 3)', async () => {
    const notAnArchive = path.join(root, 'not-an-archive.dump');
    writeFileSync(notAnArchive, 'this is not a pg_dump archive\n');
    const unreadable = await listArchive(notAnArchive, { label: 'daily/x.dump' }).catch((e: unknown) => e);
    expect(unreadable).toBeInstanceOf(IntegrityError);
    expect((unreadable as Error).message).toMatch(/^pg_restore --list of daily\/x\.dump failed \(exit code 1\): pg_restore: error: input file does not appear to be a valid archive/);

    const noTool = await listArchive(notAnArchive, { binDir: path.join(root, 'missing'), label: 'daily/x.dump' }).catch((e: unknown) => e);
    expect(noTool).toBeInstanceOf(ConfigError);
    expect((noTool as Error).message).toMatch(/^pg_restore --list of daily\/x\.dump failed \(could not start: .*ENOENT\)\. .*pg_restore cannot be run: install postgresql-client/);
  });
});
