// Encryption at rest for backup objects: a STREAM construction (as in age and Tink's streaming
// AEAD) of AES-256-GCM chunks under per-object keys derived from a master key in
// PGDRILL_ENCRYPTION_KEYS. Format and key handling: docs/encryption.md.

export {
  ENCRYPTION_KEYS_ENV,
  KEY_ID_PATTERN,
  MASTER_KEY_BYTES,
  defaultKeyId,
  generateKey,
  isValidKeyId,
  keyFingerprint,
  parseKeyring,
} from './keyring.ts';
export type { Keyring, MasterKey } from './keyring.ts';
export { loadKeyring, missingKeyError, type EncryptedBackup } from './from-config.ts';

export {
  DEFAULT_CHUNK_SIZE,
  ENCRYPTION_ALGORITHM,
  FORMAT_VERSION,
  MAX_CHUNK_SIZE,
  MAX_HEADER_BYTES,
  MIN_CHUNK_SIZE,
  looksEncrypted,
  readEncryptionHeader,
} from './format.ts';
export type { EncryptionHeaderInfo } from './format.ts';

export { StreamEncryptor, createEncryptStream, encryptBuffer } from './encrypt.ts';
export type { EncryptOptions } from './encrypt.ts';

export { StreamDecryptor, createDecryptStream, decryptBuffer } from './decrypt.ts';
