import { createReadStream, createWriteStream } from 'node:fs';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { BackupManifest, FileSetRecord, StoredObjectRef } from '../catalog/index.ts';
import { createDecryptStream, createEncryptStream, missingKeyError, type Keyring } from '../crypto/index.ts';
import { IntegrityError, PgdrillError } from '../errors/index.ts';
import type { BackupStorage } from '../storage/index.ts';
import { createCompressStream, createDecompressStream, HashTap, pipeAll, type CompressionAlgorithm } from '../streams/index.ts';
import { readEntries, type FileEntry } from './entries.ts';

// A backup's own list objects (file manifests, digest lists) go through the backup's pipeline:
// plaintext SHA-256, compression, encryption, stored SHA-256; reading one back streams it through
// the reverse and verifies both digests before its last byte is given out.

/** How a backup's objects are compressed and encrypted. */
export interface ObjectFormat {
  compression: CompressionAlgorithm;
  /** zstd or gzip level. */
  level: number;
  /** null: stored unencrypted (encryption.allowUnencrypted). */
  keyring: Keyring | null;
  chunkSize: number;
}

/** Streams `body` through SHA-256, compression, encryption and SHA-256 into `key`. */
export async function storeObject(storage: BackupStorage, key: string, body: AsyncIterable<Buffer | string>, format: ObjectFormat, signal?: AbortSignal): Promise<StoredObjectRef> {
  const plain = new HashTap();
  const stored = new HashTap();
  const stages: NodeJS.ReadWriteStream[] = [plain, createCompressStream(format.compression, format.level)];
  if (format.keyring) stages.push(createEncryptStream(format.keyring, { chunkSize: format.chunkSize }));
  stages.push(stored);
  const source = Readable.from(body, { objectMode: false });
  const produce = pipeAll([source, ...stages], signal);
  const upload = storage.put(key, stored as unknown as Readable, { signal });
  const [, object] = await Promise.all([produce, upload]).catch(async (error: unknown) => {
    stored.destroy(error as Error);
    await upload.catch(() => undefined);
    throw error;
  });
  if (object.size !== stored.bytes) {
    throw new PgdrillError(`Stored size of ${key} is ${object.size} bytes, expected ${stored.bytes}`, { hint: 'Storage dropped data; run the backup again' });
  }
  return { key, size: stored.bytes, sha256: stored.digest(), plaintextSize: plain.bytes, plaintextSha256: plain.digest() };
}

/** The format a manifest's objects were written in, for reading them back. */
export function manifestFormat(manifest: Pick<BackupManifest, 'compression' | 'encryption'>): { compression: CompressionAlgorithm; encrypted: boolean } {
  return { compression: manifest.compression.algorithm, encrypted: manifest.encryption.algorithm !== 'none' };
}

/** Passes data through and, at the end, runs `check`, whose error fails the stream before it ends. */
function checkAtEnd(check: () => void): Transform {
  return new Transform({
    transform: (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) => callback(null, chunk),
    flush(callback: TransformCallback) {
      try {
        check();
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

/**
 * Streams a stored object's plaintext (downloaded, decrypted, decompressed). The stored and
 * plaintext sizes and SHA-256 are checked against `ref` at the end: a mismatch fails the stream
 * with an IntegrityError before it ends, so a reader that reaches the end has read verified data.
 */
export async function readObject(
  storage: BackupStorage,
  ref: StoredObjectRef,
  options: { compression: CompressionAlgorithm; encrypted: boolean; keyring: Keyring | null; owner: string; signal?: AbortSignal },
): Promise<Readable> {
  if (options.encrypted && !options.keyring) throw missingKeyError();
  const stored = new HashTap();
  const plain = new HashTap();
  const stages: NodeJS.ReadWriteStream[] = [stored];
  if (options.encrypted) stages.push(createDecryptStream(options.keyring!));
  stages.push(
    createDecompressStream(options.compression),
    plain,
    checkAtEnd(() => {
      if (stored.bytes !== ref.size || stored.digest() !== ref.sha256) {
        throw new IntegrityError(`Stored object ${ref.key} (${options.owner}) does not match its manifest: ${stored.bytes} bytes sha256=${stored.digest()}, expected ${ref.size} bytes sha256=${ref.sha256}`, {
          hint: 'It was altered or damaged in storage; use another backup and investigate the storage',
        });
      }
      if (plain.bytes !== ref.plaintextSize || plain.digest() !== ref.plaintextSha256) {
        throw new IntegrityError(`Plaintext of ${ref.key} (${options.owner}) does not match its manifest: ${plain.bytes} bytes sha256=${plain.digest()}`, {
          hint: 'Use another backup and investigate how this one was produced',
        });
      }
    }),
  );
  const source = await storage.get(ref.key, { signal: options.signal });
  const out = stages.at(-1) as Transform;
  // Errors of any stage reach the last one, so a reader sees them.
  pipeAll([source, ...stages], options.signal).catch((error: unknown) => out.destroy(error as Error));
  return out;
}

/**
 * Downloads a file set's file manifest into `folder` (a private scratch folder), verified end to
 * end, and returns its local path: readers then stream it from local disk.
 */
export async function fetchFileManifest(
  storage: BackupStorage,
  record: FileSetRecord,
  manifest: Pick<BackupManifest, 'id' | 'compression' | 'encryption'>,
  keyring: Keyring | null,
  folder: string,
  signal?: AbortSignal,
): Promise<string> {
  const file = path.join(folder, `${manifest.id}.files-${record.name}.ndjson`);
  const plaintext = await readObject(storage, record.manifest, { ...manifestFormat(manifest), keyring, owner: `file manifest of "${record.name}" in backup ${manifest.id}`, signal });
  await pipeAll([plaintext, createWriteStream(file)], signal);
  return file;
}

/** The entries of a file manifest fetched to local disk. */
export function localEntries(file: string, label: string): AsyncGenerator<FileEntry> {
  return readEntries(createReadStream(file, { highWaterMark: 256 * 1024 }), label);
}
