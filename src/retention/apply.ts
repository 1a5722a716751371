import { createHash } from 'node:crypto';
import {
  BACKUP_TIERS,
  backupObjects,
  backupSeries,
  dataKey,
  dataKeyStem,
  extensionOfDataKey,
  isDataKey,
  listBackups,
  tierPrefix,
  writeManifest,
  type BackupManifest,
  type Catalog,
  type CatalogEntry,
  type CopyTier,
  type StoredObjectRef,
} from '../catalog/index.ts';
import type { PgdrillConfig } from '../config/index.ts';
import { loadKeyring, type Keyring } from '../crypto/index.ts';
import { IntegrityError, StorageError } from '../errors/index.ts';
import { sweepContents, type ContentSweep } from '../files/index.ts';
import type { BackupStorage } from '../storage/index.ts';
import { planRetention, type RetentionPlan, type RetentionPolicy } from './plan.ts';

export interface ApplyRetentionOptions {
  storage: BackupStorage;
  prefix: string;
  policy: RetentionPolicy;
  now: Date;
  /** Objects without a manifest older than this are leftovers of interrupted runs. */
  orphanGraceHours: number;
  /**
   * The keyring that reads the file sets' digest lists for the content sweep, loaded only when one
   * is read; without it (encrypted backups) nothing is swept there.
   */
  keyring?: () => Keyring | null;
  dryRun?: boolean;
  log?: (line: string) => void;
}

export interface RetentionOutcome {
  plan: RetentionPlan;
  /** Data objects no manifest refers to, older than the grace period (deleted unless dry run). */
  orphans: string[];
  /** Keys in the tier folders not named like a pgdrill object: someone else's, never deleted. */
  foreign: string[];
  /** Mark and sweep of the stored file contents (`content/`). */
  contents: ContentSweep;
  dryRun: boolean;
}

const entryKey = (tier: string, id: string) => `${tier}/${id}`;

/** The retention plan of a catalog: its valid backups as candidates, unreadable manifests as taken ids. */
export function planCatalogRetention(catalog: Catalog, policy: RetentionPolicy, now: Date): RetentionPlan {
  return planRetention({
    backups: catalog.backups.map((e) => ({
      id: e.manifest.id,
      tier: e.manifest.tier,
      database: e.manifest.database,
      takenAt: new Date(e.manifest.startedAt),
      ...backupSeries(e.manifest),
    })),
    unreadable: catalog.invalid.map(({ tier, id }) => ({ tier, id })),
    policy,
    now,
  });
}

/**
 * Plans retention over the valid manifests, then (unless dry run) promotes by copy, deletes expired
 * backups manifest-first (so a half-deleted backup is invisible rather than broken), and removes
 * orphaned objects past the grace period: objects named like pgdrill's own that no manifest names;
 * anything else in the tier folders is reported as foreign and left alone. Deletions are skipped
 * when a promotion failed.
 */
export async function applyRetention(options: ApplyRetentionOptions): Promise<RetentionOutcome> {
  const { storage, prefix, now } = options;
  const log = options.log ?? (() => {});
  const catalog = await listBackups(storage, prefix);
  const byKey = new Map(catalog.backups.map((e) => [entryKey(e.manifest.tier, e.manifest.id), e]));
  const plan = planCatalogRetention(catalog, options.policy, now);

  const referenced = new Set<string>();
  for (const entry of catalog.backups) for (const object of backupObjects(entry.manifest)) referenced.add(object.key);
  // A manifest that does not validate (damaged, or written by a newer pgdrill) is left for a human:
  // its objects are never swept as orphans. They are recognised by the key stem of its id.
  const protectedStems = catalog.invalid.map((bad) => dataKeyStem(prefix, bad.tier, bad.id));
  const isProtected = (key: string) => referenced.has(key) || protectedStems.some((stem) => key.startsWith(stem));

  if (!options.dryRun) {
    for (const promotion of plan.promote) {
      const source = catalog.backups.find((e) => e.manifest.tier === 'daily' && e.manifest.id === promotion.fromId);
      if (!source) continue;
      const copy = await promote(storage, prefix, source, promotion.tier, promotion.toId);
      for (const object of backupObjects(copy)) referenced.add(object.key);
      log(`promoted ${promotion.fromId} → ${promotion.tier}/${promotion.toId} (${promotion.reason})`);
    }
    for (const decision of plan.delete) {
      const entry = byKey.get(entryKey(decision.tier, decision.id));
      if (!entry) continue;
      await deleteBackup(storage, prefix, entry);
      for (const object of backupObjects(entry.manifest)) referenced.delete(object.key);
      log(`deleted ${decision.tier}/${decision.id} (${decision.reasons.join('; ')})`);
    }
  }

  const orphans: string[] = [];
  const foreign: string[] = [];
  const graceMs = options.orphanGraceHours * 3_600_000;
  for (const tier of BACKUP_TIERS) {
    for await (const object of storage.list(tierPrefix(prefix, tier))) {
      if (!isDataKey(prefix, tier, object.key)) foreign.push(object.key);
      else if (!isProtected(object.key) && now.getTime() - object.lastModified.getTime() > graceMs) orphans.push(object.key);
    }
  }
  if (!options.dryRun && orphans.length > 0) {
    await storage.delete(orphans);
    log(`removed ${orphans.length} orphaned object(s) older than ${options.orphanGraceHours} h`);
  }

  // Stored file contents no backup that stays refers to (a promoted copy refers to what its daily does).
  const contents = await sweepContents({
    storage,
    prefix,
    deleting: new Set(plan.delete.flatMap((d) => byKey.get(entryKey(d.tier, d.id))?.manifestKey ?? [])),
    keyring: options.keyring ?? (() => null),
    now,
    orphanGraceHours: options.orphanGraceHours,
    dryRun: Boolean(options.dryRun),
    log,
  });
  if (contents.skipped) log(`stored files: ${contents.skipped}`);
  return { plan, orphans, foreign, contents, dryRun: Boolean(options.dryRun) };
}

