export type { BackupStorage, PutOptions, StoredObject } from './types.ts';
export { createLocalStorage, findLocalLeftovers, type LocalStorageOptions } from './local.ts';
export { createS3Storage, type ChecksumMode, type S3StorageOptions } from './s3.ts';
export { createStorageFromUrl, parseStorageUrl, type StorageTarget } from './url.ts';
export { openStorage } from './from-config.ts';
