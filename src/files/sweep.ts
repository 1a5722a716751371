import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { contentPrefix, listBackups, manifestsPrefix, parseContentKey, parseManifestKey } from '../catalog/index.ts';
import type { Keyring } from '../crypto/index.ts';
import type { BackupStorage } from '../storage/index.ts';
import { DIGEST_BYTES, mergeDigests, readDigests, scratchFolder, writeTo } from './digests.ts';
import { manifestFormat, readObject } from './objects.ts';

// Mark and sweep of the content store (retention's last step). Mark: the manifests listed afresh
// (after this run's deletions and promotions, so a backup published meanwhile counts), and the
// union of their file sets' digest lists, merged one list at a time into a sorted, distinct file on
// local disk (memory stays flat; disk holds 32 bytes per distinct content, twice). Sweep: the
// content store's listing (in digest order) merged against it; a content no manifest refers to is
// removed once it is older than the orphan grace period (so a backup still running, whose manifest
// does not exist yet, keeps what it stored). Whenever the references cannot all be read (a
// manifest or digest list that does not validate or decrypt), nothing is removed.
//
// Other backups may run meanwhile. Right before each batch of deletions, each candidate is looked
// at again (one stored again since the listing is young now: kept) and the manifests are listed
// again (a backup published since the mark may refer to an old content: the sweep stops there and
// leaves the rest to the next run). Stopping at any point is safe: only unreferenced contents are
// ever removed, each on its own.

export interface ContentSweep {
  /** Distinct contents retained file manifests refer to. */
  referenced: number;
  /** Contents in the store. */
  stored: number;
  /** Contents removed (or, in a dry run, that would be), with their stored bytes. */
  swept: number;
  sweptBytes: number;
  /** Unreferenced contents kept because they are younger than the grace period. */
  young: number;
  /** The first few swept keys. */
  examples: string[];
  /** Keys under content/ not named like a content (someone else's): never removed. */
  foreign: number;
  /**
   * Why nothing was swept (the references could not all be read), or why the sweep stopped part-way
   * (a backup was published meanwhile); the rest is left for the next run.
   */
  skipped?: string;
}

