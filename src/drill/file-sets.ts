import { randomInt } from 'node:crypto';
import type { FileSetOutcome } from '../check/index.ts';
import type { BackupManifest } from '../catalog/index.ts';
import type { PgdrillConfig } from '../config/index.ts';
import type { Keyring } from '../crypto/index.ts';
import { fetchFileManifest, localEntries, manifestFormat, scratchFolder, verifyContent, type FileEntry } from '../files/index.ts';
import type { BackupStorage } from '../storage/index.ts';

// The drill's part of the file sets: each set's file manifest fetched (verified) to a private temp
// folder for the `file-references` check, and a sample of its stored contents downloaded,
// decrypted and hashed against it (all of them with `pgdrill drill --full`).

/** Contents verified at once. */
const CONCURRENCY = 8;
/** Failures named in the evidence (the count covers all). */
const NAMED_FAILURES = 20;

/** How many of `files` the drill verifies: the larger of `objects` and `percent` % of them (never more than there are). */
export function sampleSize(files: number, sample: PgdrillConfig['drill']['fileSample'], full: boolean): number {
  if (full) return files;
  return Math.min(files, Math.max(sample.objects, Math.ceil((files * sample.percent) / 100)));
}

/** `size` entries chosen uniformly at random from a stream (reservoir sampling: memory holds the sample only). */
async function reservoir(entries: AsyncIterable<FileEntry>, size: number): Promise<FileEntry[]> {
  const chosen: FileEntry[] = [];
  let seen = 0;
  for await (const entry of entries) {
    seen += 1;
    if (chosen.length < size) chosen.push(entry);
    else {
      const slot = randomInt(seen);
      if (slot < size) chosen[slot] = entry;
    }
  }
  return chosen;
}

/** Verifies entries with bounded concurrency; failures are collected, not thrown. */
async function verifyAll(entries: AsyncIterable<FileEntry>, verify: (entry: FileEntry) => Promise<Error | undefined>): Promise<{ verified: number; failed: number; failures: Array<{ key: string; error: string }> }> {
  const result = { verified: 0, failed: 0, failures: [] as Array<{ key: string; error: string }> };
  const running = new Set<Promise<void>>();
  for await (const entry of entries) {
    const job = verify(entry).then((error) => {
      result.verified += 1;
      if (!error) return;
      result.failed += 1;
      if (result.failures.length < NAMED_FAILURES) result.failures.push({ key: entry.key, error: error.message });
    });
    running.add(job);
    void job.finally(() => running.delete(job));
    if (running.size >= CONCURRENCY) await Promise.race(running);
  }
  await Promise.all(running);
  return result;
}

async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/**
 * Every file set of the backup: fetched, sampled and verified. A set that cannot be fetched is an
 * outcome with its error (the check fails it), never a thrown error.
 */
export async function prepareFileSets(o: {
  config: PgdrillConfig;
  storage: BackupStorage;
  keyring: Keyring | null;
  manifest: BackupManifest;
  full: boolean;
  cleanups: Array<() => Promise<unknown>>;
  mark: (step: string, detail?: string) => void;
}): Promise<FileSetOutcome[]> {
  const sets = o.manifest.files ?? [];
  if (sets.length === 0) return [];
  const folder = await scratchFolder('drill-files');
  o.cleanups.push(() => folder.remove());
  const { encrypted } = manifestFormat(o.manifest);
  const outcomes: FileSetOutcome[] = [];
  for (const record of sets) {
    const configured = o.config.backup.files.find((f) => f.name === record.name);
    const size = sampleSize(record.files, o.config.drill.fileSample, o.full);
    const base: FileSetOutcome = {
      name: record.name,
      source: record.source,
      files: record.files,
      contents: record.contents,
      manifestPath: null,
      referencesQuery: configured?.referencesQuery ?? null,
      sample: { planned: size, full: o.full || size === record.files, verified: 0, failed: 0, failures: [] },
    };
    try {
      const file = await fetchFileManifest(o.storage, record, o.manifest, o.keyring, folder.path);
      const label = `${o.manifest.id}/${record.name}`;
      const store = { storage: o.storage, prefix: o.config.storage.prefix, keyring: o.keyring };
      const chosen = size === record.files ? localEntries(file, label) : fromArray(await reservoir(localEntries(file, label), size));
      const verified = await verifyAll(chosen, (entry) => verifyContent(store, entry, encrypted));
      outcomes.push({ ...base, manifestPath: file, sample: { ...base.sample, ...verified } });
      o.mark('files-verified', `${record.name}: ${verified.verified} of ${record.files} stored contents verified${verified.failed ? `, ${verified.failed} FAILED` : ''}`);
    } catch (error) {
      outcomes.push({ ...base, error: (error as Error).message });
    }
  }
  return outcomes;
}
