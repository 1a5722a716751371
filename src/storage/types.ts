import type { Readable } from 'node:stream';
import type { StorageFailure } from '../errors/index.ts';

/** One stored object as a listing returns it. */
export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

export interface CallOptions {
  /**
   * Ends the call when aborted: an in-flight request is cancelled and the call rejects with the
   * signal's reason (pgdrill's interrupt handler aborts with an InterruptedError). Combined with
   * the storage-wide signal given when the storage was opened.
   */
  signal?: AbortSignal;
}

export interface PutOptions extends CallOptions {
  /** Known length, when the caller has it (lets S3 skip multipart for small bodies). */
  contentLength?: number;
  contentType?: string;
}

/**
 * A place backups live: an S3-compatible bucket or a local folder. Keys are '/'-separated and
 * relative to the backend's root (bucket prefix or folder). Every backend passes the shared
 * conformance suite in test/integration/storage.conformance.ts.
 *
 * Every backend is a small StorageDriver behind one front (`createStorage` in front.ts), which
 * validates keys, checks lengths and sizes, guards downloads and names failures the same way.
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
   * to cancel a put, abort `options.signal` or destroy `body` with an error.
   */
  put(key: string, body: Readable | Buffer, options?: PutOptions): Promise<StoredObject>;
  /** Streams an object. Throws StorageError with code `NOT_FOUND`, naming the key, when it is missing. */
  get(key: string, options?: CallOptions): Promise<Readable>;
  /** Size and date of an object, or undefined when it does not exist. */
  head(key: string, options?: CallOptions): Promise<StoredObject | undefined>;
  /**
   * Every object whose key starts with `prefix`, in lexicographic key order. Keys that break the
   * key rules (a `..` segment, legal on S3) are skipped and reported (StorageOptions.onIgnoredKey).
   */
  list(prefix: string, options?: CallOptions): AsyncIterable<StoredObject>;
  /** Server-side copy where the backend supports it. A missing source throws StorageError with code `NOT_FOUND`. */
  copy(fromKey: string, toKey: string, options?: CallOptions): Promise<StoredObject>;
  /** Deletes objects; deleting a missing key is not an error. */
  delete(keys: readonly string[], options?: CallOptions): Promise<void>;
  /**
   * A URL anyone holding it may GET the object from for `expiresSeconds` (an S3 presigned GET),
   * or undefined when the backend has no such thing (a folder: the caller streams `get` instead).
   * Signing is local: it neither checks that the object exists nor contacts the service.
   */
  presignGet(key: string, expiresSeconds: number, options?: CallOptions): Promise<string | undefined>;
  /** Releases clients and sockets. */
  close(): Promise<void>;
}

/** A backend failure explained for the front's message `{operation} in {location} failed: {detail}. {hint}`. */
export interface DriverFailure {
  detail: string;
  hint: string;
  code?: StorageFailure;
}

/**
 * What a backend implements (pgBackRest's storage driver): raw operations on keys the front has
 * already validated. Drivers report "missing" as `undefined` and throw their own errors (errno,
 * SDK errors), which the front turns into StorageErrors through `explain`; a StorageError a driver
 * throws (for a failure only it can describe) passes through unchanged.
 */
export interface StorageDriver {
  readonly location: string;
  /**
   * Writes the whole body to `key`, visible only once complete. When iterating `body` throws (the
   * source failed, or the front found the length wrong or the call aborted), nothing may be
   * published under `key` and no upload may be left behind. Returns the object as the backend now
   * stores it (stat / HeadObject), or undefined when it is not there after writing.
   */
  put(key: string, body: Buffer | AsyncIterable<Buffer>, options: PutOptions): Promise<StoredObject | undefined>;
  /** Opens an object for reading, with its size when known; undefined when it does not exist. */
  get(key: string, signal: AbortSignal | undefined): Promise<{ body: Readable; size: number | undefined } | undefined>;
  head(key: string, signal: AbortSignal | undefined): Promise<StoredObject | undefined>;
  /** Every object under `prefix`, in UTF-8 byte order of keys. */
  list(prefix: string, signal: AbortSignal | undefined): AsyncIterable<StoredObject>;
  /** Copies `fromKey` to a different `toKey`; undefined when `fromKey` does not exist. */
  copy(fromKey: string, toKey: string, signal: AbortSignal | undefined): Promise<StoredObject | undefined>;
  /** Deletes distinct keys; missing ones are not an error. */
  delete(keys: readonly string[], signal: AbortSignal | undefined): Promise<void>;
  /** A time-limited GET URL for `key`; absent when the backend cannot make one. */
  presignGet?(key: string, expiresSeconds: number): Promise<string>;
  close(): Promise<void>;
  /** Explains an error this driver threw. */
  explain(error: unknown): DriverFailure;
  /** What to do when the stored size differs from the bytes sent. */
  readonly sizeMismatchHint: string;
  /** A download that waits this long for its next bytes fails (network backends); the wait is not counted while the reader is busy. */
  readonly downloadIdleTimeoutMs?: number;
}
