import { createReadStream, createWriteStream } from 'node:fs';
import { createDecryptStream, missingKeyError, type Keyring } from '../crypto/index.ts';
import { createDecompressStream, HashTap, pipeAll } from '../streams/index.ts';
import { type BackupManifest, type StoredObjectRef } from '../catalog/index.ts';
import { IntegrityError, PgdrillError, StorageError } from '../errors/index.ts';
import type { BackupStorage } from '../storage/index.ts';

export interface FetchTimings {
  /** Download with stored SHA-256 and size verified. */
  downloadMs: number;
  /** Decryption (authenticated) and decompression with plaintext SHA-256 verified. */
  decryptMs: number;
}

export interface FetchedObject {
  /** Local plaintext file (pg_dump output), verified against the manifest. */
  path: string;
  storedSha256: string;
  plaintextSha256: string;
  timings: FetchTimings;
}

/**
 * Downloads one stored object to `workDir` and verifies its size and SHA-256, then decrypts and
 * decompresses it to a plaintext file and verifies that SHA-256 too. Nothing is restored from a
 * file that has not been fully downloaded and verified. Download failures are StorageErrors (exit
 * 2); any mismatch or authentication failure is an IntegrityError/CryptoError (exit 4).
 */
export async function fetchObject(options: {
  storage: BackupStorage;
  manifest: BackupManifest;
  object: StoredObjectRef;
  keyring: Keyring | null;
  workDir: string;
  name: string;
  signal?: AbortSignal;
}): Promise<FetchedObject> {
  const { storage, manifest, object, workDir, name } = options;
  const storedPath = `${workDir}/${name}.stored`;
  const plainPath = `${workDir}/${name}`;

  let started = Date.now();
  const stored = new HashTap();
  try {
    await pipeAll([await storage.get(object.key), stored, createWriteStream(storedPath)], options.signal);
  } catch (error) {
    if (error instanceof PgdrillError) throw error;
    throw new StorageError(`Download of ${object.key} from ${storage.location} failed: ${(error as Error).message}`, {
      hint: 'Check storage connectivity and run again',
      cause: error,
    });
  }
  const downloadMs = Date.now() - started;
  if (stored.bytes !== object.size || stored.digest() !== object.sha256) {
    throw new IntegrityError(
      `Stored object ${object.key} does not match its manifest: ${stored.bytes} bytes sha256=${stored.digest()}, expected ${object.size} bytes sha256=${object.sha256}`,
      { hint: 'The object was altered or damaged in storage; restore from another backup (`pgdrill list`) and investigate the storage' },
    );
  }

  started = Date.now();
  const plain = new HashTap();
  const stages: NodeJS.ReadWriteStream[] = [];
  if (manifest.encryption.algorithm !== 'none') {
    if (!options.keyring) {
      throw missingKeyError([{ id: manifest.id, keyId: manifest.encryption.keyId }]);
    }
    stages.push(createDecryptStream(options.keyring));
  }
  stages.push(createDecompressStream(manifest.compression.algorithm), plain);
  await pipeAll([createReadStream(storedPath), ...stages, createWriteStream(plainPath)], options.signal).catch((error: unknown) => {
    if (error instanceof PgdrillError) throw error;
    throw new IntegrityError(`Cannot decode ${object.key}: ${(error as Error).message}`, {
      hint: 'The object is damaged or was compressed differently than its manifest says; restore from another backup',
      cause: error,
    });
  });
  if (plain.bytes !== object.plaintextSize || plain.digest() !== object.plaintextSha256) {
    throw new IntegrityError(
      `Plaintext of ${object.key} does not match its manifest: sha256=${plain.digest()} (${plain.bytes} bytes), expected ${object.plaintextSha256} (${object.plaintextSize} bytes)`,
      { hint: 'Restore from another backup and investigate how this one was produced' },
    );
  }
  return { path: plainPath, storedSha256: stored.digest(), plaintextSha256: plain.digest(), timings: { downloadMs, decryptMs: Date.now() - started } };
}
