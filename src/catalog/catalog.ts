import { text } from 'node:stream/consumers';
import type { BackupStorage, StoredObject } from '../storage/index.ts';
import { manifestKey, manifestsPrefix, parseManifestKey } from './layout.ts';
import { BackupManifest, backupSeries, MANIFEST_FORMAT_VERSION, type BackupTier } from './manifest.ts';

export interface CatalogEntry {
  manifest: BackupManifest;
  manifestKey: string;
}

export interface InvalidManifest {
  manifestKey: string;
  /** From the key (the manifest itself could not be read). */
  tier: BackupTier;
  id: string;
  reason: string;
}

export interface Catalog {
  /** Valid backups, oldest first (by startedAt; a copy before its original). */
  backups: CatalogEntry[];
  /** Manifests that failed to parse or validate: they do not count as backups. */
  invalid: InvalidManifest[];
}

/** Reads and validates one manifest; throws with the zod issues when it is not a valid manifest. */
export async function readManifest(storage: BackupStorage, key: string): Promise<BackupManifest> {
  const body = await text(await storage.get(key));
  const parsed: unknown = JSON.parse(body);
  // Checked first: a newer format fails the schema in many fields, and the cause is the version.
  const version = (parsed as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version === 'number' && version > MANIFEST_FORMAT_VERSION) {
    throw new Error(`written by a newer pgdrill (manifest format ${version}, this pgdrill reads ${MANIFEST_FORMAT_VERSION}): upgrade pgdrill`);
  }
  const result = BackupManifest.safeParse(parsed);
  if (!result.success) {
    throw new Error(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  }
  return result.data;
}

/** Stores a backup's manifest: the commit point, written after every object it names. Returns its key. */
export async function writeManifest(storage: BackupStorage, prefix: string, manifest: BackupManifest): Promise<string> {
  const key = manifestKey(prefix, manifest.tier, manifest.id);
  await storage.put(key, Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), { contentType: 'application/json' });
  return key;
}

/** A catalog and the manifest objects it was read from: what `listBackups` can refresh cheaply. */
export interface CatalogSnapshot extends Catalog {
  /** Every manifest object read, by key, as listed (size and date tell whether it changed). */
  objects: ReadonlyMap<string, StoredObject>;
}

/** Manifests read at once: a listing of thousands is read in parallel, not one by one. */
const READ_CONCURRENCY = 8;

const unchanged = (a: StoredObject | undefined, b: StoredObject): boolean => a !== undefined && a.size === b.size && a.lastModified.getTime() === b.lastModified.getTime();

/**
 * Every backup whose manifest exists and validates. A backup without one does not exist. Given the
 * `previous` snapshot of the same storage and prefix, a manifest listed with the same size and date
 * is not read again (manifests are written once; retention deletes, it never rewrites one).
 */
export async function listBackups(storage: BackupStorage, prefix: string, previous?: CatalogSnapshot): Promise<CatalogSnapshot> {
  const known = new Map<string, CatalogEntry | InvalidManifest>();
  for (const entry of previous?.backups ?? []) known.set(entry.manifestKey, entry);
  for (const bad of previous?.invalid ?? []) known.set(bad.manifestKey, bad);
  const listed: Array<{ object: StoredObject; place: { tier: BackupTier; id: string } }> = [];
  for await (const object of storage.list(manifestsPrefix(prefix))) {
    const place = parseManifestKey(prefix, object.key);
    if (place) listed.push({ object, place });
  }
  const results: Array<CatalogEntry | InvalidManifest> = new Array(listed.length);
  let next = 0;
  const reader = async (): Promise<void> => {
    while (next < listed.length) {
      const index = next++;
      const { object, place } = listed[index]!;
      const reused = unchanged(previous?.objects.get(object.key), object) ? known.get(object.key) : undefined;
      if (reused) {
        results[index] = reused;
        continue;
      }
      try {
        results[index] = { manifest: await readManifest(storage, object.key), manifestKey: object.key };
      } catch (error) {
        results[index] = { manifestKey: object.key, ...place, reason: (error as Error).message };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, listed.length) }, reader));
  const backups = results.filter((r): r is CatalogEntry => 'manifest' in r);
  const invalid = results.filter((r): r is InvalidManifest => !('manifest' in r));
  backups.sort(compareCatalogEntries);
  return { backups, invalid, objects: new Map(listed.map(({ object }) => [object.key, object])) };
}

const TIER_ORDER: Record<BackupTier, number> = { yearly: 0, quarterly: 1, monthly: 2, weekly: 3, daily: 4 };

/**
 * The catalog's order: oldest first by startedAt; ties (a promoted copy shares its source's
 * startedAt) put the original daily last, so "newest" picks it.
 */
export function compareCatalogEntries(a: CatalogEntry, b: CatalogEntry): number {
  return (
    a.manifest.startedAt.localeCompare(b.manifest.startedAt) ||
    TIER_ORDER[a.manifest.tier] - TIER_ORDER[b.manifest.tier] ||
    a.manifest.id.localeCompare(b.manifest.id)
  );
}

export interface BackupSelector {
  /** Exact manifest key or data-object key or backup id: any backup, full or partial. */
  key?: string;
  /** `YYYY-MM-DD`: the newest full backup taken that UTC day. */
  date?: string;
  /** `YYYY-MM`: the monthly copy of that month. */
  monthly?: string;
  tier?: BackupTier;
}

/**
 * Picks one backup: by key (any backup), date or month; by default the newest valid full one. Only
 * a key selects a partial backup: a schema-only or --tables backup is never "the latest backup".
 */
export function selectBackup(catalog: Catalog, selector: BackupSelector = {}): CatalogEntry | undefined {
  if (selector.key) {
    const k = selector.key;
    return catalog.backups.find((b) => b.manifestKey === k || b.manifest.id === k || b.manifest.objects.dump.key === k);
  }
  const full = catalog.backups.filter((b) => backupSeries(b.manifest).full);
  if (selector.monthly) return full.findLast((b) => b.manifest.tier === 'monthly' && b.manifest.startedAt.startsWith(selector.monthly!));
  if (selector.date) return full.findLast((b) => b.manifest.startedAt.startsWith(selector.date!));
  return selector.tier ? full.findLast((b) => b.manifest.tier === selector.tier) : full.at(-1);
}
