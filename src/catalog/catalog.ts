import { text } from 'node:stream/consumers';
import type { BackupStorage } from '../storage/index.ts';
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

/** Every backup whose manifest exists and validates. A backup without one does not exist. */
export async function listBackups(storage: BackupStorage, prefix: string): Promise<Catalog> {
  const backups: CatalogEntry[] = [];
  const invalid: InvalidManifest[] = [];
  for await (const object of storage.list(manifestsPrefix(prefix))) {
    const place = parseManifestKey(prefix, object.key);
    if (!place) continue;
    try {
      backups.push({ manifest: await readManifest(storage, object.key), manifestKey: object.key });
    } catch (error) {
      invalid.push({ manifestKey: object.key, ...place, reason: (error as Error).message });
    }
  }
  // Ties (a promoted copy shares its source's startedAt) put the original daily last, so "newest" picks it.
  const tierOrder: Record<BackupTier, number> = { yearly: 0, quarterly: 1, monthly: 2, weekly: 3, daily: 4 };
  backups.sort(
    (a, b) =>
      a.manifest.startedAt.localeCompare(b.manifest.startedAt) ||
      tierOrder[a.manifest.tier] - tierOrder[b.manifest.tier] ||
      a.manifest.id.localeCompare(b.manifest.id),
  );
  return { backups, invalid };
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
