import { randomBytes } from 'node:crypto';
import { constants, type Dirent, type Stats } from 'node:fs';
import { copyFile, open, opendir, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { StorageError } from '../errors/index.ts';
import { makeDirectory } from './directory.ts';
import { createStorage, type StorageOptions } from './front.ts';
import { compareKeys } from './keys.ts';
import type { BackupStorage, DriverFailure, StorageDriver, StoredObject } from './types.ts';

export interface LocalStorageOptions {
  /** Folder that holds the objects; created on the first put. Relative paths resolve against the cwd. */
  root: string;
}

// Writes go to `.{name}.partial-{random}` in the target's own directory (same filesystem, so the
// rename is atomic), are fsynced, then renamed over the key; the directory is fsynced too. Readers
// therefore see the old object or the complete new one, never a torn file. Listings skip these
// temp files; a crash can leave one behind (they are never visible as keys, `leftovers` finds them).
//
// Limitation compared with S3: a key cannot be both an object and a "directory" of other keys
// (`a` and `a/b`), because a file and a folder cannot share a name.

const TEMP_PATTERN = /^\..*\.partial-[0-9a-f]{12}$/;

function tempName(base: string): string {
  return `.${base}.partial-${randomBytes(6).toString('hex')}`;
}

function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** ENOENT, or ENOTDIR when a part of the path is a file: either way nothing is stored under the key. */
function isMissing(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

const FS_HINTS: Record<string, string> = {
  EACCES: 'Check that the pgdrill user may read and write the backup folder',
  EPERM: 'Check that the pgdrill user may read and write the backup folder',
  EROFS: 'The backup folder is on a read-only filesystem; point PGDRILL_STORAGE at a writable folder',
  ENOSPC: 'The backup filesystem is full; free space or point PGDRILL_STORAGE elsewhere',
  EDQUOT: 'The disk quota is exhausted; free space or raise the quota',
  ENOTDIR: 'A part of the key path is an existing file; a folder backend cannot hold both `a` and `a/b`',
  EISDIR: 'The key names an existing folder; a folder backend cannot hold both `a` and `a/b`',
};

export function createLocalStorage(options: LocalStorageOptions, storageOptions?: StorageOptions): BackupStorage {
  return createStorage(createLocalDriver(options), storageOptions);
}

function createLocalDriver(options: LocalStorageOptions): StorageDriver {
  if (typeof options.root !== 'string' || options.root === '') {
    throw new StorageError('local storage: the folder path is empty', { hint: 'Set PGDRILL_STORAGE to a folder path or an s3:// URL' });
  }
  const root = path.resolve(options.root);
  const location = pathToFileURL(root).href;

  function fileOf(key: string, operation: string): string {
    if (TEMP_PATTERN.test(path.posix.basename(key))) {
      throw new StorageError(`${operation} ${JSON.stringify(key)} in ${location}: invalid key, it looks like a temp file (.name.partial-…)`, {
        hint: 'Choose another name; such files are hidden from listings',
      });
    }
    return path.join(root, ...key.split('/'));
  }

  async function syncDirectory(dir: string): Promise<void> {
    // Persists the rename. Some filesystems refuse fsync on a directory; the data itself is synced.
    const handle = await open(dir, 'r').catch(() => undefined);
    if (!handle) return;
    await handle.sync().catch(() => undefined);
    await handle.close().catch(() => undefined);
  }

  async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
      offset += bytesWritten;
    }
  }

  /** Writes via a temp file and renames it over `file`; `fill` writes the content into the temp file. */
  async function publish(file: string, fill: (temp: string) => Promise<void>): Promise<Stats> {
    const dir = path.dirname(file);
    await makeDirectory(dir);
    const temp = path.join(dir, tempName(path.basename(file)));
    try {
      await fill(temp);
      const info = await stat(temp);
      await rename(temp, file);
      await syncDirectory(dir);
      return info;
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw error;
    }
  }

  function stored(key: string, info: Stats): StoredObject {
    return { key, size: info.size, lastModified: info.mtime };
  }

  async function regularFile(file: string): Promise<Stats | undefined> {
    try {
      const info = await stat(file);
      return info.isFile() ? info : undefined;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** Yields files under `dir` (key `dirKey`) whose key starts with `prefix`, in S3 (UTF-8 byte) order. */
  async function* walk(dir: string, dirKey: string, prefix: string): AsyncGenerator<StoredObject> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    // A folder `a` sorts as `a/` among its siblings, so its keys come out in global key order.
    const items: Array<{ sortKey: string; key: string; file: string; isDir: boolean }> = [];
    for (const entry of entries) {
      if (TEMP_PATTERN.test(entry.name)) continue;
      const key = dirKey + entry.name;
      const file = path.join(dir, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await stat(file).catch(() => undefined);
        isFile = target?.isFile() ?? false;
        isDir = false; // never follow folder symlinks (loops)
      }
      if (isDir ? !(key + '/').startsWith(prefix) && !prefix.startsWith(key + '/') : !isFile || !key.startsWith(prefix)) continue;
      items.push({ sortKey: isDir ? key + '/' : key, key, file, isDir });
    }
    items.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const item of items) {
      if (item.isDir) {
        yield* walk(item.file, item.key + '/', prefix);
        continue;
      }
      const info = await regularFile(item.file);
      if (info) yield stored(item.key, info);
    }
  }

  return {
    location,
    sizeMismatchHint: `Check the filesystem under ${root}`,

    explain(error: unknown): DriverFailure {
      const code = errnoCode(error);
      return { detail: error instanceof Error ? error.message : String(error), hint: (code && FS_HINTS[code]) ?? `Check the backup folder ${root}` };
    },

    async put(key: string, body: Buffer | AsyncIterable<Buffer>): Promise<StoredObject> {
      const file = fileOf(key, 'put');
      const info = await publish(file, async (temp) => {
        const handle = await open(temp, 'wx');
        try {
          if (Buffer.isBuffer(body)) await writeAll(handle, body);
          else for await (const chunk of body) await writeAll(handle, chunk);
          await handle.sync();
        } finally {
          await handle.close();
        }
      });
      return stored(key, info);
    },

    async get(key: string) {
      let handle: FileHandle;
      try {
        handle = await open(fileOf(key, 'get'), 'r');
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
      let info: Stats;
      try {
        info = await handle.stat();
      } catch (error) {
        await handle.close().catch(() => undefined);
        throw error;
      }
      if (!info.isFile()) {
        await handle.close().catch(() => undefined);
        return undefined;
      }
      // The open handle pins this version of the file even if a put renames over it meanwhile.
      return { body: handle.createReadStream({ autoClose: true }), size: info.size };
    },

    async head(key: string): Promise<StoredObject | undefined> {
      const info = await regularFile(fileOf(key, 'head'));
      return info && stored(key, info);
    },

    async *list(prefix: string): AsyncIterable<StoredObject> {
      const complete = prefix.split('/').slice(0, -1);
      const startKey = complete.length ? complete.join('/') + '/' : '';
      yield* walk(path.join(root, ...complete), startKey, prefix);
    },

    async copy(fromKey: string, toKey: string): Promise<StoredObject | undefined> {
      const from = fileOf(fromKey, 'copy');
      const to = fileOf(toKey, 'copy');
      try {
        if (!(await regularFile(from))) return undefined;
        const info = await publish(to, async (temp) => {
          // copyFile may use reflinks / copy_file_range; EXCL keeps the random temp name ours.
          await copyFile(from, temp, constants.COPYFILE_EXCL);
          const handle = await open(temp, 'r+');
          try {
            await handle.sync();
          } finally {
            await handle.close();
          }
        });
        return stored(toKey, info);
      } catch (error) {
        // The source vanished during the copy (a concurrent delete).
        if (errnoCode(error) === 'ENOENT' && !(await regularFile(from).catch(() => undefined))) return undefined;
        throw error;
      }
    },

    async delete(keys: readonly string[]): Promise<void> {
      const files = keys.map((key) => fileOf(key, 'delete'));
      for (const file of files) {
        try {
          await unlink(file);
        } catch (error) {
          if (isMissing(error)) continue;
          const code = errnoCode(error);
          if (code === 'EISDIR' || code === 'EPERM') {
            // A folder, not an object: nothing stored under this key.
            const info = await stat(file).catch(() => undefined);
            if (info?.isDirectory()) continue;
          }
          throw error;
        }
      }
    },

    async close(): Promise<void> {},
  };
}

/** Temp files an interrupted or failed put left under `root` (for tests and `doctor`-style checks). */
export async function findLocalLeftovers(root: string): Promise<string[]> {
  const found: string[] = [];
  async function visit(dir: string): Promise<void> {
    const handle = await opendir(dir).catch(() => undefined);
    if (!handle) return;
    for await (const entry of handle) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) await visit(file);
      else if (TEMP_PATTERN.test(entry.name)) found.push(path.relative(root, file).split(path.sep).join('/'));
    }
  }
  await visit(path.resolve(root));
  return found.sort(compareKeys);
}
