import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseDatabaseUrl, passwordFromFile } from '../../src/pgtools/connection.ts';
import { scratchDir } from '../helpers/scratch.ts';

// ~/.pgpass as libpq reads it, so pg_dump (libpq) and the node-postgres client agree on the
// password. Real files with real modes.

function passfile(lines: string[], mode = 0o600): string {
  const file = path.join(scratchDir('pgpass'), '.pgpass');
  writeFileSync(file, `${lines.join('\n')}\n`);
  chmodSync(file, mode);
  return file;
}

const target = { host: 'db.internal', port: 5432, database: 'oslrs', user: 'app' };

describe('passwordFromFile', () => {
  it('takes the first matching line; * matches any field; comments and short lines are skipped', () => {
    const file = passfile([
      '# host:port:database:username:password',
      'db.internal:5432:oslrs',
      'other:5432:oslrs:app:not-this-host',
      'db.internal:5433:oslrs:app:not-this-port',
      'db.internal:5432:*:app:first-match',
      '*:*:*:*:catch-all',
    ]);
    expect(passwordFromFile(file, target)).toEqual({ password: 'first-match' });
    expect(passwordFromFile(file, { ...target, user: 'someone' })).toEqual({ password: 'catch-all' });
  });

  it('unescapes \\: and \\\\ in every field, and a * is a wildcard only when unescaped', () => {
    const file = passfile(['db.internal:5432:oslrs:a\\:b:pa\\:ss\\\\word:ignored', 'db.internal:5432:oslrs:\\*:literal-star', '*:*:*:*:CRLF-stripped\r']);
    expect(passwordFromFile(file, { ...target, user: 'a:b' })).toEqual({ password: 'pa:ss\\word' });
    expect(passwordFromFile(file, { ...target, user: '*' })).toEqual({ password: 'literal-star' });
    expect(passwordFromFile(file, { ...target, user: 'x' })).toEqual({ password: 'CRLF-stripped' });
  });

  it('matches a Unix socket directory as localhost; an empty password is no password', () => {
    const file = passfile(['localhost:5432:oslrs:app:via-socket', 'db.internal:5432:oslrs:app:']);
    expect(passwordFromFile(file, { ...target, host: '/var/run/postgresql' })).toEqual({ password: 'via-socket' });
    expect(passwordFromFile(file, target)).toEqual({});
  });

  it('ignores, as libpq does, a file that group or others may read, and says so', () => {
    const file = passfile(['*:*:*:*:secret'], 0o644);
    const found = passwordFromFile(file, target);
    expect(found.password).toBeUndefined();
    expect(found.ignored).toBe(`${file} was ignored: group or others may access it (mode 644); chmod 0600 ${file}`);
    expect(passwordFromFile(path.dirname(file), target).ignored).toMatch(/is not a plain file/);
    expect(passwordFromFile(path.join(path.dirname(file), 'missing'), target)).toEqual({});
  });
});

describe('parseDatabaseUrl password sources', () => {
  // Set on the real environment (os.homedir() reads HOME from it), restored after each test.
  const names = ['HOME', 'PGPASSWORD', 'PGPASSFILE'] as const;
  const saved = Object.fromEntries(names.map((name) => [name, process.env[name]]));
  let home: string;
  beforeEach(() => {
    home = scratchDir('home');
    process.env.HOME = home;
    delete process.env.PGPASSWORD;
    delete process.env.PGPASSFILE;
  });
  afterEach(() => {
    for (const name of names) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('follows libpq: URL, then PGPASSWORD, then PGPASSFILE or ~/.pgpass', () => {
    writeFileSync(path.join(home, '.pgpass'), 'db.internal:5432:oslrs:app:from-home\n', { mode: 0o600 });
    expect(parseDatabaseUrl('postgres://app@db.internal/oslrs').password).toBe('from-home');
    process.env.PGPASSFILE = passfile(['*:*:oslrs:app:from-pgpassfile']);
    expect(parseDatabaseUrl('postgres://app@db.internal/oslrs').password).toBe('from-pgpassfile');
    const viaParam = passfile(['*:*:*:*:from-passfile-param']);
    const withParam = parseDatabaseUrl(`postgres://app@db.internal/oslrs?passfile=${encodeURIComponent(viaParam)}&sslmode=disable`);
    expect(withParam.password).toBe('from-passfile-param');
    expect(withParam.params).toEqual({ sslmode: 'disable' });
    process.env.PGPASSWORD = 'from-env';
    expect(parseDatabaseUrl('postgres://app@db.internal/oslrs').password).toBe('from-env');
    expect(parseDatabaseUrl('postgres://app:from-url@db.internal/oslrs').password).toBe('from-url');
  });

  it('without any password, says where to give one (and why a password file was ignored)', () => {
    const none = parseDatabaseUrl('postgres://app@db.internal:6543/oslrs');
    expect(none.password).toBeUndefined();
    expect(none.noPassword).toBe(`no password for user app on db.internal:6543/oslrs: set PGPASSWORD, a password in DATABASE_URL, or ${path.join(home, '.pgpass')}`);
    writeFileSync(path.join(home, '.pgpass'), '*:*:*:*:pw\n', { mode: 0o640 });
    chmodSync(path.join(home, '.pgpass'), 0o640);
    const target = parseDatabaseUrl('postgres://app@db.internal:6543/oslrs', '--target-db');
    expect(target.password).toBeUndefined();
    expect(target.noPassword).toMatch(/^no password for user app on db\.internal:6543\/oslrs: set PGPASSWORD or \S+\.pgpass \(\S+ was ignored: group or others may access it \(mode 640\)/);
  });
});
