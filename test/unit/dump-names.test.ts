import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/config/index.ts';
import { connectTimeoutFailure, libpqEnv, parseDatabaseUrl, pgClientConfig } from '../../src/pgtools/index.ts';
import { matchesPattern, parseTableName, tableKey } from '../../src/inspect/index.ts';

const t = (schema: string, name: string) => ({ schema, name });
const visible = ['public'];

describe('matchesPattern (pg_dump -t/-T semantics)', () => {
  it('unqualified patterns match tables in visible schemas only', () => {
    expect(matchesPattern(t('public', 'users'), 'users', visible)).toBe(true);
    expect(matchesPattern(t('registry', 'users'), 'users', visible)).toBe(false);
  });
  it('* and ? are wildcards, other regex syntax works, $ is literal', () => {
    expect(matchesPattern(t('public', 'submissions_2024'), 'public.submissions_*', visible)).toBe(true);
    expect(matchesPattern(t('public', 'log_1'), 'public.log_[0-9]*', visible)).toBe(true);
    expect(matchesPattern(t('public', 'log_a'), 'public.log_[0-9]*', visible)).toBe(false);
    expect(matchesPattern(t('x', 'a$b'), 'x.a$b', visible)).toBe(true);
    expect(matchesPattern(t('public', 'ab'), 'a?', visible)).toBe(true);
    expect(matchesPattern(t('any', '_prisma_migrations'), '*._prisma_migrations', visible)).toBe(true);
  });
  it('unquoted names fold to lower case; quoted parts are literal and keep case', () => {
    expect(matchesPattern(t('public', 'users'), 'PUBLIC.USERS', visible)).toBe(true);
    expect(matchesPattern(t('Registry Ops', 'Ọ̀rọ̀ Notes'), '"Registry Ops"."Ọ̀rọ̀ Notes"', visible)).toBe(true);
    expect(matchesPattern(t('public', 'Mixed.Dot'), 'public."Mixed.Dot"', visible)).toBe(true);
    expect(matchesPattern(t('public', 'abc'), 'public."a*"', visible)).toBe(false);
    expect(matchesPattern(t('public', 'a*'), 'public."a*"', visible)).toBe(true);
  });
});

describe('table names', () => {
  it('parses qualified and quoted names', () => {
    expect(parseTableName('audit_logs')).toEqual(t('public', 'audit_logs'));
    expect(parseTableName('"Registry Ops"."Ọ̀rọ̀ Notes"')).toEqual(t('Registry Ops', 'Ọ̀rọ̀ Notes'));
    expect(parseTableName('"a""b".c')).toEqual(t('a"b', 'c'));
  });
  it('keys never collide for names with dots', () => {
    expect(tableKey(t('a.b', 'c'))).not.toBe(tableKey(t('a', 'b.c')));
  });
});

