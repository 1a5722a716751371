import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createDecryptStream, missingKeyError, type Keyring } from '../crypto/index.ts';
import { createDecompressStream, HashTap, pipeAll } from '../streams/index.ts';
import { type BackupManifest, type StoredObjectRef } from '../catalog/index.ts';
import { IntegrityError, PgdrillError, ScratchFolderError, StorageError } from '../errors/index.ts';
import { formatBytes } from '../format/index.ts';
import type { BackupStorage } from '../storage/index.ts';

/** The two stages overlap (one pass): their sum is the fetch's wall time. */
export interface FetchTimings {
  /** From the request until the last stored byte arrived and was hashed (decrypting alongside). */
  downloadMs: number;
  /** From then until the plaintext was decrypted, decompressed, written and both SHA-256 verified. */
  decryptMs: number;
}

/** The plaintext file's write buffer: large enough that decompressed 1 MiB pieces are written without waiting on each. */
const WRITE_BUFFER = 4 * 1024 * 1024;

export interface FetchedObject {
  /** Local plaintext file (pg_dump output), verified against the manifest. */
  path: string;
  storedSha256: string;
  plaintextSha256: string;
  timings: FetchTimings;
}

/** What a local file-system errno says about the scratch folder, for the errors that are its fault. */
const SCRATCH_FAULTS: Record<string, (folder: string) => string> = {
  ENOSPC: (folder) => `No space left in ${folder}`,
  EDQUOT: (folder) => `Disk quota exhausted in ${folder}`,
  EROFS: (folder) => `${folder} is on a read-only file system`,
};

/** The errno of a scratch-folder fault anywhere in an error's cause chain (a stream may wrap it). */
function scratchFault(error: unknown): string | undefined {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && Object.hasOwn(SCRATCH_FAULTS, code)) return code;
  }
  return undefined;
}

/** Bytes a file of `size` occupies on a file system with `blockSize` blocks. */
const onDisk = (size: number, blockSize: number) => Math.ceil(size / blockSize) * blockSize;

/**
 * A private folder in TMPDIR for a backup's files, kept only when the file system has room for
 * every object's decrypted copy (the manifest knows its size; the stored bytes are decoded as they
 * arrive and never written), so a full disk fails before anything is downloaded. A full, read-only or missing TMPDIR is a ScratchFolderError
 * (exit 3): the local machine's problem, never the backup's.
 */
export async function createFetchFolder(manifest: BackupManifest, objects: readonly StoredObjectRef[]): Promise<string> {
  const parent = os.tmpdir();
  let folder: string;
  try {
    folder = await mkdtemp(path.join(parent, 'pgdrill-restore-'));
  } catch (error) {
    const code = scratchFault(error);
    throw new ScratchFolderError(parent, `Cannot create a temp folder in ${parent} to fetch backup ${manifest.id}: ${code ? SCRATCH_FAULTS[code]!(parent) : (error as Error).message}`, {
      hint: 'Point TMPDIR at an existing, writable folder with room for the backup; the backup itself was not read',
      cause: error,
    });
  }
  // After mkdtemp, so that a read-only file system (which reports no free space) is named as such.
  const fs = await statfs(folder);
  const needed = objects.reduce((sum, o) => sum + onDisk(o.plaintextSize, fs.bsize), 0);
  const free = fs.bavail * fs.bsize;
  if (free < needed) {
    await rm(folder, { recursive: true, force: true });
    throw new ScratchFolderError(parent, `Not enough space in ${parent} to fetch backup ${manifest.id}: it needs ${formatBytes(needed)} (decrypted copies), ${formatBytes(free)} are free`, {
      hint: `Free space there or point TMPDIR at a folder with at least ${formatBytes(needed)} free; the backup itself was not read`,
    });
  }
  return folder;
}

/** A failure to write into the scratch folder as the local error it is, or undefined for any other failure. */
function asScratchFolderError(error: unknown, workDir: string, object: StoredObjectRef): ScratchFolderError | undefined {
  const code = scratchFault(error);
  if (!code) return undefined;
  return new ScratchFolderError(workDir, `${SCRATCH_FAULTS[code]!(workDir)} while fetching ${object.key} (${code})`, {
    hint: `This is the local scratch folder, not the backup: this object needs ${formatBytes(object.plaintextSize)} there decrypted. Free space or point TMPDIR at another folder, then run again`,
    cause: error,
  });
}

