import type { Readable } from 'node:stream';
import type { StoredObjectRef } from '../catalog/index.ts';
import type { PgdrillConfig } from '../config/index.ts';
import { createEncryptStream, type Keyring } from '../crypto/index.ts';
import { BackupError, StorageError } from '../errors/index.ts';
import { pgToolError, spawnPgTool, type PgToolFailure } from '../pgtools/index.ts';
import type { BackupStorage } from '../storage/index.ts';
import { createCompressStream, gateEnd, HashTap, pipeAll } from '../streams/index.ts';

/** Plaintext bytes read from the tool so far, and for how long. */
export interface BackupProgress {
  /** Plaintext bytes read from pg_dump so far. */
  bytes: number;
  elapsedMs: number;
}

export interface StreamToStorageOptions {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** How errors name it: `pg_dump`, `pg_dumpall --roles-only`. */
  what: string;
  /** Secrets to blank out of its error output (a password passed in `env`). */
  scrub?: string[];
  /** The object's key (named in errors). */
  key: string;
  /** Takes the encoded bytes: a storage put, or memory for an object published later. */
  store: (body: Readable) => Promise<{ size: number }>;
  compression: PgdrillConfig['backup']['compression'];
  level: number;
  keyring: Keyring | null;
  chunkSize: number;
  signal?: AbortSignal;
  onProgress?: (progress: BackupProgress) => void;
  /** A better error than the tool's own for a failure the caller recognises; undefined keeps the tool's. */
  explainFailure?: (failure: PgToolFailure) => Promise<Error> | undefined;
}

/** Runs a dump command (pg_dump, pg_dumpall, redis-cli --rdb) and streams its stdout → SHA-256 → compress → encrypt → SHA-256 → `store`. */
export async function encodeCommandOutput(o: StreamToStorageOptions): Promise<StoredObjectRef> {
  const started = Date.now();
  // libpqEnv on top of childEnv is the whole environment: no keys or S3 secrets, and no stray PG*
  // variables that could point pg_dump at another server than the one whose snapshot it must import.
  const child = spawnPgTool(o.command, o.args, { env: o.env, command: o.what, cancelSignal: o.signal, scrub: o.scrub });
  const plain = new HashTap();
  const stored = new HashTap();
  let progressTimer: NodeJS.Timeout | undefined;
  if (o.onProgress) progressTimer = setInterval(() => o.onProgress!({ bytes: plain.bytes, elapsedMs: Date.now() - started }), 500);
  const failure = async (): Promise<void> => {
    const ended = await child.result;
    if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : new BackupError(`${o.what} was interrupted`);
    if (ended.failure) {
      throw (await o.explainFailure?.(ended.failure)) ?? pgToolError(ended.failure, { as: BackupError, hint: 'Nothing was published; fix the cause above and run the backup again' });
    }
  };
  const chain: NodeJS.ReadWriteStream[] = [plain, createCompressStream(o.compression, o.level)];
  if (o.keyring) chain.push(createEncryptStream(o.keyring, { chunkSize: o.chunkSize }));
  chain.push(gateEnd(failure), stored);
  try {
    const produce = pipeAll([child.stdout, ...chain]);
    const upload = o.store(stored as unknown as Readable);
    const [, object] = await Promise.all([produce, upload]).catch(async (error: unknown) => {
      child.kill();
      const uploadError = await upload.then(
        () => undefined,
        (e: unknown) => e,
      );
      // A storage failure is the cause even though killing pg_dump makes it fail too (exit 2, not 1).
      if (uploadError instanceof StorageError && !o.signal?.aborted) throw uploadError;
      await failure(); // otherwise prefer pg_dump's own error over a broken-pipe symptom
      throw error;
    });
    checkStoredSize(o.key, object.size, stored.bytes);
    return { key: o.key, size: stored.bytes, sha256: stored.digest(), plaintextSize: plain.bytes, plaintextSha256: plain.digest() };
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    o.onProgress?.({ bytes: plain.bytes, elapsedMs: Date.now() - started });
  }
}

/** A storage `put` as `encodeCommandOutput`'s store, recording the key once stored (for the clean-up of a failed backup). */
export function putInto(storage: BackupStorage, key: string, onStored: (key: string) => void): (body: Readable) => Promise<{ size: number }> {
  return async (body) => {
    const object = await storage.put(key, body);
    onStored(key);
    return object;
  };
}

export function checkStoredSize(key: string, size: number, expected: number): void {
  if (size !== expected) throw new BackupError(`Stored size of ${key} is ${size} bytes, expected ${expected}`, { hint: 'Storage dropped data; run the backup again' });
}
