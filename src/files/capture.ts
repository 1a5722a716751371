import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { dataKey, fileSetObjectKind, objectExtension, type FileSetRecord, type StoredObjectRef } from '../catalog/index.ts';
import type { FileSetConfig } from '../config/index.ts';
import { BackupError, PgdrillError, StorageError } from '../errors/index.ts';
import { compareKeys, type BackupStorage, type StoredObject } from '../storage/index.ts';
import { IN_MEMORY_MAX_BYTES, keyOf, putContent, putContentStream, type ContentStore } from './content.ts';
import { DigestSorter, writeTo } from './digests.ts';
import { entryLine, type FileEntry } from './entries.ts';
import { storeObject, type ObjectFormat } from './objects.ts';

// Captures one file set into a backup: lists the source (in key order), takes each file's SHA-256
// from the previous backup's file manifest when its size and modified time are unchanged, else
// reads and hashes it, stores each content not stored yet, and streams the new file manifest and
// its sorted digest list into storage. Memory stays flat whatever the number of files: listing,
// previous manifest and new manifest are merged as streams, at most `concurrency` files are read at
// once (each in memory only up to IN_MEMORY_MAX_BYTES), and the digests are sorted externally.

/**
 * The previous backup's file manifest of this set, verified (fetchFileManifest), when its contents
 * were stored the same way (encrypted or not).
 */
export interface PreviousFileSet {
  entries: AsyncIterable<FileEntry>;
}

export interface CaptureFileSetOptions {
  set: FileSetConfig;
  /** The open source (openFileLocation). */
  source: BackupStorage;
  store: ContentStore;
  /** The backup's id (its objects go under its key stem in `daily/`). */
  id: string;
  format: ObjectFormat;
  previous?: PreviousFileSet;
  /**
   * A content found in storage is counted as stored only when younger than half of
   * `backup.orphanGraceHours` (else stored again): the sweep may remove an unreferenced content older
   * than the grace period, and this backup's manifest must exist before that.
   */
  orphanGraceHours: number;
  now: () => Date;
  signal?: AbortSignal;
  onStored: (key: string) => void;
  log?: (line: string) => void;
}

/** What went into the file manifest for one listed object, or undefined when it vanished before it was read. */
type Pending = Promise<{ entry: FileEntry; stored?: number } | undefined>;

/** A small counting semaphore: at most `limit` of the calls run at once. */
function limiter(limit: number): <T>(run: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (run) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active += 1;
    try {
      return await run();
    } finally {
      active -= 1;
      waiting.shift()?.();
    }
  };
}

/** Reads a whole (small) object into memory. */
async function readAll(source: BackupStorage, key: string, signal?: AbortSignal): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of await source.get(key, { signal })) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function hashStream(source: BackupStorage, key: string, signal?: AbortSignal): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of await source.get(key, { signal })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

const vanished = (error: unknown) => error instanceof StorageError && error.code === 'NOT_FOUND';

