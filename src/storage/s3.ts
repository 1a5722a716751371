import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable } from 'node:stream';
import { ConfigError, StorageError } from '../errors/index.ts';
import { createStorage, type StorageOptions } from './front.ts';
import { MAX_PART_SIZE, MAX_PARTS, putStreamed } from './multipart.ts';
import { assertKey, compareKeys, s3Location } from './keys.ts';
import type { BackupStorage, DriverFailure, PutOptions, StorageDriver, StoredObject } from './types.ts';

export type ChecksumMode = 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';

export interface S3StorageOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' or 'a/b'; surrounding slashes are ignored). */
  prefix?: string;
  /** Custom endpoint for S3-compatible services (MinIO, R2, B2, Ceph…), e.g. `http://127.0.0.1:9000`. */
  endpoint?: string;
  region: string;
  /** Path-style URLs (`endpoint/bucket/key`). Default: true with a custom endpoint, false for AWS. */
  forcePathStyle?: boolean;
  /** Default: the SDK's chain (environment, shared config, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Default: WHEN_REQUIRED with a custom endpoint (many S3-compatibles reject the SDK's CRC32 trailers), WHEN_SUPPORTED on AWS. */
  requestChecksumCalculation?: ChecksumMode;
  /** Default: as requestChecksumCalculation. */
  responseChecksumValidation?: ChecksumMode;
  /**
   * Multipart part size in bytes; at least 5 MiB; default 8 MiB (the AWS CLI's). Raised when a put's
   * contentLength needs more than 10,000 parts; a stream of unknown length doubles it every 1,000 parts.
   */
  partSize?: number;
  /** Parts uploaded in parallel; default 2. A streamed put holds partSize × (queueSize + 1) bytes. */
  queueSize?: number;
  /** How long opening a TCP connection may take; default 10 s. */
  connectTimeoutMs?: number;
  /**
   * How long a request may go without progress: no bytes sent or received (default 60 s). A
   * download counts only while its reader waits for data, so a slow reader is never cut off. The
   * SDK tries each request up to 3 times, so a silent endpoint fails after about 3 × this.
   */
  requestTimeoutMs?: number;
  /**
   * Listings of up to this many keys are collected and sorted, whatever order the service lists in;
   * past it those are yielded sorted and the rest stream, each key after the last one yielded (as
   * in UTF-8 byte order: AWS, MinIO, R2, GCS), so a file set of millions of keys lists in bounded
   * memory. Default 10,000.
   */
  listSortLimit?: number;
  /** How errors name the setting behind listSortLimit; default `storage.s3.listSortLimit`. */
  listSortLimitSetting?: string;
}

const MiB = 1024 * 1024;
const MIN_PART_SIZE = 5 * MiB;
const DEFAULT_PART_SIZE = 8 * MiB;
const DEFAULT_QUEUE_SIZE = 2;
const DEFAULT_LIST_SORT_LIMIT = 10_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
const DELETE_BATCH = 1000;
const DELETE_CONCURRENCY = 8;
/** Part size for a put: the configured one, raised when `contentLength` would need more than 10,000 parts. */
export function choosePartSize(configured: number, contentLength: number | undefined): number {
  if (contentLength === undefined) return configured;
  const needed = Math.ceil(contentLength / MAX_PARTS);
  return needed <= configured ? configured : Math.ceil(needed / MiB) * MiB;
}

