import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

// A real S3 API for tests: s3rver (an S3 emulator on the local filesystem) on 127.0.0.1, a random
// port, its own temp directory and a fresh bucket. Use path-style requests (`forcePathStyle`).
//
// s3rver 3.7 lacks three multipart calls pgdrill's tests depend on, so this helper adds them in
// front of its router, reading s3rver's own upload directory ({dir}/{bucket}/._S3rver_uploads):
//   GET    /{bucket}?uploads             ListMultipartUploads
//   DELETE /{bucket}/{key}?uploadId=…    AbortMultipartUpload (404 NoSuchUpload when unknown)
//   GET    /{bucket}/{key}?uploadId=…    ListParts            (404 NoSuchUpload when unknown)
// and, like S3, answers UploadPart / CompleteMultipartUpload for an unknown upload id with 404
// NoSuchUpload (s3rver would silently recreate the upload directory).
//
// s3rver 3.7 also answers PutObject, UploadPart and CompleteMultipartUpload before the data is on
// disk (it resolves when its hashing Transform finishes, not when the file stream does), so a
// HeadObject right after a put can see a short object: pgdrill's size check caught exactly that.
// The helper swaps those two store methods for versions that wait for the file to be written.
//
// Nor can s3rver 3.7 page a ListObjectsV2 past 1,000 keys on Node 24: it makes its continuation
// token with DES, which OpenSSL 3 refuses (a 500 InternalError). The helper pages those listings
// itself (paginateListings): the token it hands out is the last key listed, read back as start-after.
//
// It also records every request and can inject faults (`intercept`), so tests can fail a given
// call, tamper with a response header or leave a call unanswered.

export interface S3RequestRecord {
  method: string;
  bucket: string;
  /** Object key, '' for bucket-level calls. */
  key: string;
  query: URLSearchParams;
  /** Request headers, lower-case names. */
  headers: Record<string, string | string[] | undefined>;
}

export type S3Interception =
  /** Answer with this S3 error instead of passing the request on. */
  | { error: { status: number; code: string; message?: string } }
  /** Pass the request on, then override these response headers. */
  | { responseHeaders: Record<string, string> }
  /** Never answer (an endpoint that hangs mid-conversation); the connection is dropped on stop(). */
  | { hang: true }
  /** Hold the request until `until` settles, then pass it on (a slow endpoint the test controls). */
  | { delay: Promise<unknown> };

export interface StartedS3Server {
  /** `http://127.0.0.1:{port}` */
  endpoint: string;
  bucket: string;
  /** More buckets on the same server (`startS3Server({ extraBuckets })`), e.g. a source of files besides the backup bucket. */
  extraBuckets: string[];
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** s3rver's data directory. */
  directory: string;
  /** Every request received, in arrival order. */
  readonly requests: S3RequestRecord[];
  /**
   * Applies `action` to requests matching `match`, `times` times (default: until cleared).
   * Returns a function that removes the interception.
   */
  intercept(match: (request: S3RequestRecord) => boolean, action: S3Interception, times?: number): () => void;
  /** Multipart uploads s3rver still holds in `bucket` (read from its directory). */
  pendingUploads(): Promise<Array<{ key: string; uploadId: string }>>;
  stop(): Promise<void>;
}

