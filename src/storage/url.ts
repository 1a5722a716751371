import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { redactUrl } from '../config/index.ts';
import { ConfigError } from '../errors/index.ts';
import { createLazyStorage, type StorageOptions } from './front.ts';
import { s3Location } from './keys.ts';
import { createLocalStorage } from './local.ts';
import type { S3StorageOptions } from './s3.ts';
import type { BackupStorage } from './types.ts';

/** Where PGDRILL_STORAGE points, parsed. */
export type StorageTarget = { kind: 'local'; root: string } | { kind: 's3'; bucket: string; prefix: string };

const ACCEPTED = 'a folder (./dir, relative/dir, /abs/dir or file:///abs/dir) or s3://bucket/prefix';
const HINT = `Set PGDRILL_STORAGE (or storage.url) to ${ACCEPTED}`;

/** The value as it may be shown: credentials masked. */
function shown(value: string): string {
  return JSON.stringify(redactUrl(value));
}

function invalid(value: string, why: string): ConfigError {
  return new ConfigError(`storage ${shown(value)} is not valid: ${why}; expected ${ACCEPTED}`, { hint: HINT });
}

/**
 * Parses a storage location: `./dir` and `relative/dir` (against process.cwd()), `/abs/dir`,
 * `file:///abs/dir`, `s3://bucket/prefix`. Throws ConfigError naming the value otherwise.
 */
export function parseStorageUrl(value: string): StorageTarget {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(String(value), 'it is empty');
  if (value !== value.trim()) throw invalid(value, 'it has leading or trailing spaces');

  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  if (scheme === 's3') return parseS3(value);
  if (scheme === 'file') {
    if (!value.toLowerCase().startsWith('file://')) throw invalid(value, 'a file URL starts with file:// (file:///abs/dir)');
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw invalid(value, 'it is not a valid URL');
    }
    if (url.search || url.hash) throw invalid(value, 'a file URL takes no ?query or #fragment');
    let root: string;
    try {
      root = fileURLToPath(url);
    } catch (error) {
      throw invalid(value, error instanceof Error ? error.message : 'it is not a local file URL');
    }
    return { kind: 'local', root: path.resolve(root) };
  }
  // Any other `scheme://` (http, gs, azure, ftp…) is a mistake, not a folder named "http:".
  if (scheme && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) throw invalid(value, `the ${scheme}:// scheme is not supported`);
  return { kind: 'local', root: path.resolve(process.cwd(), value) };
}

function parseS3(value: string): StorageTarget {
  const match = /^s3:\/\/([^/?#]*)(\/[^?#]*)?([?#].*)?$/i.exec(value);
  if (!match) throw invalid(value, 'an S3 location is written s3://bucket or s3://bucket/prefix');
  const [, bucket = '', rawPath = '', rest] = match;
  if (rest) throw invalid(value, 'an S3 location takes no ?query or #fragment; set region, endpoint and credentials with S3_* variables');
  if (bucket.includes('@') || bucket.includes(':')) throw invalid(value, 'credentials and ports do not belong in the S3 location; use S3_ACCESS_KEY, S3_SECRET_KEY and S3_ENDPOINT');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(bucket)) {
    throw invalid(value, bucket === '' ? 'the bucket name is missing' : `"${bucket}" is not a valid bucket name (letters, digits, dots, hyphens)`);
  }
  const trimmed = rawPath.replace(/^\//, '').replace(/\/$/, '');
  let prefix = '';
  if (trimmed !== '') {
    let segments: string[];
    try {
      segments = trimmed.split('/').map((segment) => decodeURIComponent(segment));
    } catch {
      throw invalid(value, 'the prefix has an invalid %-escape');
    }
    for (const segment of segments) {
      if (segment === '' || segment === '.' || segment === '..' || segment.includes('/') || segment.includes('\0')) {
        throw invalid(value, `the prefix has an empty, '.', '..' or encoded '/' segment`);
      }
    }
    prefix = segments.join('/');
  }
  return { kind: 's3', bucket, prefix };
}

/** Opens the storage a location names; `s3` carries region, endpoint and credentials for s3:// locations. */
export function createStorageFromUrl(url: string, s3: Omit<S3StorageOptions, 'bucket' | 'prefix'>, storageOptions?: StorageOptions): BackupStorage {
  const target = parseStorageUrl(url);
  if (target.kind === 'local') return createLocalStorage({ root: target.root }, storageOptions);
  // The AWS SDK loads on the first call, not here: folder-backed runs and `--help` never pay for it.
  const options: S3StorageOptions = { ...s3, bucket: target.bucket, prefix: target.prefix };
  return createLazyStorage(s3Location(target.bucket, target.prefix), () => import('./s3.ts').then((m) => m.createS3Driver(options)), storageOptions);
}