interface SdkErrorLike {
  name?: string;
  code?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  errors?: unknown[];
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED']);
const CREDENTIAL_CODES = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken', 'Forbidden', 'CredentialsProviderError', 'AllAccessDisabled']);
const REGION_CODES = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException', 'Redirect']);
const CHECKSUM_CODES = new Set(['XAmzContentSHA256Mismatch', 'XAmzContentChecksumMismatch', 'InvalidDigest', 'BadDigest', 'NotImplemented', 'InvalidArgument', 'InvalidRequest']);
/** DeleteObjects errors that mean "this service does not do multi-object delete (or its checksum)": fall back to DeleteObject. */
const DELETE_FALLBACK_CODES = new Set(['NotImplemented', 'MethodNotAllowed', 'MissingContentMD5', 'InvalidRequest', 'InvalidDigest', 'BadDigest', 'XAmzContentChecksumMismatch', 'InvalidArgument']);

function asSdkError(error: unknown): SdkErrorLike {
  return typeof error === 'object' && error !== null ? (error as SdkErrorLike) : { message: String(error) };
}

/** The first value `pick` finds in an error, its causes and its inner errors (AggregateError: happy eyeballs). */
function findInChain<T>(error: unknown, pick: (e: SdkErrorLike) => T | undefined, depth = 0): T | undefined {
  if (depth > 4 || typeof error !== 'object' || error === null) return undefined;
  const e = error as SdkErrorLike & { cause?: unknown };
  const found = pick(e);
  if (found !== undefined) return found;
  for (const inner of e.errors ?? []) {
    const innerFound = findInChain(inner, pick, depth + 1);
    if (innerFound !== undefined) return innerFound;
  }
  return findInChain(e.cause, pick, depth + 1);
}

/** The network errno behind an error. */
function networkCode(error: unknown): string | undefined {
  return findInChain(error, (e) => (e.code && NETWORK_CODES.has(e.code) ? e.code : undefined));
}

/**
 * Which of our timeouts ended a request. The SDK's timeouts are all named TimeoutError; only its
 * connection timeout says "establish a connection" (@smithy/node-http-handler 4.x), the rest are
 * the request (socket idle) timeout or the download stall guard, which share the same setting.
 */
function timeoutKind(error: unknown): 'connect' | 'request' | undefined {
  return findInChain(error, (e) => (e.name === 'TimeoutError' ? (/establish a connection/i.test(e.message ?? '') ? 'connect' : 'request') : undefined));
}

export function errorCode(error: unknown): string {
  const e = asSdkError(error);
  return e.Code ?? e.name ?? e.code ?? 'Error';
}

function httpStatus(error: unknown): number | undefined {
  return asSdkError(error).$metadata?.httpStatusCode;
}

/** Host (and port) of an endpoint URL, never its userinfo. */
function endpointHost(endpoint: string | undefined): string {
  if (!endpoint) return 'AWS S3';
  try {
    return new URL(endpoint).host;
  } catch {
    return 'the configured S3_ENDPOINT';
  }
}

/** The S3 backend: the shared storage front around the S3 driver. Loads the AWS SDK; `createStorageFromUrl` loads it only on first use. */
export function createS3Storage(options: S3StorageOptions, storageOptions?: StorageOptions): BackupStorage {
  return createStorage(createS3Driver(options), storageOptions);
}

export function createS3Driver(options: S3StorageOptions): StorageDriver {
  const bucket = options.bucket;
  if (typeof bucket !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(bucket)) {
    throw new ConfigError(`S3 storage: invalid bucket name ${JSON.stringify(bucket)}`, { hint: 'Use s3://bucket/prefix with a bucket of letters, digits, dots and hyphens' });
  }
  const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix !== '') assertKey(prefix, 'S3 storage prefix', `s3://${bucket}`);
  const root = prefix === '' ? '' : `${prefix}/`;
  const location = s3Location(bucket, prefix);
  const endpoint = options.endpoint?.trim() || undefined;
  const host = endpointHost(endpoint);
  if (typeof options.region !== 'string' || options.region.trim() === '') {
    throw new ConfigError(`S3 storage ${location}: the region is empty`, { hint: 'Set S3_REGION (e.g. us-east-1; S3-compatible services usually accept any value)' });
  }

