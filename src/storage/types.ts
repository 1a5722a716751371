import type { Readable } from 'node:stream';

/** One stored object as a listing returns it. */
export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

export interface PutOptions {
  /** Known length, when the caller has it (lets S3 skip multipart for small bodies). */
  contentLength?: number;
  contentType?: string;
}

/**
 * A place backups live: an S3-compatible bucket or a local folder. Keys are '/'-separated and
 * relative to the backend's root (bucket prefix or folder). Every backend passes the shared
 * conformance suite in test/integration/storage.conformance.ts.
 */
export interface BackupStorage {
  /** Human-readable location without credentials, e.g. `s3://bucket/prefix` or `file:///srv/backups`. */
  readonly location: string;
  /**
   * Streams `body` to `key`. The object becomes visible only once complete (local: temp file +
   * rename; S3: multipart upload completed). On failure nothing is left under `key` and any
   * multipart upload is aborted. After writing, the stored size is verified (HeadObject/stat).
   * If reading `body` fails, that very error is rethrown after cleanup (so a pg_dump or crypto
   * failure keeps its type); storage failures throw StorageError. On failure `body` is destroyed;
   * to cancel a put, destroy `body` with an error.
   */
  put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<StoredObject>;
  /** Streams an object. Throws StorageError naming the key when it is missing. */
  get(key: string): Promise<Readable>;
  /** Size and date of an object, or undefined when it does not exist. */
  head(key: string): Promise<StoredObject | undefined>;
  /** Every object whose key starts with `prefix`, in lexicographic key order. */
  list(prefix: string): AsyncIterable<StoredObject>;
  /** Server-side copy where the backend supports it. */
  copy(fromKey: string, toKey: string): Promise<StoredObject>;
  /** Deletes objects; deleting a missing key is not an error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Releases clients and sockets. */
  close(): Promise<void>;
}
