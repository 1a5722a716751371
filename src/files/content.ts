import { createHash } from 'node:crypto';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { contentKey } from '../catalog/index.ts';
import { createDecryptStream, createEncryptStream, encryptBuffer, missingKeyError, type Keyring } from '../crypto/index.ts';
import { ConfigError, CryptoError, IntegrityError, PgdrillError } from '../errors/index.ts';
import type { BackupStorage } from '../storage/index.ts';
import { HashTap, pipeAll } from '../streams/index.ts';
import type { FileEntry } from './entries.ts';

// The content store: each distinct file content once, at contentKey(prefix, SHA-256 of its
// plaintext), encrypted like the backup's other objects (the per-object key derivation of the
// format gives each stored content its own key). Not compressed: uploads are mostly images and
// documents that are compressed already.

/** Files up to this size are read into memory, hashed, then stored from memory; larger ones are read twice (hash, then store). */
export const IN_MEMORY_MAX_BYTES = 4 * 1024 * 1024;

export interface ContentStore {
  storage: BackupStorage;
  prefix: string;
  /** null: contents are stored unencrypted (encryption.allowUnencrypted). */
  keyring: Keyring | null;
  chunkSize: number;
}

export const keyOf = (store: Pick<ContentStore, 'prefix'>, sha256: string, encrypted: boolean): string => contentKey(store.prefix, sha256, encrypted);

/** Stores a content held in memory; returns the bytes stored. */
export async function putContent(store: ContentStore, sha256: string, plaintext: Buffer, signal?: AbortSignal): Promise<number> {
  const body = store.keyring ? encryptBuffer(store.keyring, plaintext, { chunkSize: store.chunkSize }) : plaintext;
  await store.storage.put(keyOf(store, sha256, store.keyring !== null), body, { contentLength: body.length, signal });
  return body.length;
}

/** Passes data through; at the end fails (before the stream ends) unless it hashed to `sha256` with `size` bytes. */
function expectDigest(sha256: string, size: number, describe: (actual: { sha256: string; bytes: number }) => Error): Transform {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      const actual = hash.digest('hex');
      callback(actual === sha256 && bytes === size ? undefined : describe({ sha256: actual, bytes }));
    },
  });
}

/**
 * Stores a content read as a stream (a large file, read a second time after hashing): it must hash
 * to `sha256` again, or nothing is stored and `changed()` is thrown.
 */
export async function putContentStream(store: ContentStore, sha256: string, size: number, body: Readable, changed: () => Error, signal?: AbortSignal): Promise<number> {
  const stored = new HashTap();
  const stages: NodeJS.ReadWriteStream[] = [expectDigest(sha256, size, changed)];
  if (store.keyring) stages.push(createEncryptStream(store.keyring, { chunkSize: store.chunkSize }));
  stages.push(stored);
  const produce = pipeAll([body, ...stages], signal);
  const upload = store.storage.put(keyOf(store, sha256, store.keyring !== null), stored as unknown as Readable, { signal });
  await Promise.all([produce, upload]).catch(async (error: unknown) => {
    stored.destroy(error as Error);
    await upload.catch(() => undefined);
    throw error;
  });
  return stored.bytes;
}

/**
 * A stored content's plaintext as a stream, verified: it fails with an IntegrityError before it ends
 * unless it decrypts (authenticated) and hashes to the entry's SHA-256 and size.
 */
export async function readContent(
  store: Pick<ContentStore, 'storage' | 'prefix' | 'keyring'>,
  entry: Pick<FileEntry, 'key' | 'sha256' | 'size'>,
  encrypted: boolean,
  signal?: AbortSignal,
): Promise<Readable> {
  if (encrypted && !store.keyring) throw missingKeyError();
  const key = keyOf(store, entry.sha256, encrypted);
  const stages: NodeJS.ReadWriteStream[] = [];
  if (encrypted) stages.push(createDecryptStream(store.keyring!));
  stages.push(
    expectDigest(
      entry.sha256,
      entry.size,
      (actual) =>
        new IntegrityError(`Stored content of ${JSON.stringify(entry.key)} (${key}) does not match the file manifest: ${actual.bytes} bytes sha256=${actual.sha256}, expected ${entry.size} bytes`, {
          hint: 'It was altered or damaged in storage; restore this file from another backup and investigate the storage',
        }),
    ),
  );
  const source = await store.storage.get(key, { signal });
  // The reader gets its own stream, failed by us: the pipeline would fail its last stage with the
  // crypto layer's error, which cannot name the file.
  const out = new PassThrough();
  // A damaged small content fails within microseconds, possibly before the caller starts reading:
  // without a listener that 'error' would end the process (exit 1). The caller still gets the
  // error, from the destroyed stream, when it reads.
  out.on('error', () => {});
  (stages.at(-1) as Transform).pipe(out);
  pipeAll([source, ...stages], signal).catch((error: unknown) => out.destroy(namingFile(error, entry.key, key)));
  return out;
}

/** A decryption failure of a stored content, naming the file it is (the crypto layer knows only bytes). */
function namingFile(error: unknown, file: string, key: string): Error {
  if (!(error instanceof CryptoError)) return error as Error;
  const detail = error.message.slice(`${error.code}: `.length, error.hint ? -`. ${error.hint}`.length : undefined);
  return new CryptoError(error.code, `stored content of ${JSON.stringify(file)} (${key}): ${detail}`, { hint: error.hint, cause: error });
}

/**
 * Reads a stored content to the end and checks it (see readContent); resolves with what is wrong
 * with it (missing, damaged), or undefined when it verifies. A missing key throws.
 */
export async function verifyContent(store: Pick<ContentStore, 'storage' | 'prefix' | 'keyring'>, entry: FileEntry, encrypted: boolean, signal?: AbortSignal): Promise<Error | undefined> {
  try {
    const stream = await readContent(store, entry, encrypted, signal);
    for await (const _ of stream);
    return undefined;
  } catch (error) {
    // No key, or an interrupt: nothing to say about the content.
    if (signal?.aborted || error instanceof ConfigError) throw error;
    return error instanceof PgdrillError ? error : new IntegrityError(`Stored content of ${JSON.stringify(entry.key)} cannot be read: ${(error as Error).message}`, { cause: error });
  }
}