/** SHA-256 and size of a stored object read again from storage; undefined when it cannot be read. */
async function storedDigest(storage: BackupStorage, key: string): Promise<{ bytes: number; sha256: string } | undefined> {
  const tap = new HashTap();
  try {
    await pipeAll([await storage.get(key), tap, new Writable({ write: (_chunk, _encoding, done) => done() })]);
    return { bytes: tap.bytes, sha256: tap.digest() };
  } catch {
    return undefined;
  }
}

const storedMismatch = (object: StoredObjectRef, actual: { bytes: number; sha256: string }): IntegrityError =>
  new IntegrityError(
    `Stored object ${object.key} does not match its manifest: ${actual.bytes} bytes sha256=${actual.sha256}, expected ${object.size} bytes sha256=${object.sha256}`,
    { hint: 'The object was altered or damaged in storage; restore from another backup (`pgdrill list`) and investigate the storage' },
  );

/**
 * Downloads one stored object and, in the same pass, decrypts and decompresses it into a plaintext
 * file in `workDir`, hashing the stored bytes and the plaintext on the way; once the last byte has
 * arrived both sizes and SHA-256 digests are checked against the manifest. The file is returned
 * only then: nothing is restored from a file that has not been fully downloaded and verified (the
 * caller discards `workDir` on failure). One pass instead of a stored copy written and read back.
 * Download failures are StorageErrors (exit 2); any mismatch or authentication failure is an
 * IntegrityError/CryptoError (exit 4) — when decoding fails, the stored object is read once more to
 * tell a damaged object (its SHA-256 differs: "does not match its manifest") from a sound one that
 * does not decrypt; no space, quota or a read-only `workDir` is a ScratchFolderError (exit 3).
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
  const plainPath = `${workDir}/${name}`;
  const decoders: NodeJS.ReadWriteStream[] = [];
  if (manifest.encryption.algorithm !== 'none') {
    if (!options.keyring) throw missingKeyError([{ id: manifest.id, keyId: manifest.encryption.keyId }]);
    decoders.push(createDecryptStream(options.keyring));
  }
  decoders.push(createDecompressStream(manifest.compression.algorithm));

  const started = Date.now();
  let downloadedAt = started;
  const stored = new HashTap();
  const plain = new HashTap();
  // Every stored byte has passed the hash: the download is complete, decoding finishes its tail.
  stored.once('finish', () => (downloadedAt = Date.now()));
  const downloadFailure = (error: unknown): Error => {
    if (error instanceof PgdrillError) return error;
    return new StorageError(`Download of ${object.key} from ${storage.location} failed: ${(error as Error).message}`, {
      hint: 'Check storage connectivity and run again',
      cause: error,
    });
  };
  try {
    let body: NodeJS.ReadableStream;
    try {
      body = await storage.get(object.key);
    } catch (error) {
      throw downloadFailure(error);
    }
    await pipeAll([body, stored, ...decoders, plain, createWriteStream(plainPath, { highWaterMark: WRITE_BUFFER })], options.signal);
  } catch (error) {
    const local = asScratchFolderError(error, workDir, object);
    if (local) throw local;
    // The storage front raises a StorageError for anything that goes wrong while reading.
    if (error instanceof StorageError || options.signal?.aborted) throw downloadFailure(error);
    const actual = await storedDigest(storage, object.key);
    if (actual && (actual.bytes !== object.size || actual.sha256 !== object.sha256)) throw storedMismatch(object, actual);
    if (error instanceof PgdrillError) throw error;
    throw new IntegrityError(`Cannot decode ${object.key}: ${(error as Error).message}`, {
      hint: 'The object is damaged or was compressed differently than its manifest says; restore from another backup',
      cause: error,
    });
  }
  if (stored.bytes !== object.size || stored.digest() !== object.sha256) throw storedMismatch(object, { bytes: stored.bytes, sha256: stored.digest() });
  if (plain.bytes !== object.plaintextSize || plain.digest() !== object.plaintextSha256) {
    throw new IntegrityError(
      `Plaintext of ${object.key} does not match its manifest: sha256=${plain.digest()} (${plain.bytes} bytes), expected ${object.plaintextSha256} (${object.plaintextSize} bytes)`,
      { hint: 'Restore from another backup and investigate how this one was produced' },
    );
  }
  const finished = Date.now();
  return { path: plainPath, storedSha256: stored.digest(), plaintextSha256: plain.digest(), timings: { downloadMs: downloadedAt - started, decryptMs: finished - downloadedAt } };
}
