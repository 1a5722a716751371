import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.ts';
import { createStorageFromUrl, parseStorageUrl } from '../../src/storage/url.ts';

const s3Options = { region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'id', secretAccessKey: 'secret' } };

describe('parseStorageUrl', () => {
  it('accepts folders: relative (against the cwd), ./relative, absolute and file:// URLs', () => {
    expect(parseStorageUrl('./backups')).toEqual({ kind: 'local', root: path.resolve(process.cwd(), 'backups') });
    expect(parseStorageUrl('var/backups/')).toEqual({ kind: 'local', root: path.resolve(process.cwd(), 'var/backups') });
    expect(parseStorageUrl('../up')).toEqual({ kind: 'local', root: path.resolve(process.cwd(), '../up') });
    expect(parseStorageUrl('/srv/backups')).toEqual({ kind: 'local', root: '/srv/backups' });
    expect(parseStorageUrl('/srv/backups/')).toEqual({ kind: 'local', root: '/srv/backups' });
    expect(parseStorageUrl('file:///srv/backups')).toEqual({ kind: 'local', root: '/srv/backups' });
    expect(parseStorageUrl('file:///srv/my%20backups')).toEqual({ kind: 'local', root: '/srv/my backups' });
    expect(parseStorageUrl('file://localhost/srv/b')).toEqual({ kind: 'local', root: '/srv/b' });
    expect(parseStorageUrl('dir:with-colon')).toEqual({ kind: 'local', root: path.resolve(process.cwd(), 'dir:with-colon') });
  });

  it('accepts s3://bucket and s3://bucket/prefix', () => {
    expect(parseStorageUrl('s3://my-bucket')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: '' });
    expect(parseStorageUrl('s3://my-bucket/')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: '' });
    expect(parseStorageUrl('s3://my.bucket/pg/prod')).toEqual({ kind: 's3', bucket: 'my.bucket', prefix: 'pg/prod' });
    expect(parseStorageUrl('s3://b1/pg/prod/')).toEqual({ kind: 's3', bucket: 'b1', prefix: 'pg/prod' });
    expect(parseStorageUrl('S3://b1/a%20b')).toEqual({ kind: 's3', bucket: 'b1', prefix: 'a b' });
  });

  it.each([
    ['', /empty/],
    ['   ', /empty/],
    [' ./dir', /spaces/],
    ['s3://', /bucket name is missing/],
    ['s3:///prefix', /bucket name is missing/],
    ['s3:bucket/x', /s3:\/\/bucket/],
    ['s3://bucket//x', /segment/],
    ['s3://bucket/a/../b', /segment/],
    ['s3://bucket/a%2Fb', /segment/],
    ['s3://bucket/%E0%A4%A', /%-escape/],
    ['s3://bucket/x?region=eu-west-1', /query/],
    ['s3://bad_bucket!/x', /not a valid bucket name/],
    ['s3://host:9000/bucket', /S3_ENDPOINT/],
    ['file:relative', /file:\/\//],
    ['file://otherhost/srv/b', /not valid/],
    ['file:///srv/b?x=1', /query/],
    ['http://minio:9000/bucket', /http:\/\/ scheme is not supported/],
    ['gs://bucket/x', /gs:\/\/ scheme is not supported/],
  ])('rejects %j with a ConfigError naming the value and the accepted forms', (value, why) => {
    let error: unknown;
    try {
      parseStorageUrl(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(why);
    expect(message).toContain(JSON.stringify(value));
    expect(message).toContain('s3://bucket/prefix');
    expect(message).toContain('file:///abs/dir');
    expect((error as ConfigError).exitCode).toBe(3);
  });

  it('masks credentials embedded in a URL', () => {
    let message = '';
    try {
      parseStorageUrl('s3://AKIA123:topsecret@bucket/x');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('s3://***@bucket/x');
    expect(message).not.toContain('topsecret');
    expect(message).not.toContain('AKIA123');
  });
});

describe('createStorageFromUrl', () => {
  it('opens a folder or an S3 bucket with the location it names', async () => {
    const local = createStorageFromUrl('file:///srv/pgdrill', s3Options);
    expect(local.location).toBe('file:///srv/pgdrill');
    const s3 = createStorageFromUrl('s3://bucket/pg/prod/', s3Options);
    expect(s3.location).toBe('s3://bucket/pg/prod');
    await Promise.all([local.close(), s3.close()]);
  });

  it('throws ConfigError for anything else', () => {
    expect(() => createStorageFromUrl('ftp://x/y', s3Options)).toThrow(ConfigError);
  });
});