  const configuredPartSize = options.partSize ?? DEFAULT_PART_SIZE;
  if (!Number.isInteger(configuredPartSize) || configuredPartSize < MIN_PART_SIZE || configuredPartSize > MAX_PART_SIZE) {
    throw new ConfigError(`S3 storage ${location}: partSize must be an integer from 5 MiB to 5 GiB, got ${String(options.partSize)}`);
  }
  const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
  if (!Number.isInteger(queueSize) || queueSize < 1) {
    throw new ConfigError(`S3 storage ${location}: queueSize must be a positive integer, got ${String(options.queueSize)}`);
  }
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const listSortLimit = options.listSortLimit ?? DEFAULT_LIST_SORT_LIMIT;
  const listSortLimitSetting = options.listSortLimitSetting ?? 'storage.s3.listSortLimit';
  if (!Number.isInteger(listSortLimit) || listSortLimit < 1) {
    throw new ConfigError(`S3 storage ${location}: listSortLimit must be a positive integer, got ${String(options.listSortLimit)}`);
  }
  for (const [name, value] of [['connectTimeoutMs', connectTimeoutMs], ['requestTimeoutMs', requestTimeoutMs]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(`S3 storage ${location}: ${name} must be a positive integer (milliseconds), got ${String(value)}`);
  }

  // Since client-s3 3.729 the SDK adds CRC32 checksums (aws-chunked trailers for streams) to every
  // upload; R2, B2, Scality, OSS, Swift and others reject them (aws-sdk-js-v3 #6810). Default to
  // WHEN_REQUIRED off AWS. (Bodies reach the SDK as Buffers, so even WHEN_SUPPORTED sends a plain
  // header, never a trailer.)
  const defaultChecksums: ChecksumMode = endpoint ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  const requestChecksumCalculation = options.requestChecksumCalculation ?? defaultChecksums;
  const responseChecksumValidation = options.responseChecksumValidation ?? options.requestChecksumCalculation ?? defaultChecksums;
  for (const [name, value] of [['requestChecksumCalculation', requestChecksumCalculation], ['responseChecksumValidation', responseChecksumValidation]] as const) {
    if (value !== 'WHEN_SUPPORTED' && value !== 'WHEN_REQUIRED') {
      throw new ConfigError(`S3 storage ${location}: ${name} must be WHEN_SUPPORTED or WHEN_REQUIRED, got ${JSON.stringify(value)}`);
    }
  }

  const clientConfig = {
    region: options.region,
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    requestChecksumCalculation,
    responseChecksumValidation,
  };
  // Every call but downloads: a socket idle for requestTimeoutMs (nothing sent or received) fails
  // the request. (In @smithy/node-http-handler 4.x `socketTimeout` is that idle timeout;
  // `requestTimeout` is a wall clock up to the response headers, which would cut off a slow part upload.)
  const client = new S3Client({ ...clientConfig, requestHandler: { connectionTimeout: connectTimeoutMs, socketTimeout: requestTimeoutMs } });
  // Downloads: the socket of a body read slowly (backpressure) is idle without anything being
  // wrong, so no socket timeout here; the headers must arrive within requestTimeoutMs (a GET sends
  // no body), and the front's download guard fails a body that stalls while its reader waits.
  const downloads = new S3Client({
    ...clientConfig,
    requestHandler: { connectionTimeout: connectTimeoutMs, requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true },
  });

  /** Set once DeleteObjects turned out unsupported by this service; delete then uses DeleteObject. */
  let perObjectDelete = false;
  const objectKey = (key: string): string => root + key;
  const quote = (key: string): string => JSON.stringify(key);

  function explain(error: unknown): DriverFailure {
    const attempts = asSdkError(error).$metadata?.attempts;
    const tried = attempts && attempts > 1 ? `, ${attempts} attempts` : '';
    const timeout = timeoutKind(error);
    if (timeout === 'connect') {
      return {
        detail: `cannot connect to the S3 endpoint ${host} within ${connectTimeoutMs} ms (storage.s3.connectTimeoutMs, S3_CONNECT_TIMEOUT_MS${tried})`,
        hint: 'Check S3_ENDPOINT and that the S3 service is running and reachable from here (a firewall that drops packets looks like this)',
        code: 'TIMEOUT',
      };
    }
    if (timeout === 'request') {
      return {
        detail: `the S3 endpoint ${host} stopped answering: nothing arrived within ${requestTimeoutMs} ms (storage.s3.requestTimeoutMs, S3_REQUEST_TIMEOUT_MS${tried})`,
        hint: 'Check that the S3 service is healthy; on a slow or congested link raise S3_REQUEST_TIMEOUT_MS',
        code: 'TIMEOUT',
      };
    }
    const net = networkCode(error);
    if (net) return { detail: `cannot reach the S3 endpoint ${host} (${net})`, hint: 'Check S3_ENDPOINT and that the S3 service is running and reachable from here' };
    const code = errorCode(error);
    const status = httpStatus(error);
    const detail = `${code}${status ? ` (HTTP ${status})` : ''}: ${asSdkError(error).message ?? ''}`.trim();
    let hint: string;
    if (code === 'NoSuchBucket') hint = `Check that bucket "${bucket}" exists at ${host} (S3_ENDPOINT) and is spelt right`;
    else if (CREDENTIAL_CODES.has(code) || status === 403) hint = `Check the S3 credentials (S3_ACCESS_KEY / S3_SECRET_KEY) and that they may access bucket "${bucket}"`;
    else if (REGION_CODES.has(code) || status === 301) hint = `Check S3_REGION (now "${options.region}"): the bucket may live in another region`;
    else if (CHECKSUM_CODES.has(code) || /checksum|aws-chunked|trailer/i.test(detail)) {
      hint = 'This S3-compatible service may reject the SDK\'s checksums: set S3_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED and S3_RESPONSE_CHECKSUM_VALIDATION=WHEN_REQUIRED';
    } else if (status !== undefined && status >= 500) hint = 'The S3 service failed or is overloaded; retry later';
    else hint = `Check S3_ENDPOINT (${host}), that bucket "${bucket}" exists, and the credentials`;
    return { detail, hint };
  }

  async function headObject(key: string, signal: AbortSignal | undefined): Promise<StoredObject | undefined> {
    try {
      const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey(key) }), { abortSignal: signal });
      return { key, size: out.ContentLength ?? 0, lastModified: out.LastModified ?? new Date(0) };
    } catch (error) {
      // A HEAD error has no body: a missing bucket is a 404 "NotFound" too, indistinguishable here.
      // Without s3:ListBucket, AWS answers 403 for a missing key: that surfaces as a StorageError.
      const code = errorCode(error);
      if (code === 'NotFound' || code === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  /**
   * Makes sure no multipart upload `uploadId` remains after a failed put: AbortMultipartUpload,
   * then ListParts checks, as S3 may keep parts that were in flight during an abort, and one more
   * abort follows if needed. Each call gets at most
   * requestTimeoutMs (also after an interrupt), and an unreachable endpoint ends the attempts.
   * Returns a problem description, or undefined when the upload is gone.
   */
  async function ensureAborted(key: string, uploadId: string | undefined): Promise<string | undefined> {
    if (!uploadId) return undefined;
    const params = { Bucket: bucket, Key: objectKey(key), UploadId: uploadId };
    const bounded = () => ({ abortSignal: AbortSignal.timeout(requestTimeoutMs) });
    let lastProblem: string | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await client.send(new AbortMultipartUploadCommand(params), bounded());
      } catch (error) {
        if (errorCode(error) !== 'NoSuchUpload') lastProblem = `AbortMultipartUpload failed: ${explain(error).detail}`;
        if (timeoutKind(error) || networkCode(error) || errorCode(error) === 'AbortError') return lastProblem;
      }
      try {
        const parts = await client.send(new ListPartsCommand(params), bounded());
        lastProblem ??= `upload still lists ${parts.Parts?.length ?? 0} part(s) after AbortMultipartUpload`;
      } catch (error) {
        const code = errorCode(error);
        if (code === 'NoSuchUpload' || httpStatus(error) === 404) return undefined;
        // ListParts unsupported or not permitted: the abort answered, trust it.
        if (lastProblem === undefined) return undefined;
      }
    }
    return lastProblem;
  }

  return {
    location,
    explain,
    downloadIdleTimeoutMs: requestTimeoutMs,
    sizeMismatchHint:
      requestChecksumCalculation === 'WHEN_SUPPORTED'
        ? `The S3 service at ${host} did not store the upload faithfully; if it is S3-compatible, set S3_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED and retry`
        : `The S3 service at ${host} did not store the upload faithfully (or is not read-after-write consistent); retry, and check the service`,

    async put(key: string, body: Buffer | AsyncIterable<Buffer>, putOptions: PutOptions): Promise<StoredObject | undefined> {
      const what = `put ${quote(key)}`;
      const partSize = choosePartSize(configuredPartSize, putOptions.contentLength);
      if (partSize > MAX_PART_SIZE) {
        throw new StorageError(`${what} in ${location}: ${putOptions.contentLength} bytes exceed S3's limit of 10,000 parts of 5 GiB`);
      }
      let uploadId: string | undefined;
      try {
        await putStreamed(client, body, {
          bucket,
          key: objectKey(key),
          contentType: putOptions.contentType ?? 'application/octet-stream',
          partSize,
          queueSize,
          checksums: requestChecksumCalculation === 'WHEN_SUPPORTED',
          signal: putOptions.signal,
          onUploadId: (id) => (uploadId = id),
        });
      } catch (error) {
        const abortProblem = await ensureAborted(key, uploadId);
        if (abortProblem) {
          throw new StorageError(`${what} in ${location} failed (${error instanceof Error ? error.message : String(error)}) and multipart upload ${uploadId} may remain: ${abortProblem}`, {
            hint: 'Add a bucket lifecycle rule AbortIncompleteMultipartUpload (e.g. after 1 day) so stray parts do not cost storage',
            cause: error,
          });
        }
        throw error;
      }
      // Verify what the service stored, not what the SDK believes it sent.
      return headObject(key, putOptions.signal);
    },

    async get(key: string, signal: AbortSignal | undefined) {
      let out;
      try {
        out = await downloads.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey(key) }), { abortSignal: signal });
      } catch (error) {
        if (errorCode(error) === 'NoSuchKey') return undefined;
        throw error;
      }
      const body = out.Body;
      if (!(body instanceof Readable)) {
        throw new StorageError(`get ${quote(key)} in ${location}: the SDK returned no Node.js stream`, { hint: 'This is a bug: report it' });
      }
      return { body, size: out.ContentLength };
    },

    head: headObject,

    async *list(listPrefix: string, signal: AbortSignal | undefined): AsyncIterable<StoredObject> {
      // AWS lists in UTF-8 byte order, but not every S3-compatible does (s3rver walks its folders,
      // putting `a/b` before `a-b`). Up to listSortLimit keys are held and sorted, so any order
      // works for backup listings; past that they are yielded sorted and the rest streams as
      // listed, each key after the last one yielded (checked), so a file set's source of millions
      // of keys lists in bounded memory.
      const held: StoredObject[] = [];
      let lastYielded: string | undefined;
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: root + listPrefix, ContinuationToken: token }), { abortSignal: signal });
        for (const item of page.Contents ?? []) {
          if (item.Key === undefined || !item.Key.startsWith(root)) continue;
          const object = { key: item.Key.slice(root.length), size: item.Size ?? 0, lastModified: item.LastModified ?? new Date(0) };
          if (lastYielded === undefined && held.length < listSortLimit) {
            held.push(object);
            continue;
          }
          if (lastYielded === undefined) {
            yield* held.sort((a, b) => compareKeys(a.key, b.key));
            lastYielded = held.at(-1)!.key;
            held.length = 0;
          }
          if (compareKeys(lastYielded, object.key) >= 0) {
            throw new StorageError(`list ${quote(listPrefix)} in ${location}: the service lists ${quote(object.key)} after ${quote(lastYielded)}, not in UTF-8 byte order, and the listing is longer than ${listSortLimit} keys`, {
              hint: `Use an S3 service that lists in byte order (AWS, MinIO, R2 and GCS do), or raise ${listSortLimitSetting} to sort longer listings in memory`,
            });
          }
          lastYielded = object.key;
          yield object;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      yield* held.sort((a, b) => compareKeys(a.key, b.key));
    },

    async copy(fromKey: string, toKey: string, signal: AbortSignal | undefined): Promise<StoredObject | undefined> {
      // CopyObject handles objects up to 5 GB. Larger ones need a multipart UploadPartCopy, which
      // is not implemented: pgdrill copies only manifests and reports this way (limitation).
      const source = `${bucket}/${objectKey(fromKey).split('/').map(encodeURIComponent).join('/')}`;
      try {
        await client.send(new CopyObjectCommand({ Bucket: bucket, Key: objectKey(toKey), CopySource: source }), { abortSignal: signal });
      } catch (error) {
        if (errorCode(error) === 'NoSuchKey') return undefined;
        throw error;
      }
      const head = await headObject(toKey, signal);
      if (!head) {
        throw new StorageError(`copy ${quote(fromKey)} to ${quote(toKey)} in ${location}: the copy is missing after CopyObject succeeded`, { hint: `Check the S3 service at ${host}` });
      }
      return head;
    },

    async delete(keys: readonly string[], signal: AbortSignal | undefined): Promise<void> {
      for (let start = 0; start < keys.length; start += DELETE_BATCH) {
        const batch = keys.slice(start, start + DELETE_BATCH);
        if (!perObjectDelete) {
          try {
            // DeleteObjects always carries a checksum (the API requires one), even in WHEN_REQUIRED.
            const out = await client.send(
              new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((key) => ({ Key: objectKey(key) })), Quiet: true } }),
              { abortSignal: signal },
            );
            const errors = (out.Errors ?? []).filter((entry) => entry.Code !== 'NoSuchKey');
            if (errors.length > 0) {
              const shown = errors.slice(0, 3).map((entry) => `${quote((entry.Key ?? '').slice(root.length))} (${entry.Code ?? 'Error'}: ${entry.Message ?? ''})`);
              throw new StorageError(`delete in ${location} failed for ${errors.length} of ${batch.length} object(s): ${shown.join(', ')}`, {
                hint: `Check that the credentials may delete from bucket "${bucket}"`,
              });
            }
            continue;
          } catch (error) {
            if (error instanceof StorageError || !DELETE_FALLBACK_CODES.has(errorCode(error))) throw error;
            perObjectDelete = true; // this service has no (working) DeleteObjects: use DeleteObject from now on
          }
        }
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < batch.length) {
            const key = batch[next++]!;
            try {
              await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey(key) }), { abortSignal: signal });
            } catch (error) {
              if (errorCode(error) === 'NoSuchKey') continue;
              throw error;
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, batch.length) }, worker));
      }
    },

    // Signed locally with the configured credentials (SigV4 query string): the URL names the
    // endpoint as configured, so it works wherever that endpoint is reachable.
    presignGet: (key: string, expiresSeconds: number): Promise<string> =>
      getSignedUrl(downloads, new GetObjectCommand({ Bucket: bucket, Key: objectKey(key) }), { expiresIn: expiresSeconds }),

    async close(): Promise<void> {
      client.destroy();
      downloads.destroy();
    },
  };
}