// Minimal typing of the parts of s3rver (a Koa app) used here; s3rver ships no types.
interface KoaContext {
  method: string;
  path: string;
  querystring: string;
  req: IncomingMessage;
  status: number;
  body: unknown;
  type: string;
  set(field: string, value: string): void;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface FilesystemStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  putObject(object: { bucket: string; key: string; content: Readable | Buffer; metadata: unknown }): Promise<{ size: number; md5: string }>;
  putPart(bucket: string, uploadId: string, partNumber: number | string, content: Readable): Promise<{ size: number; md5: string }>;
  listObjects(bucket: string, options: Record<string, unknown>): Promise<{ objects: Array<{ key: string }>; isTruncated: boolean }>;
}
interface S3rverInstance {
  middleware: KoaMiddleware[];
  store: FilesystemStore;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

const require = createRequire(import.meta.url);

function xmlEscape(value: string): string {
  return value.replace(/[<>&'"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function s3ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`;
}

/** Writes `content` to `file` and resolves once the file is complete, with its size and MD5. */
async function writeHashed(content: Readable | Buffer, file: string): Promise<{ size: number; md5: string }> {
  await mkdir(path.dirname(file), { recursive: true });
  const md5 = createHash('md5');
  let size = 0;
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      md5.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(Buffer.isBuffer(content) ? Readable.from([content]) : content, hasher, createWriteStream(file));
  return { size, md5: md5.digest('hex') };
}

/** Makes s3rver's store answer only after the data is on disk (see the header comment). */
function fixStoreWrites(store: FilesystemStore): void {
  store.putObject = async (object) => {
    const written = await writeHashed(object.content, store.getResourcePath(object.bucket, object.key, 'object'));
    await store.putMetadata(object.bucket, object.key, object.metadata, written.md5);
    return written;
  };
  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const file = path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
    const written = await writeHashed(content, file);
    await writeFile(`${file}.md5`, written.md5);
    return written;
  };
}

/** What a ListObjectsV2 request being served left to list: the last key of a truncated page. */
const listing = new AsyncLocalStorage<{ truncatedAfter?: string }>();
const TOKEN_PREFIX = 'pgdrill-helper:';

/**
 * Pages ListObjectsV2 without s3rver's DES continuation tokens (see the header comment): the store
 * reports a truncated page as complete to s3rver, and `pagedListing` (in front of s3rver) marks it
 * truncated with a token of its own, which it turns back into start-after on the next request.
 */
function paginateListings(store: FilesystemStore): KoaMiddleware {
  const listObjects = store.listObjects.bind(store);
  store.listObjects = async (bucket, options) => {
    const result = await listObjects(bucket, options);
    const state = listing.getStore();
    if (!state || !result.isTruncated) return result;
    state.truncatedAfter = result.objects.at(-1)!.key;
    return { ...result, isTruncated: false };
  };
  return async (ctx, next) => {
    const query = new URLSearchParams(ctx.querystring);
    if (ctx.method !== 'GET' || query.get('list-type') !== '2') return next();
    const token = query.get('continuation-token');
    if (token?.startsWith(TOKEN_PREFIX)) {
      query.delete('continuation-token');
      query.set('start-after', Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString('utf8'));
      ctx.querystring = query.toString();
    }
    const state: { truncatedAfter?: string } = {};
    await listing.run(state, next);
    if (state.truncatedAfter !== undefined && typeof ctx.body === 'string') {
      const nextToken = `${TOKEN_PREFIX}${Buffer.from(state.truncatedAfter, 'utf8').toString('base64url')}`;
      ctx.body = ctx.body.replace('<IsTruncated>false</IsTruncated>', `<IsTruncated>true</IsTruncated><NextContinuationToken>${nextToken}</NextContinuationToken>`);
    }
  };
}

function parseRequest(ctx: KoaContext): S3RequestRecord {
  const [, bucket = '', ...rest] = ctx.path.split('/');
  return {
    method: ctx.method,
    bucket: decodeURIComponent(bucket),
    key: rest.map((segment) => decodeURIComponent(segment)).join('/'),
    query: new URLSearchParams(ctx.querystring),
    headers: { ...ctx.req.headers },
  };
}

export async function startS3Server(options: { extraBuckets?: number } = {}): Promise<StartedS3Server> {
  const S3rver = require('s3rver') as S3rverConstructor;
  const directory = await mkdtemp(path.join(tmpdir(), 'pgdrill-s3rver-'));
  const bucket = `pgdrill-test-${randomBytes(4).toString('hex')}`;
  const extraBuckets = Array.from({ length: options.extraBuckets ?? 0 }, (_, i) => `${bucket}-extra${i + 1}`);
  const uploadsDir = path.join(directory, bucket, '._S3rver_uploads');
  const requests: S3RequestRecord[] = [];
  let interceptions: Array<{ match: (request: S3RequestRecord) => boolean; action: S3Interception; left: number }> = [];
  /** Connections of requests left unanswered (`hang`), closed on stop(). */
  const hanging = new Set<Socket>();

  async function uploadKey(uploadId: string): Promise<string | undefined> {
    if (!/^[0-9a-f]+$/.test(uploadId)) return undefined;
    return readFile(path.join(uploadsDir, uploadId, 'key'), 'utf8').catch(() => undefined);
  }

  async function pendingUploads(): Promise<Array<{ key: string; uploadId: string }>> {
    const ids = await readdir(uploadsDir).catch(() => [] as string[]);
    const uploads: Array<{ key: string; uploadId: string }> = [];
    for (const uploadId of ids.sort()) {
      const key = await uploadKey(uploadId);
      if (key !== undefined) uploads.push({ key, uploadId });
    }
    return uploads;
  }

  function sendError(ctx: KoaContext, status: number, code: string, message: string): void {
    ctx.status = status;
    ctx.type = 'application/xml';
    ctx.body = s3ErrorXml(code, message);
  }

  const shim: KoaMiddleware = async (ctx, next) => {
    const request = parseRequest(ctx);
    requests.push(request);

    const hit = interceptions.find((entry) => entry.left > 0 && entry.match(request));
    if (hit) {
      hit.left -= 1;
      const { action } = hit;
      if ('hang' in action) {
        hanging.add(ctx.req.socket);
        return new Promise<void>(() => {});
      }
      if ('error' in action) {
        const { status, code, message = 'injected by test/helpers/s3.ts' } = action.error;
        sendError(ctx, status, code, message);
        return;
      }
      if ('responseHeaders' in action) {
        await next();
        for (const [name, value] of Object.entries(action.responseHeaders)) ctx.set(name, value);
        return;
      }
      // Delayed: held until released, then served like any other request.
      await action.delay.catch(() => {});
    }

    if (request.bucket !== bucket) return next();
    const { query } = request;

    if (ctx.method === 'GET' && request.key === '' && query.has('uploads')) {
      const prefix = query.get('prefix') ?? '';
      const uploads = (await pendingUploads()).filter((upload) => upload.key.startsWith(prefix));
      const items = uploads
        .map((upload) => `<Upload><Key>${xmlEscape(upload.key)}</Key><UploadId>${upload.uploadId}</UploadId><Initiated>${new Date().toISOString()}</Initiated></Upload>`)
        .join('');
      ctx.type = 'application/xml';
      ctx.body =
        `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
        `<Bucket>${xmlEscape(bucket)}</Bucket><Prefix>${xmlEscape(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${items}</ListMultipartUploadsResult>`;
      return;
    }

    const uploadId = query.get('uploadId');
    if (uploadId === null || request.key === '') return next();
    const key = await uploadKey(uploadId);
    if (key !== request.key) {
      sendError(ctx, 404, 'NoSuchUpload', 'The specified upload does not exist.');
      return;
    }
    if (ctx.method === 'DELETE') {
      await rm(path.join(uploadsDir, uploadId), { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    if (ctx.method === 'GET') {
      const names = await readdir(path.join(uploadsDir, uploadId));
      const parts = await Promise.all(
        names
          .filter((name) => /^\d+$/.test(name))
          .sort((a, b) => Number(a) - Number(b))
          .map(async (name) => {
            const file = path.join(uploadsDir, uploadId, name);
            const [info, md5] = await Promise.all([stat(file), readFile(`${file}.md5`, 'utf8').catch(() => '')]);
            return `<Part><PartNumber>${name}</PartNumber><ETag>"${md5}"</ETag><Size>${info.size}</Size></Part>`;
          }),
      );
      ctx.type = 'application/xml';
      ctx.body =
        `<?xml version="1.0" encoding="UTF-8"?>\n<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
        `<Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${uploadId}</UploadId><IsTruncated>false</IsTruncated>${parts.join('')}</ListPartsResult>`;
      return;
    }
    return next();
  };

  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: [bucket, ...extraBuckets].map((name) => ({ name, configs: [] })),
  });
  fixStoreWrites(server.store);
  // Koa composes its middleware when the server starts listening, so this runs before s3rver's own.
  server.middleware.unshift(shim, paginateListings(server.store));
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }

  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    extraBuckets,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    directory,
    requests,
    intercept(match, action, times = Number.POSITIVE_INFINITY) {
      const entry = { match, action, left: times };
      interceptions.push(entry);
      return () => {
        interceptions = interceptions.filter((other) => other !== entry);
      };
    },
    pendingUploads,
    async stop() {
      for (const socket of hanging) socket.destroy();
      try {
        await server.close();
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    },
  };
}
