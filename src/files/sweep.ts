import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { contentPrefix, parseContentKey, type BackupManifest } from '../catalog/index.ts';
import type { Keyring } from '../crypto/index.ts';
import type { BackupStorage } from '../storage/index.ts';
import { DIGEST_BYTES, mergeDigests, readDigests, scratchFolder, writeTo } from './digests.ts';
import { manifestFormat, readObject } from './objects.ts';

// Mark and sweep of the content store (retention's last step). Mark: the union of the digest lists
// of every retained backup's file sets, merged one list at a time into a sorted, distinct file on
// local disk (memory stays flat; disk holds 32 bytes per distinct content, twice). Sweep: the
// content store's listing (in digest order) merged against it; a content no retained file manifest
// refers to is removed once it is older than the orphan grace period (so a backup still running,
// whose manifest does not exist yet, keeps what it stored). Whenever the references cannot all be
// read (a manifest or digest list that does not validate or decrypt), nothing is removed.

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
  /** Why nothing was swept, when the references could not all be read. */
  skipped?: string;
}

export interface SweepContentsOptions {
  storage: BackupStorage;
  prefix: string;
  /** Every backup that stays (valid manifests after this run's deletions and promotions). */
  retained: readonly BackupManifest[];
  /** Manifests that did not validate: they may refer to contents, so nothing is swept. */
  unreadable: readonly string[];
  /** Loaded when the first digest list is read (a malformed keyring then only stops the sweep). */
  keyring: () => Keyring | null;
  now: Date;
  orphanGraceHours: number;
  dryRun: boolean;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

const DELETE_BATCH = 1000;

export async function sweepContents(o: SweepContentsOptions): Promise<ContentSweep> {
  const result: ContentSweep = { referenced: 0, stored: 0, swept: 0, sweptBytes: 0, young: 0, examples: [], foreign: 0 };
  if (o.unreadable.length > 0) {
    return { ...result, skipped: `${o.unreadable.length} manifest(s) do not validate (${o.unreadable[0]}${o.unreadable.length > 1 ? ', …' : ''}) and may refer to stored files: no stored file is removed` };
  }
  const folder = await scratchFolder('mark');
  try {
    // Mark.
    const marked = path.join(folder.path, 'marked');
    await writeFileEmpty(marked);
    const seen = new Set<string>();
    for (const manifest of o.retained) {
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
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length > 0 && !o.dryRun) await o.storage.delete(batch, { signal: o.signal });
      batch = [];
    };
    const graceMs = o.orphanGraceHours * 3_600_000;
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
      result.swept += 1;
      result.sweptBytes += object.size;
      if (result.examples.length < 5) result.examples.push(object.key);
      batch.push(object.key);
      if (batch.length >= DELETE_BATCH) await flush();
    }
    await flush();
    await references.return?.(undefined);
    result.referenced = (await stat(marked)).size / DIGEST_BYTES;
    if (result.swept > 0) o.log?.(`${o.dryRun ? 'would remove' : 'removed'} ${result.swept} stored file content(s) no retained file manifest refers to, older than ${o.orphanGraceHours} h`);
    return result;
  } finally {
    await folder.remove();
  }
}

async function writeFileEmpty(file: string): Promise<void> {
  const out = createWriteStream(file);
  out.end();
  await once(out, 'close');
}