describe('database URLs', () => {
  it('takes the password from the URL or its query, never into params, and redacts both', () => {
    const fromUserinfo = parseDatabaseUrl('postgres://app:s%40cret@db.internal:6543/oslrs?sslmode=disable');
    expect(fromUserinfo).toMatchObject({ host: 'db.internal', port: 6543, user: 'app', database: 'oslrs', password: 's@cret' });
    const fromQuery = parseDatabaseUrl('postgres://app@db/oslrs?password=S3cret!&sslmode=disable');
    expect(fromQuery.password).toBe('S3cret!');
    expect(fromQuery.params).toEqual({ sslmode: 'disable' });
    expect(libpqEnv(fromQuery)).toMatchObject({ PGPASSWORD: 'S3cret!', PGSSLMODE: 'disable', PGHOST: 'db' });
    expect(redactUrl('postgres://app:hunter2@db/oslrs')).not.toContain('hunter2');
    expect(redactUrl('postgres://app@db/oslrs?password=S3cret!')).not.toContain('S3cret');
  });
  it('gives client tools only PATH/locale and the connection: no keys, no stray PG* variables', () => {
    const saved = { ...process.env };
    Object.assign(process.env, { PGDRILL_ENCRYPTION_KEYS: 'k:secret', S3_SECRET_KEY: 's3', PGHOSTADDR: '10.9.9.9' });
    try {
      const env = libpqEnv(parseDatabaseUrl('postgres://app:pw@db/oslrs'));
      expect(env).toMatchObject({ PATH: process.env.PATH, PGHOST: 'db', PGPASSWORD: 'pw' });
      for (const name of ['PGDRILL_ENCRYPTION_KEYS', 'S3_SECRET_KEY', 'PGHOSTADDR']) expect(env).not.toHaveProperty(name);
    } finally {
      process.env = saved;
    }
  });
  it("connect timeout as libpq reads it: the URL's connect_timeout, then PGCONNECT_TIMEOUT, then the configured default; node-pg and libpq tools get the same", () => {
    const saved = process.env.PGCONNECT_TIMEOUT;
    const fallback = { defaultConnectTimeout: { seconds: 30, from: 'backup.connectTimeoutSeconds' } };
    try {
      delete process.env.PGCONNECT_TIMEOUT;
      const byDefault = parseDatabaseUrl('postgres://app@db/oslrs', 'DATABASE_URL', fallback);
      expect(byDefault.connectTimeout).toEqual({ seconds: 30, from: 'backup.connectTimeoutSeconds' });
      expect(pgClientConfig(byDefault).connectionTimeoutMillis).toBe(30_000);
      expect(libpqEnv(byDefault).PGCONNECT_TIMEOUT).toBe('30');
      process.env.PGCONNECT_TIMEOUT = '7';
      expect(parseDatabaseUrl('postgres://app@db/oslrs', 'DATABASE_URL', fallback).connectTimeout).toEqual({ seconds: 7, from: 'PGCONNECT_TIMEOUT' });
      const fromUrl = parseDatabaseUrl('postgres://app@db/oslrs?connect_timeout=3', '--target-db', fallback);
      expect(fromUrl.connectTimeout).toEqual({ seconds: 3, from: 'connect_timeout in --target-db' });
      expect(libpqEnv(fromUrl).PGCONNECT_TIMEOUT).toBe('3');
      // libpq: 1 counts as its minimum of 2; zero or negative waits indefinitely.
      expect(parseDatabaseUrl('postgres://app@db/oslrs?connect_timeout=1', 'DATABASE_URL', fallback).connectTimeout?.seconds).toBe(2);
      const forever = parseDatabaseUrl('postgres://app@db/oslrs?connect_timeout=0', 'DATABASE_URL', fallback);
      expect(forever.connectTimeout).toBeUndefined();
      expect(pgClientConfig(forever).connectionTimeoutMillis).toBe(0);
      expect(libpqEnv(forever)).not.toHaveProperty('PGCONNECT_TIMEOUT');
      expect(() => parseDatabaseUrl('postgres://app@db/oslrs?connect_timeout=3s')).toThrow(/connect_timeout in DATABASE_URL is "3s", not a whole number of seconds/);
      process.env.PGCONNECT_TIMEOUT = 'soon';
      expect(() => parseDatabaseUrl('postgres://app@db/oslrs')).toThrow(/PGCONNECT_TIMEOUT is "soon"/);
    } finally {
      if (saved === undefined) delete process.env.PGCONNECT_TIMEOUT;
      else process.env.PGCONNECT_TIMEOUT = saved;
    }
  });
  it("names a connect timeout by its value and origin, and only node-pg's timeout", () => {
    const info = { ...parseDatabaseUrl('postgres://app@db:5433/oslrs'), connectTimeout: { seconds: 3, from: 'connect_timeout in DATABASE_URL' } };
    expect(connectTimeoutFailure(new Error('timeout expired'), info)).toMatchObject({ reason: 'no answer within 3 s (connect_timeout in DATABASE_URL)', hint: expect.stringContaining('db:5433') });
    expect(connectTimeoutFailure(new Error('connect ECONNREFUSED 127.0.0.1:5433'), info)).toBeUndefined();
  });
  it('rejects what is not a postgres URL with a configuration error', () => {
    expect(() => parseDatabaseUrl('mysql://x@y/z')).toThrow(/protocol mysql:/);
    expect(() => parseDatabaseUrl(undefined)).toThrow(/DATABASE_URL is not set/);
  });
});
