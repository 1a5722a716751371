// Light on purpose: nothing here loads the AWS SDK. An s3:// location loads it on its first call
// (createStorageFromUrl / openStorage); src/storage/s3.ts is the explicit heavy entry.
export type { BackupStorage, CallOptions, PutOptions, StorageDriver, StoredObject } from './types.ts';
export { createLazyStorage, createStorage, type StorageOptions } from './front.ts';
export { createLocalStorage, findLocalLeftovers, type LocalStorageOptions } from './local.ts';
export type { ChecksumMode, S3StorageOptions } from './s3.ts';
export { createStorageFromUrl, parseStorageUrl, type StorageTarget } from './url.ts';
export { openStorage } from './from-config.ts';
export { wrapStorage } from './wrap.ts';
export { makeDirectory } from './directory.ts';
export { compareKeys } from './keys.ts';