/**
 * Deletes one backup, manifest first (so a half-deleted backup is invisible rather than broken),
 * then its objects: only those under its own key stem, so a copied or edited manifest cannot make
 * a deletion remove another backup's data. Retention and the admin API's DELETE both use this.
 */
export async function deleteBackup(storage: BackupStorage, prefix: string, entry: CatalogEntry): Promise<void> {
  await storage.delete([entry.manifestKey]);
  const stem = dataKeyStem(prefix, entry.manifest.tier, entry.manifest.id);
  await storage.delete(backupObjects(entry.manifest).map((o) => o.key).filter((key) => key.startsWith(stem)));
}

/** Stored bytes and SHA-256 of an object, read back from storage. */
async function storedDigest(storage: BackupStorage, key: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of await storage.get(key)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/**
 * Copies a daily backup's objects to the tier's keys, reads each copy back and hashes it against
 * the manifest, then writes the copy's own manifest last. A copy that does not hash to the manifest
 * is removed and the promotion throws (so no deletion follows): an IntegrityError when the daily's
 * own object is already damaged, else a StorageError (the copy went wrong).
 */
async function promote(storage: BackupStorage, prefix: string, source: CatalogEntry, tier: CopyTier, toId: string): Promise<BackupManifest> {
  const what = `Promotion of daily/${source.manifest.id} to ${tier}/${toId}`;
  const copies: string[] = [];
  const copyObject = async (object: StoredObjectRef): Promise<StoredObjectRef> => {
    const target = dataKey(prefix, tier, toId, extensionOfDataKey(object.key, source.manifest.id));
    copies.push(target);
    const copied = await storage.copy(object.key, target);
    if (copied.size !== object.size) {
      throw new StorageError(`${what} failed: copy ${target} has ${copied.size} bytes, expected ${object.size}`, {
        hint: 'Storage is misbehaving; no backup was deleted. Run `pgdrill prune` again later',
      });
    }
    // A size check cannot see a flipped byte: for a 7-year archive, the copy must hash to the manifest.
    const readBack = await storedDigest(storage, target);
    if (readBack.sha256 === object.sha256 && readBack.bytes === object.size) return { ...object, key: target };
    const original = await storedDigest(storage, object.key);
    if (original.sha256 !== object.sha256 || original.bytes !== object.size) {
      throw new IntegrityError(
        `${what} refused: the daily's object ${object.key} does not match its manifest (${original.bytes} bytes sha256=${original.sha256}, expected ${object.size} bytes sha256=${object.sha256})`,
        { hint: 'That backup is damaged in storage and no backup was deleted; investigate the storage, run `pgdrill verify`, and take a fresh backup now' },
      );
    }
    throw new StorageError(
      `${what} failed: the copy ${target} read back does not match its source (${readBack.bytes} bytes sha256=${readBack.sha256}, expected ${object.size} bytes sha256=${object.sha256})`,
      { hint: 'Storage corrupted the copy; it was removed and no backup was deleted. Run `pgdrill prune` again later' },
    );
  };
  const { dump, globals } = source.manifest.objects;
  const { files, redis } = source.manifest;
  try {
    // Every object under the daily's key stem is copied (file contents are shared, not copied).
    const manifest: BackupManifest = {
      ...source.manifest,
      id: toId,
      tier,
      promotedFrom: source.manifest.id,
      objects: { dump: await copyObject(dump), ...(globals ? { globals: await copyObject(globals) } : {}) },
      ...(files ? { files: await sequentially(files, async (set) => ({ ...set, manifest: await copyObject(set.manifest), digests: await copyObject(set.digests) })) } : {}),
      ...(redis ? { redis: { ...redis, object: await copyObject(redis.object) } } : {}),
    };
    await writeManifest(storage, prefix, manifest);
    return manifest;
  } catch (error) {
    // No manifest names these copies: remove them now rather than leave them to the orphan sweep.
    await storage.delete(copies).catch(() => {});
    throw error;
  }
}

/** Maps items one after the other (copies are read back one at a time). */
async function sequentially<T, U>(items: readonly T[], map: (item: T) => Promise<U>): Promise<U[]> {
  const out: U[] = [];
  for (const item of items) out.push(await map(item));
  return out;
}

/** Retention with the configured policy, as `pgdrill prune`, every successful backup and the demo apply it. */
export function pruneBackups(config: PgdrillConfig, storage: BackupStorage, options: { log?: (line: string) => void; dryRun?: boolean } = {}): Promise<RetentionOutcome> {
  return applyRetention({
    storage,
    prefix: config.storage.prefix,
    policy: config.retention,
    now: new Date(),
    orphanGraceHours: config.backup.orphanGraceHours,
    keyring: () => loadKeyring(config, 'read'),
    dryRun: options.dryRun,
    log: options.log,
  });
}
