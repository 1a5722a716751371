import { Readable } from 'node:stream';

/** Tracks a put's source: bytes read, and the error the source itself raised (if any). */
export interface SourceState {
  bytes: number;
  /** Set when reading `body` failed: put rethrows this error unchanged, not as a StorageError. */
  sourceError?: unknown;
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError(`put body yielded a ${typeof chunk} chunk; expected Buffer, Uint8Array or string`);
}

/**
 * Iterates a put body, counting bytes and recording the source's own errors in `state` so the
 * caller can tell "the data we were given failed" from "the storage failed". Leaving the loop
 * early (a storage error) destroys `body`, which stops whatever produces it.
 */
export async function* readSource(body: Readable, state: SourceState): AsyncGenerator<Buffer, void, undefined> {
  const iterator = body[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      let step: IteratorResult<unknown>;
      try {
        step = await iterator.next();
      } catch (error) {
        state.sourceError = error;
        throw error;
      }
      if (step.done) {
        finished = true;
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

/**
 * Wraps a download: errors while reading become `fail(reason, cause)` (a StorageError naming the
 * key), and a body shorter or longer than `expectedBytes` fails instead of ending quietly.
 * Destroying the returned stream releases the underlying one (and its socket or file handle).
 */
export function guardDownload(
  source: Readable,
  expectedBytes: number | undefined,
  fail: (reason: string, cause?: unknown) => Error,
): Readable {
  async function* pump(): AsyncGenerator<Buffer, void, undefined> {
    let bytes = 0;
    try {
      for await (const chunk of source) {
        const buffer = toBuffer(chunk);
        bytes += buffer.length;
        yield buffer;
      }
    } catch (error) {
      throw fail(`reading failed after ${bytes} bytes: ${error instanceof Error ? error.message : String(error)}`, error);
    }
    if (expectedBytes !== undefined && bytes !== expectedBytes) {
      throw fail(`the object should have ${expectedBytes} bytes but ${bytes} arrived`);
    }
  }
  const guarded = Readable.from(pump(), { objectMode: false });
  guarded.once('close', () => {
    if (!source.destroyed) source.destroy();
  });
  return guarded;
}
