// Every error pgdrill raises on purpose. Each carries the process exit code it maps to and a
// message in the form "what failed: why. what to do." so the CLI can print it as is.

/** Process exit codes, documented in the README. One map for every command. */
export const ExitCode = {
  ok: 0,
  /** pg_dump / pg_restore / drill check failed */
  failure: 1,
  /** storage unreachable, upload or download failed */
  storage: 2,
  /**
   * configuration invalid or missing, or the local environment cannot do the job (no pg_restore,
   * the scratch folder TMPDIR is full, over quota or read-only): fix the host, not the backup
   */
  config: 3,
  /** integrity or verification failed (checksum, decryption, record counts) */
  verification: 4,
  /** another backup of the same database holds the lock, or a guard refused */
  refused: 5,
  /** interrupted by SIGINT (128 + 2) */
  interrupted: 130,
  /** terminated by SIGTERM (128 + 15) */
  terminated: 143,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface PgdrillErrorOptions {
  /** What the user should do about it; appended to the message. */
  hint?: string;
  cause?: unknown;
}

export class PgdrillError extends Error {
  readonly exitCode: ExitCodeValue = ExitCode.failure;
  readonly hint: string | undefined;
  constructor(message: string, options: PgdrillErrorOptions = {}) {
    super(options.hint ? `${message}. ${options.hint}` : message, { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** Configuration is missing or invalid. */
export class ConfigError extends PgdrillError {
  override readonly exitCode = ExitCode.config;
}

/** pg_dump, globals capture or snapshot export failed. */
export class BackupError extends PgdrillError {}

/**
 * Storage failures callers act on, so they test `error.code`, never the message: `NOT_FOUND` (get or
 * copy of a missing object), `TIMEOUT` (the service stopped answering within the configured time).
 */
export type StorageFailure = 'NOT_FOUND' | 'TIMEOUT';

export interface StorageErrorOptions extends PgdrillErrorOptions {
  code?: StorageFailure;
}

/** A storage backend could not list, read, write or delete. */
export class StorageError extends PgdrillError {
  override readonly exitCode = ExitCode.storage;
  /** Set for the failures callers tell apart; other storage failures have no code. */
  readonly code: StorageFailure | undefined;
  constructor(message: string, options: StorageErrorOptions = {}) {
    super(message, options);
    this.code = options.code;
  }
}

export type CryptoFailure =
  | 'BAD_MAGIC'
  | 'UNSUPPORTED_VERSION'
  | 'UNKNOWN_KEY'
  | 'WRONG_KEY'
  | 'HEADER_TAMPERED'
  | 'CHUNK_AUTH_FAILED'
  | 'CHUNKS_REORDERED'
  | 'TRUNCATED'
  | 'TRAILING_DATA';

/** Decryption or key handling failed; `code` names the failure so tests and reports can tell them apart. */
export class CryptoError extends PgdrillError {
  override readonly exitCode = ExitCode.verification;
  readonly code: CryptoFailure;
  constructor(code: CryptoFailure, message: string, options: PgdrillErrorOptions = {}) {
    super(`${code}: ${message}`, options);
    this.code = code;
  }
}

/** A checksum, size, manifest or restored-data comparison did not match. */
export class IntegrityError extends PgdrillError {
  override readonly exitCode = ExitCode.verification;
}

/** pg_restore or the restore plan failed. */
export class RestoreError extends PgdrillError {}

/** A sandbox PostgreSQL could not be started, reached or torn down. */
export class SandboxError extends PgdrillError {}

/** The report could not be rendered, signed or verified. */
export class ReportError extends PgdrillError {}

/**
 * The local scratch folder (TMPDIR, where restore, verify and the drill download and decrypt) has
 * too little space, is over quota, is read-only or cannot be used. It says nothing about the
 * backup, so it exits 3 like the other local-environment errors, never 4. `folder` is the folder.
 */
export class ScratchFolderError extends PgdrillError {
  override readonly exitCode = ExitCode.config;
  readonly folder: string;
  constructor(folder: string, message: string, options: PgdrillErrorOptions = {}) {
    super(message, options);
    this.folder = folder;
  }
}

/** A safety guard refused to proceed (lock held, non-empty restore target, production target). */
export class RefusedError extends PgdrillError {
  override readonly exitCode = ExitCode.refused;
}

/** The process received SIGINT or SIGTERM; cleanup ran. Exits 130 or 143, as shells expect. */
export class InterruptedError extends PgdrillError {
  override readonly exitCode: ExitCodeValue;
  readonly signal: 'SIGINT' | 'SIGTERM';
  constructor(signal: 'SIGINT' | 'SIGTERM', options: PgdrillErrorOptions = {}) {
    super(`Interrupted by ${signal}`, options);
    this.signal = signal;
    this.exitCode = signal === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted;
  }
}

/** Exit code for anything thrown: ours carry one, anything else is a plain failure. */
export function exitCodeOf(error: unknown): ExitCodeValue {
  return error instanceof PgdrillError ? error.exitCode : ExitCode.failure;
}

/** What kind of failure this is, for records and summaries: the class name, plus the crypto code (`CryptoError WRONG_KEY`). */
export function errorKind(error: unknown): string {
  if (error instanceof CryptoError) return `CryptoError ${error.code}`;
  return error instanceof Error ? error.name : 'Error';
}
