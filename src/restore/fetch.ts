import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDecryptStream, missingKeyError, type Keyring } from '../crypto/index.ts';
import { createDecompressStream, HashTap, pipeAll } from '../streams/index.ts';
import { type BackupManifest, type StoredObjectRef } from '../catalog/index.ts';
import { IntegrityError, PgdrillError, ScratchFolderError, StorageError } from '../errors/index.ts';
import { formatBytes } from '../format/index.ts';
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
 * every object's stored and decrypted copy (the manifest knows both sizes), so a full disk fails
 * before anything is downloaded. A full, read-only or missing TMPDIR is a ScratchFolderError
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
  const needed = objects.reduce((sum, o) => sum + onDisk(o.size, fs.bsize) + onDisk(o.plaintextSize, fs.bsize), 0);
  const free = fs.bavail * fs.bsize;
  if (free < needed) {
    await rm(folder, { recursive: true, force: true });
    throw new ScratchFolderError(parent, `Not enough space in ${parent} to fetch backup ${manifest.id}: it needs ${formatBytes(needed)} (stored and decrypted copies), ${formatBytes(free)} are free`, {
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
    hint: `This is the local scratch folder, not the backup: this object needs ${formatBytes(object.size + object.plaintextSize)} there. Free space or point TMPDIR at another folder, then run again`,
    cause: error,
  });
}

/**
 * Downloads one stored object to `workDir` and verifies its size and SHA-256, then decrypts and
 * decompresses it to a plaintext file and verifies that SHA-256 too. Nothing is restored from a
 * file that has not been fully downloaded and verified. Download failures are StorageErrors (exit
 * 2); any mismatch or authentication failure is an IntegrityError/CryptoError (exit 4); no
 * space, quota or a read-only `workDir` is a ScratchFolderError (exit 3), whichever step hits it.
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
    const local = asScratchFolderError(error, workDir, object);
    if (local) throw local;
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
    const local = asScratchFolderError(error, workDir, object);
    if (local) throw local;
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
