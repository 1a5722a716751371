import type { Readable } from 'node:stream';
import { StorageError } from '../errors/index.ts';
import { assertKey, assertPrefix, invalidKeyReason } from './keys.ts';
import { abortReason, guardDownload, readSource, releaseSource, type SourceState } from './streams.ts';
import type { BackupStorage, CallOptions, PutOptions, StorageDriver, StoredObject } from './types.ts';

export interface StorageOptions {
  /** Aborts every call of this storage (e.g. the command's interrupt signal); each call may add its own. */
  signal?: AbortSignal;
  /**
   * Called once per key for a listed key that breaks pgdrill's key rules (`a/../b`, legal on S3):
   * listings skip such keys, since no call could read or delete them, and pgdrill never wrote them.
   * Default: one warning on stderr per key and process.
   */
  onIgnoredKey?: (key: string, reason: string) => void;
}

/** Keys already warned about by the default onIgnoredKey, so a command warns once per key. */
const warnedKeys = new Set<string>();

function warnIgnoredKey(location: string): (key: string, reason: string) => void {
  return (key, reason) => {
    if (warnedKeys.has(`${location}\0${key}`)) return;
    warnedKeys.add(`${location}\0${key}`);
    process.stderr.write(
      `pgdrill: ignoring ${quote(key)} in ${location}: ${reason}, so pgdrill cannot read or delete it; it did not write it either. Remove or rename it with the storage's own tools if nobody needs it\n`,
    );
  };
}

const quote = (key: string): string => JSON.stringify(key);

/** The call's signal joined with the storage-wide one. */
function joinSignals(storageSignal: AbortSignal | undefined, callSignal: AbortSignal | undefined): AbortSignal | undefined {
  if (!storageSignal || !callSignal) return storageSignal ?? callSignal;
  return AbortSignal.any([storageSignal, callSignal]);
}

/** What an aborted call rejects with: the signal's reason (pgdrill aborts with an InterruptedError). */
function abortError(signal: AbortSignal, what: string, location: string): Error {
  return abortReason(signal, () => new StorageError(`${what} in ${location} was aborted`));
}

/** The BackupStorage every backend shares, around a driver that is ready. */
export function createStorage(driver: StorageDriver, options: StorageOptions = {}): BackupStorage {
  return storageFront(driver.location, { open: () => Promise.resolve(driver), close: () => driver.close() }, options);
}

/**
 * The same front around a driver loaded on first use: a backend whose module is heavy (the AWS SDK
 * costs ~25 MB and a quarter second at start-up) is not loaded by runs that never touch it.
 */
export function createLazyStorage(location: string, load: () => Promise<StorageDriver>, options: StorageOptions = {}): BackupStorage {
  let loading: Promise<StorageDriver> | undefined;
  return storageFront(
    location,
    {
      open: () => (loading ??= load()),
      close: async () => {
        const driver = await loading?.catch(() => undefined);
        await driver?.close();
      },
    },
    options,
  );
}

