import { Readable } from 'node:stream';

/** Tracks a put's source: bytes read, and the error the reading side raised (if any). */
export interface SourceState {
  bytes: number;
  /**
   * Set when reading `body` failed, or when `atEnd` rejected it: put rethrows this error
   * unchanged (a pg_dump or crypto failure keeps its type), not as a StorageError.
   */
  sourceError?: unknown;
}

export function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError(`put body yielded a ${typeof chunk} chunk; expected Buffer, Uint8Array or string`);
}

/**
 * Iterates a put body, counting bytes and recording the source's own errors in `state` so the
 * caller can tell "the data we were given failed" from "the storage failed". `check` runs before
 * every chunk and once at the end, before the driver learns the body is complete, so a wrong
 * length or an abort fails the put before anything is published. Leaving the loop early (a
 * storage error) destroys `body`, which stops whatever produces it.
 */
export async function* readSource(body: Readable, state: SourceState, check: (atEnd: boolean) => void): AsyncGenerator<Buffer, void, undefined> {
  const iterator = body[Symbol.asyncIterator]();
  let finished = false;
  const checked = (atEnd: boolean): void => {
    try {
      check(atEnd);
    } catch (error) {
      state.sourceError = error;
      throw error;
    }
  };
  try {
    for (;;) {
      checked(false);
      let step: IteratorResult<unknown>;
      try {
        step = await iterator.next();
      } catch (error) {
        state.sourceError = error;
        throw error;
      }
      if (step.done) {
        finished = true;
        checked(true);
        return;
      }
      const chunk = toBuffer(step.value);
      state.bytes += chunk.length;
      yield chunk;
    }
  } finally {
    if (!finished) await iterator.return?.();
  }
}

/** Destroys a put body that was never (fully) read, so its producer does not block forever. */
export function releaseSource(body: Readable | Buffer): void {
  if (!Buffer.isBuffer(body) && !body.destroyed && !body.readableEnded) body.destroy();
}

/** What an aborted call fails with: the signal's reason (pgdrill aborts with an InterruptedError), else `fallback`. */
export function abortReason(signal: AbortSignal, fallback: () => Error): Error {
  return signal.reason instanceof Error ? signal.reason : fallback();
}

export interface DownloadGuard {
  expectedBytes: number | undefined;
  /** Fails the download when the next bytes take longer than this while the reader waits for them. */
  idleTimeoutMs?: number;
  /** Aborting destroys the download with the signal's reason. */
  signal?: AbortSignal;
  /** The error a failed download ends with; `cause` is what the source raised. */
  fail(reason: string, cause?: unknown): Error;
}

/**
 * Wraps a download: errors while reading become `fail(reason, cause)` (a StorageError naming the
 * key), a body shorter or longer than `expectedBytes` fails instead of ending quietly, and a
 * source that stays silent for `idleTimeoutMs` while the reader waits fails too. The idle clock
 * stops while the reader is busy, so a slow consumer (backpressure) never trips it. Destroying
 * the returned stream releases the underlying one (and its socket or file handle).
 */
export function guardDownload(source: Readable, guard: DownloadGuard): Readable {
  const { expectedBytes, idleTimeoutMs, signal } = guard;
  async function* pump(): AsyncGenerator<Buffer, void, undefined> {
    let bytes = 0;
    let waiting = true;
    const stalled = idleTimeoutMs
      ? setTimeout(() => {
          // Named like the SDK's timeouts, so a backend explains it as one.
          if (waiting) source.destroy(Object.assign(new Error(`no data arrived for ${idleTimeoutMs} ms`), { name: 'TimeoutError' }));
        }, idleTimeoutMs).unref()
      : undefined;
    try {
      for await (const chunk of source) {
        waiting = false;
        const buffer = toBuffer(chunk);
        bytes += buffer.length;
        yield buffer;
        waiting = true;
        stalled?.refresh();
      }
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal, () => guard.fail('the download was aborted'));
      throw guard.fail(`reading failed after ${bytes} bytes: ${error instanceof Error ? error.message : String(error)}`, error);
    } finally {
      clearTimeout(stalled);
    }
    if (expectedBytes !== undefined && bytes !== expectedBytes) {
      throw guard.fail(`the object should have ${expectedBytes} bytes but ${bytes} arrived`);
    }
  }
  const guarded = Readable.from(pump(), { objectMode: false });
  const onAbort = (): void => {
    if (signal) guarded.destroy(abortReason(signal, () => guard.fail('the download was aborted')));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  guarded.once('close', () => {
    signal?.removeEventListener('abort', onAbort);
    if (!source.destroyed) source.destroy();
  });
  return guarded;
}
