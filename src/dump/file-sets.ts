import { listBackups, selectBackup, type BackupManifest, type FileSetRecord } from '../catalog/index.ts';
import type { PgdrillConfig } from '../config/index.ts';
import type { Keyring } from '../crypto/index.ts';
import { captureFileSet, fetchFileManifest, localEntries, openFileLocation, scratchFolder, type ObjectFormat, type PreviousFileSet } from '../files/index.ts';
import type { BackupStorage } from '../storage/index.ts';

// The configured file sets of a full backup, one after the other (each reads `concurrency` files at
// once). The previous backup's file manifest of each set (the newest full backup's: retention never
// deletes that one, so the contents it names stay stored) saves reading unchanged files again.

export interface CaptureFileSetsOptions {
  config: PgdrillConfig;
  storage: BackupStorage;
  keyring: Keyring | null;
  id: string;
  format: ObjectFormat;
  now: () => Date;
  signal?: AbortSignal;
  onStored: (key: string) => void;
  log: (line: string) => void;
  /** Something the operator should know although the backup goes on. */
  warn: (line: string) => void;
}

export async function captureFileSets(o: CaptureFileSetsOptions): Promise<FileSetRecord[]> {
  const { config, storage } = o;
  const prefix = config.storage.prefix;
  const encrypted = o.keyring !== null;
  const newest = selectBackup(await listBackups(storage, prefix))?.manifest;
  const scratch = await scratchFolder('files');
  try {
    const records: FileSetRecord[] = [];
    for (const set of config.backup.files) {
      const source = openFileLocation(set.source, set, `source ${JSON.stringify(set.source)}`, { signal: o.signal });
      try {
        const previous = await previousFileSet(newest, set.name, encrypted, { storage, keyring: o.keyring, folder: scratch.path, signal: o.signal, warn: o.warn });
        records.push(
          await captureFileSet({
            set,
            source,
            store: { storage, prefix, keyring: o.keyring, chunkSize: config.encryption.chunkSize },
            id: o.id,
            format: o.format,
            previous,
            orphanGraceHours: config.backup.orphanGraceHours,
            now: o.now,
            signal: o.signal,
            onStored: o.onStored,
            log: o.log,
          }),
        );
      } finally {
        await source.close();
      }
    }
    return records;
  } finally {
    await scratch.remove();
  }
}

/**
 * The set's file manifest in the newest full backup, fetched and verified to local disk; undefined
 * (every file is read again) when there is none, its contents were stored differently (encrypted or
 * not), or it cannot be read (a warning says why: a damaged manifest must not block new backups).
 */
async function previousFileSet(
  newest: BackupManifest | undefined,
  name: string,
  encrypted: boolean,
  o: { storage: BackupStorage; keyring: Keyring | null; folder: string; signal?: AbortSignal; warn: (line: string) => void },
): Promise<PreviousFileSet | undefined> {
  const record = newest?.files?.find((f) => f.name === name);
  if (!newest || !record || (newest.encryption.algorithm !== 'none') !== encrypted) return undefined;
  try {
    const file = await fetchFileManifest(o.storage, record, newest, o.keyring, o.folder, o.signal);
    return { entries: localEntries(file, `${newest.id}/${name}`) };
  } catch (error) {
    if (o.signal?.aborted) throw error;
    o.warn(`file set ${name}: the previous file manifest (backup ${newest.id}) cannot be read, so every file is read again: ${(error as Error).message}`);
    return undefined;
  }
}
