import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';

// A streamed put into S3 with its memory fixed by the settings: queueSize + 1 part buffers,
// allocated once per put and reused (replaced by larger ones only past 1,000 parts), the stream
// copied straight into them. lib-storage's Upload (used before) gathered each part from the
// stream's chunks and joined them into a new buffer, so every part left two part-sized garbage
// buffers, outside V8's heap and freed only by a full collection: the S3 backup's peak RSS grew
// with the dump (186 MB at 300 MB, 217 MB at 1 GB).

export const MAX_PARTS = 10_000;
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
/** A stream of unknown length doubles its part size every this many parts. */
const PARTS_PER_SIZE = 1000;

/**
 * The size of part `partNumber` (1-based) of a stream whose length is unknown: `partSize` for the
 * first 1,000 parts, then doubled every 1,000 parts (at most 5 GiB), so 10,000 parts hold S3's
 * 5 TiB object limit from the 8 MiB default (~5 TiB from the 5 MiB minimum). Memory grows only
 * past the first 1,000 parts (8 GiB at 8 MiB).
 */
export function streamPartSize(partSize: number, partNumber: number): number {
  return Math.min(partSize * 2 ** Math.floor((partNumber - 1) / PARTS_PER_SIZE), MAX_PART_SIZE);
}

export interface StreamedPut {
  bucket: string;
  /** The object key in the bucket (with the storage's prefix). */
  key: string;
  contentType: string;
  /** The first parts' size; later ones grow (streamPartSize). */
  partSize: number;
  /** Parts uploaded at once while the next one fills. */
  queueSize: number;
  /** CRC32 checksums requested (WHEN_SUPPORTED): the upload declares the algorithm, as lib-storage does. */
  checksums: boolean;
  signal: AbortSignal | undefined;
  /** Called as soon as a multipart upload exists, so a failed put can make sure it is gone. */
  onUploadId(uploadId: string): void;
}

/**
 * Uploads `body` as one object: a PutObject when it fits in one part (a Buffer that does is sent
 * as it is, with no part buffer), else a multipart upload completed only after every part was
 * stored. On failure the error of the first failed request (or of the body) is thrown, the other
 * requests in flight are cancelled and the parts are left for the caller to abort (the upload id
 * went to onUploadId).
 */
export async function putStreamed(client: S3Client, body: Buffer | AsyncIterable<Buffer>, put: StreamedPut): Promise<void> {
  const { bucket: Bucket, key: Key, partSize } = put;
  const putObject = (bytes: Buffer, signal: AbortSignal | undefined) =>
    client.send(new PutObjectCommand({ Bucket, Key, Body: bytes, ContentLength: bytes.length, ContentType: put.contentType }), { abortSignal: signal });
  if (Buffer.isBuffer(body) && body.length <= partSize) {
    await putObject(body, put.signal);
    return;
  }
  const stop = new AbortController();
  const signal = put.signal ? AbortSignal.any([put.signal, stop.signal]) : stop.signal;
  const free: Buffer[] = [];
  let allocated = 0;
  const inFlight = new Set<Promise<void>>();
  const parts: CompletedPart[] = [];
  let failure: { error: unknown } | undefined;
  let uploadId: string | undefined;
  let partNumber = 0;

  /** A buffer for the next part (number partNumber + 1): a free one, or a new one while fewer than queueSize + 1 exist. */
  const nextBuffer = async (): Promise<Buffer> => {
    while (free.length === 0 && allocated > put.queueSize) {
      await Promise.race(inFlight);
      if (failure) throw failure.error;
    }
    const size = streamPartSize(partSize, partNumber + 1);
    const reused = free.pop();
    if (reused && reused.length >= size) return reused.subarray(0, size);
    if (!reused) allocated += 1;
    return Buffer.allocUnsafeSlow(size);
  };

  const create = async (): Promise<string> => {
    const out = await client.send(
      new CreateMultipartUploadCommand({ Bucket, Key, ContentType: put.contentType, ...(put.checksums ? { ChecksumAlgorithm: 'CRC32' as const } : {}) }),
      { abortSignal: signal },
    );
    if (!out.UploadId) throw new Error('CreateMultipartUpload answered without an UploadId');
    put.onUploadId(out.UploadId);
    return out.UploadId;
  };

  const send = (buffer: Buffer, length: number, UploadId: string): void => {
    const PartNumber = ++partNumber;
    if (PartNumber > MAX_PARTS) throw new Error(`the body needs more than ${MAX_PARTS} parts (S3's limit)`);
    const upload = async (): Promise<void> => {
      try {
        const out = await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: buffer.subarray(0, length), ContentLength: length }), {
          abortSignal: signal,
        });
        if (!out.ETag) throw new Error(`UploadPart ${PartNumber} answered without an ETag`);
        const { ETag, ChecksumCRC32, ChecksumCRC32C, ChecksumCRC64NVME, ChecksumSHA1, ChecksumSHA256 } = out;
        parts.push({ PartNumber, ETag, ChecksumCRC32, ChecksumCRC32C, ChecksumCRC64NVME, ChecksumSHA1, ChecksumSHA256 });
      } catch (error) {
        failure ??= { error };
        stop.abort();
      }
    };
    const sending: Promise<void> = upload().finally(() => {
      free.push(buffer);
      inFlight.delete(sending);
    });
    inFlight.add(sending);
  };

  try {
    let current = await nextBuffer();
    let used = 0;
    for await (const chunk of Buffer.isBuffer(body) ? [body] : body) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = Math.min(current.length - used, chunk.length - offset);
        chunk.copy(current, used, offset, offset + n);
        used += n;
        offset += n;
        if (used === current.length) {
          if (failure) throw failure.error;
          uploadId ??= await create();
          send(current, used, uploadId);
          current = await nextBuffer();
          used = 0;
        }
      }
    }
    if (uploadId === undefined) {
      await putObject(current.subarray(0, used), signal);
      return;
    }
    if (used > 0) send(current, used, uploadId);
    await Promise.all(inFlight);
    if (failure) throw failure.error;
    parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    await client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }), { abortSignal: signal });
  } catch (error) {
    stop.abort();
    await Promise.all(inFlight);
    throw error;
  }
}