export async function captureFileSet(o: CaptureFileSetOptions): Promise<FileSetRecord> {
  const { set, source, store } = o;
  // Stops the reads and uploads still running when one of them fails.
  const stop = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal;
  const listedAt = o.now();
  const encrypted = store.keyring !== null;
  const graceMs = (o.orphanGraceHours * 3_600_000) / 2;
  const limit = limiter(set.concurrency);
  // Contents stored by this run (bounded: only saves a lookup when one content appears under several keys).
  const storedThisRun = new Set<string>();
  const counts = { files: 0, bytes: 0, newContents: 0, newBytes: 0, unchanged: 0 };

  /** Whether the content is in storage and young enough to count on (see orphanGraceHours). */
  const alreadyStored = async (sha256: string): Promise<boolean> => {
    if (storedThisRun.has(sha256)) return true;
    const found = await store.storage.head(keyOf(store, sha256, encrypted), { signal });
    return found !== undefined && o.now().getTime() - found.lastModified.getTime() < graceMs;
  };
  const remember = (sha256: string) => {
    if (storedThisRun.size >= 100_000) storedThisRun.clear();
    storedThisRun.add(sha256);
  };

  const readAndStore = async (object: StoredObject): Promise<{ entry: FileEntry; stored?: number } | undefined> => {
    const mtime = object.lastModified.toISOString();
    try {
      if (object.size <= IN_MEMORY_MAX_BYTES) {
        const data = await readAll(source, object.key, signal);
        const sha256 = createHash('sha256').update(data).digest('hex');
        const entry = { key: object.key, size: data.length, sha256, mtime };
        if (await alreadyStored(sha256)) return { entry };
        await putContent(store, sha256, data, signal);
        remember(sha256);
        return { entry, stored: data.length };
      }
      // Large: hash it first, then read it again into storage (it must hash the same).
      for (let attempt = 1; ; attempt++) {
        const { sha256, size } = await hashStream(source, object.key, signal);
        const entry = { key: object.key, size, sha256, mtime };
        if (await alreadyStored(sha256)) return { entry };
        const changed = new BackupError(`File set "${set.name}": ${JSON.stringify(object.key)} changed while it was being read`);
        try {
          await putContentStream(store, sha256, size, await source.get(object.key, { signal }), () => changed, signal);
          remember(sha256);
          return { entry, stored: size };
        } catch (error) {
          if (error !== changed || attempt === 3) throw error;
        }
      }
    } catch (error) {
      // Deleted since the listing: it is not part of this backup (nor, presumably, referenced any more).
      if (vanished(error)) return undefined;
      throw error;
    }
  };

  const manifestKey = dataKey(store.prefix, 'daily', o.id, objectExtension(fileSetObjectKind(set.name, 'ndjson'), o.format.compression, encrypted));
  const digestsKey = dataKey(store.prefix, 'daily', o.id, objectExtension(fileSetObjectKind(set.name, 'sha256'), o.format.compression, encrypted));
  const lines = new PassThrough();
  o.onStored(manifestKey);
  const manifestUpload = storeObject(store.storage, manifestKey, lines, o.format, signal);
  manifestUpload.catch(() => undefined); // awaited below; a failure also ends the writes
  const sorter = new DigestSorter();
  const window: Pending[] = [];
  try {
    const emit = async (pending: Pending): Promise<void> => {
      const done = await pending;
      if (!done) return;
      counts.files += 1;
      counts.bytes += done.entry.size;
      if (done.stored !== undefined) {
        counts.newContents += 1;
        counts.newBytes += done.stored;
      }
      await sorter.add(done.entry.sha256);
      await writeTo(lines, entryLine(done.entry));
    };

    const previous = o.previous?.entries[Symbol.asyncIterator]();
    let before = previous ? await previous.next() : undefined;
    let last: string | undefined;
    for await (const object of source.list('', { signal })) {
      if (last !== undefined && compareKeys(last, object.key) >= 0) {
        throw new StorageError(`File set "${set.name}": ${source.location} listed ${JSON.stringify(object.key)} after ${JSON.stringify(last)}, out of key order`, {
          hint: 'The source storage does not list in key order; pgdrill cannot merge it with the previous file manifest',
        });
      }
      last = object.key;
      while (before && !before.done && compareKeys(before.value.key, object.key) < 0) before = await previous!.next();
      const old = before && !before.done && before.value.key === object.key ? before.value : undefined;
      const unchanged = old && old.size === object.size && old.mtime === object.lastModified.toISOString();
      if (unchanged) counts.unchanged += 1;
      const pending = unchanged ? Promise.resolve({ entry: old }) : limit(() => readAndStore(object));
      pending.catch(() => undefined); // awaited in order by emit; a failure must not go unhandled meanwhile
      window.push(pending);
      // Finished entries leave in key order; the window bounds what is held meanwhile.
      while (window.length >= set.concurrency * 4) await emit(window.shift()!);
    }
    await previous?.return?.(undefined);
    while (window.length > 0) await emit(window.shift()!);
    lines.end();
    const manifest = await manifestUpload;
    o.onStored(digestsKey);
    let contents = 0;
    const counted = async function* (digests: AsyncIterable<Buffer>) {
      for await (const digest of digests) {
        contents += 1;
        yield digest;
      }
    };
    const digests: StoredObjectRef = await storeObject(store.storage, digestsKey, counted(sorter.sorted()), o.format, signal);
    o.log?.(
      `file set ${set.name}: ${counts.files} files (${counts.unchanged} unchanged), ${contents} distinct contents, ${counts.newContents} stored by this backup from ${source.location}`,
    );
    return { name: set.name, source: source.location, listedAt: listedAt.toISOString(), manifest, digests, contents, ...counts };
  } catch (error) {
    stop.abort(error);
    lines.destroy(error as Error);
    await Promise.allSettled([manifestUpload, ...window]);
    if (o.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : error;
    if (error instanceof PgdrillError) throw error;
    throw new BackupError(`File set "${set.name}" from ${source.location} could not be backed up: ${(error as Error).message}`, { hint: 'Nothing was published; fix the cause and run the backup again', cause: error });
  } finally {
    await sorter.remove();
  }
}

