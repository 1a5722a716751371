import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

export type CompressionAlgorithm = 'zstd' | 'gzip' | 'none';

// zstd 1 compresses a pg_dump archive ~5.0:1 at ~180 MB/s per core here; level 3 gains 4% in size
// at half the speed, which would make compression, not pg_dump, the backup's bottleneck.
export const DEFAULT_LEVEL: Record<CompressionAlgorithm, number> = { zstd: 1, gzip: 6, none: 0 };

/** Large output chunks: decompressing in 16 KiB pieces costs ~40% of restore-side throughput. */
const CHUNK = 1024 * 1024;
/**
 * Compressed output in 256 KiB pieces instead of zlib's 16 KiB: a backup's stages downstream
 * (encryption, SHA-256, storage) then see ~16× fewer chunks, ~8% less CPU for the whole pipeline
 * here, for ~5 MB more peak RSS. Larger input pieces cost more instead (issue 13, measured).
 */
const COMPRESS_CHUNK = 256 * 1024;

/** Pass-through that hashes (SHA-256) and counts what flows through it. */
export class HashTap extends Transform {
  readonly #hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
  /** Hex digest; only valid once the stream has finished. */
  digest(): string {
    return this.#hash.copy().digest('hex');
  }
}

/** Node's own zstd/gzip (runs on the libuv pool, overlapping pg_dump and encryption). */
export function createCompressStream(algorithm: CompressionAlgorithm, level = DEFAULT_LEVEL[algorithm]): Transform {
  switch (algorithm) {
    case 'zstd':
      return zlib.createZstdCompress({ chunkSize: COMPRESS_CHUNK, params: { [zlib.constants.ZSTD_c_compressionLevel]: level } });
    case 'gzip':
      return zlib.createGzip({ chunkSize: COMPRESS_CHUNK, level });
    case 'none':
      return new Transform({ transform: (chunk, _enc, cb) => cb(null, chunk) });
  }
}

export function createDecompressStream(algorithm: CompressionAlgorithm): Transform {
  switch (algorithm) {
    case 'zstd':
      return zlib.createZstdDecompress({ chunkSize: CHUNK });
    case 'gzip':
      return zlib.createGunzip({ chunkSize: CHUNK });
    case 'none':
      return new Transform({ transform: (chunk, _enc, cb) => cb(null, chunk) });
  }
}

/**
 * Holds the end of a stream until `settle` resolves: a producer whose exit status is known only
 * after its output ended (pg_dump) can still fail the pipeline before the upload completes.
 */
export function gateEnd(settle: () => Promise<void>): Transform {
  return new Transform({
    transform: (chunk, _enc, cb) => cb(null, chunk),
    flush: (cb) => {
      settle().then(() => cb(), (error: Error) => cb(error));
    },
  });
}

type AnyStream = NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream;

/** stream.pipeline over a list built at run time (the typed overloads want a fixed arity). */
export function pipeAll(streams: readonly AnyStream[], signal?: AbortSignal): Promise<void> {
  return pipeline(streams as readonly AnyStream[], signal ? { signal } : {});
}