function storageFront(location: string, driverHandle: { open(): Promise<StorageDriver>; close(): Promise<void> }, storageOptions: StorageOptions): BackupStorage {
  const ignored = new Set<string>();
  const reportIgnored = storageOptions.onIgnoredKey ?? warnIgnoredKey(location);
  /** A driver failure as a StorageError; `what` names the operation and key(s), e.g. `put "daily/x"`. */
  function fail(driver: StorageDriver, what: string, error: unknown, signal: AbortSignal | undefined): Error {
    // An interrupt wins over whatever it made the call fail with.
    if (signal?.aborted) return abortError(signal, what, location);
    if (error instanceof StorageError) return error;
    const { detail, hint, code } = driver.explain(error);
    return new StorageError(`${what} in ${location} failed: ${detail}`, { hint, code, cause: error });
  }

  function notFound(what: string): StorageError {
    return new StorageError(`${what} in ${location}: no such object`, {
      code: 'NOT_FOUND',
      hint: 'Check the key; list the storage to see what exists (retention may have removed it)',
    });
  }

  /** The driver and the call's signal, unless the call is aborted already. */
  async function begin(what: string, callSignal: AbortSignal | undefined): Promise<{ driver: StorageDriver; signal: AbortSignal | undefined }> {
    const signal = joinSignals(storageOptions.signal, callSignal);
    if (signal?.aborted) throw abortError(signal, what, location);
    return { driver: await driverHandle.open(), signal };
  }

  /** Runs `call` with the driver; its failures become StorageErrors (or the abort reason). */
  async function run<T>(what: string, callOptions: CallOptions | undefined, call: (driver: StorageDriver, signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    const { driver, signal } = await begin(what, callOptions?.signal);
    try {
      return await call(driver, signal);
    } catch (error) {
      throw fail(driver, what, error, signal);
    }
  }

  return {
    location,

    async put(key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<StoredObject> {
      const what = `put ${quote(key)}`;
      const state: SourceState = { bytes: 0 };
      const signal = joinSignals(storageOptions.signal, options.signal);
      const checkLength = (): void => {
        if (options.contentLength !== undefined && state.bytes !== options.contentLength) {
          throw new StorageError(`${what} in ${location}: the body had ${state.bytes} bytes but contentLength said ${options.contentLength}`, {
            hint: 'Nothing was stored. This is a bug in the caller: report it',
          });
        }
      };
      let driver: StorageDriver | undefined;
      let stored: StoredObject | undefined;
      try {
        assertKey(key, 'put', location);
        if (signal?.aborted) throw abortError(signal, what, location);
        if (Buffer.isBuffer(body)) {
          state.bytes = body.length;
          checkLength();
        }
        driver = await driverHandle.open();
        const source = Buffer.isBuffer(body)
          ? body
          : readSource(body, state, (atEnd) => {
              if (signal?.aborted) throw abortError(signal, what, location);
              if (atEnd) checkLength();
            });
        stored = await driver.put(key, source, { ...options, signal });
      } catch (error) {
        releaseSource(body);
        if (signal?.aborted) throw abortError(signal, what, location);
        if (error instanceof StorageError || !driver) throw error;
        if (state.sourceError !== undefined) throw state.sourceError;
        throw fail(driver, what, error, undefined);
      }
      // Verify what the backend stored, not what its client believes it sent.
      if (!stored || stored.size !== state.bytes) {
        await driver.delete([key], undefined).catch(() => undefined); // best effort: the error below says what happened
        throw new StorageError(`${what} in ${location}: sent ${state.bytes} bytes but the stored object ${stored ? `has ${stored.size}` : 'is missing'}; it was deleted`, {
          hint: driver.sizeMismatchHint,
        });
      }
      return stored;
    },

    async get(key: string, options?: CallOptions): Promise<Readable> {
      assertKey(key, 'get', location);
      const what = `get ${quote(key)}`;
      const { driver, signal } = await begin(what, options?.signal);
      let opened;
      try {
        opened = await driver.get(key, signal);
      } catch (error) {
        throw fail(driver, what, error, signal);
      }
      if (!opened) throw notFound(what);
      return guardDownload(opened.body, {
        expectedBytes: opened.size,
        idleTimeoutMs: driver.downloadIdleTimeoutMs,
        signal,
        fail: (why, cause) => fail(driver, what, Object.assign(new Error(why, { cause }), { name: 'DownloadFailed' }), undefined),
      });
    },

    async head(key: string, options?: CallOptions): Promise<StoredObject | undefined> {
      assertKey(key, 'head', location);
      return run(`head ${quote(key)}`, options, (driver, signal) => driver.head(key, signal));
    },

    async *list(prefix: string, options?: CallOptions): AsyncIterable<StoredObject> {
      assertPrefix(prefix, location);
      const what = `list ${quote(prefix)}`;
      const { driver, signal } = await begin(what, options?.signal);
      try {
        for await (const item of driver.list(prefix, signal)) {
          if (signal?.aborted) throw abortError(signal, what, location);
          const reason = invalidKeyReason(item.key);
          if (reason === undefined) {
            yield item;
          } else if (!ignored.has(item.key)) {
            ignored.add(item.key);
            reportIgnored(item.key, reason);
          }
        }
      } catch (error) {
        throw fail(driver, what, error, signal);
      }
    },

    async copy(fromKey: string, toKey: string, options?: CallOptions): Promise<StoredObject> {
      assertKey(fromKey, 'copy', location);
      assertKey(toKey, 'copy', location);
      const what = `copy ${quote(fromKey)} to ${quote(toKey)}`;
      // A copy onto itself changes nothing (S3 would even refuse it): only the source must exist.
      const copied = await run(what, options, (driver, signal) => (fromKey === toKey ? driver.head(fromKey, signal) : driver.copy(fromKey, toKey, signal)));
      if (!copied) throw notFound(`copy ${quote(fromKey)}`);
      return copied;
    },

    async delete(keys: readonly string[], options?: CallOptions): Promise<void> {
      for (const key of keys) assertKey(key, 'delete', location);
      const unique = [...new Set(keys)];
      if (unique.length === 0) return;
      const what = unique.length === 1 ? `delete ${quote(unique[0]!)}` : `delete of ${unique.length} objects (from ${quote(unique[0]!)})`;
      await run(what, options, (driver, signal) => driver.delete(unique, signal));
    },

    async presignGet(key: string, expiresSeconds: number, options?: CallOptions): Promise<string | undefined> {
      assertKey(key, 'presign', location);
      if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > 7 * 86_400) {
        throw new StorageError(`presign ${quote(key)} in ${location}: expiry ${expiresSeconds} s is not a whole number of seconds from 1 to 7 days`, {
          hint: 'This is a bug in the caller: report it',
        });
      }
      return run(`presign ${quote(key)}`, options, (driver) => (driver.presignGet ? driver.presignGet(key, expiresSeconds) : Promise.resolve(undefined)));
    },

    close: () => driverHandle.close(),
  };
}