export interface SweepContentsOptions {
  storage: BackupStorage;
  prefix: string;
  /** Manifest keys of the backups this run deletes: not marked (a dry run has not deleted them). */
  deleting: ReadonlySet<string>;
  /** Loaded when the first digest list is read (a malformed keyring then only stops the sweep). */
  keyring: () => Keyring | null;
  now: Date;
  orphanGraceHours: number;
  dryRun: boolean;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

const DELETE_BATCH = 1000;
/** Candidates looked at again at once before a batch is deleted. */
const RECHECK_CONCURRENCY = 16;

export async function sweepContents(o: SweepContentsOptions): Promise<ContentSweep> {
  const result: ContentSweep = { referenced: 0, stored: 0, swept: 0, sweptBytes: 0, young: 0, examples: [], foreign: 0 };
  const catalog = await listBackups(o.storage, o.prefix);
  const unreadable = catalog.invalid.map((bad) => bad.manifestKey);
  if (unreadable.length > 0) {
    return { ...result, skipped: `${unreadable.length} manifest(s) do not validate (${unreadable[0]}${unreadable.length > 1 ? ', …' : ''}) and may refer to stored files: no stored file is removed` };
  }
  const markedManifests = new Set(catalog.backups.map((e) => e.manifestKey));
  const graceMs = o.orphanGraceHours * 3_600_000;
  const folder = await scratchFolder('mark');
  try {
    // Mark.
    const marked = path.join(folder.path, 'marked');
    await writeFileEmpty(marked);
    const seen = new Set<string>();
    for (const { manifest } of catalog.backups.filter((e) => !o.deleting.has(e.manifestKey))) {
      for (const set of manifest.files ?? []) {
        // A promoted copy's list is the same list: merged once.
        if (seen.has(set.digests.plaintextSha256)) continue;
        seen.add(set.digests.plaintextSha256);
        const next = path.join(folder.path, 'next');
        try {
          const list = await readObject(o.storage, set.digests, { ...manifestFormat(manifest), keyring: o.keyring(), owner: `digest list of "${set.name}" in backup ${manifest.id}`, signal: o.signal });
          const out = createWriteStream(next);
          for await (const digest of mergeDigests([readDigests(createReadStream(marked)), readDigests(list)])) await writeTo(out, digest);
          out.end();
          await once(out, 'close');
        } catch (error) {
          if (o.signal?.aborted) throw error;
          return { ...result, skipped: `the digest list of file set "${set.name}" in backup ${manifest.tier}/${manifest.id} cannot be read (${(error as Error).message}): no stored file is removed` };
        }
        await rename(next, marked);
      }
    }

    // Sweep.
    const references = readDigests(createReadStream(marked))[Symbol.asyncIterator]();
    let reference = await references.next();
    let batch: Array<{ key: string; size: number }> = [];
    /** Removes the batch (what is still unreferenced and old in it); false when the sweep must stop. */
    const flush = async (): Promise<boolean> => {
      const candidates = batch;
      batch = [];
      if (candidates.length === 0) return true;
      const gone: Array<{ key: string; size: number }> = [];
      if (o.dryRun) gone.push(...candidates);
      else {
        // Stored again since it was listed (a backup running now needs it): young, so kept.
        await forEachLimited(candidates, RECHECK_CONCURRENCY, async (candidate) => {
          const now = await o.storage.head(candidate.key, { signal: o.signal });
          if (now && o.now.getTime() - now.lastModified.getTime() > graceMs) gone.push(candidate);
          else if (now) result.young += 1;
        });
        const published = await newManifest(o, markedManifests);
        if (published) {
          result.skipped = `backup ${published} was published while stored files were being swept: it may refer to them, so the rest is left for the next run`;
          return false;
        }
        if (gone.length > 0) await o.storage.delete(gone.map((c) => c.key), { signal: o.signal });
      }
      for (const c of gone) {
        result.swept += 1;
        result.sweptBytes += c.size;
        if (result.examples.length < 5) result.examples.push(c.key);
      }
      return true;
    };
    let stopped = false;
    for await (const object of o.storage.list(contentPrefix(o.prefix), { signal: o.signal })) {
      const content = parseContentKey(o.prefix, object.key);
      if (!content) {
        result.foreign += 1;
        continue;
      }
      result.stored += 1;
      const digest = Buffer.from(content.sha256, 'hex');
      while (!reference.done && Buffer.compare(reference.value, digest) < 0) reference = await references.next();
      if (!reference.done && reference.value.equals(digest)) continue;
      if (o.now.getTime() - object.lastModified.getTime() <= graceMs) {
        result.young += 1;
        continue;
      }
      batch.push({ key: object.key, size: object.size });
      if (batch.length >= DELETE_BATCH && !(await flush())) {
        stopped = true;
        break;
      }
    }
    if (!stopped) await flush();
    await references.return?.(undefined);
    result.referenced = (await stat(marked)).size / DIGEST_BYTES;
    if (result.swept > 0) o.log?.(`${o.dryRun ? 'would remove' : 'removed'} ${result.swept} stored file content(s) no retained file manifest refers to, older than ${o.orphanGraceHours} h`);
    return result;
  } finally {
    await folder.remove();
  }
}

/** The key of a manifest that is not among `marked` (published since the mark), if any. */
async function newManifest(o: SweepContentsOptions, marked: ReadonlySet<string>): Promise<string | undefined> {
  for await (const object of o.storage.list(manifestsPrefix(o.prefix), { signal: o.signal })) {
    if (parseManifestKey(o.prefix, object.key) && !marked.has(object.key)) return object.key;
  }
  return undefined;
}

/** Runs `run` on every item, at most `limit` at once. */
async function forEachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function writeFileEmpty(file: string): Promise<void> {
  const out = createWriteStream(file);
  out.end();
  await once(out, 'close');
}
