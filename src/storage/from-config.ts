import type { PgdrillConfig } from '../config/index.ts';
import type { StorageOptions } from './front.ts';
import type { BackupStorage } from './types.ts';
import { createStorageFromUrl } from './url.ts';

/**
 * The storage named by the configuration (PGDRILL_STORAGE and the S3_* settings). `signal` (e.g.
 * the command's interrupt) aborts every call in flight.
 */
export function openStorage(config: PgdrillConfig, options?: StorageOptions): BackupStorage {
  const s3 = config.storage.s3;
  return createStorageFromUrl(config.storage.url, {
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials: s3.accessKeyId && s3.secretAccessKey ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } : undefined,
    requestChecksumCalculation: s3.requestChecksumCalculation,
    responseChecksumValidation: s3.responseChecksumValidation,
    partSize: s3.partSizeMiB * 1024 * 1024,
    queueSize: s3.queueSize,
    connectTimeoutMs: s3.connectTimeoutMs,
    requestTimeoutMs: s3.requestTimeoutMs,
    listSortLimit: s3.listSortLimit,
  }, options);
}
