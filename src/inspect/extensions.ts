import type { ExtensionInfo } from '../catalog/index.ts';
import type { Queryable } from './database.ts';

// Extensions: what the source had (read in the backup's snapshot) against what a restore target
// offers. pg_restore's `CREATE EXTENSION IF NOT EXISTS` fails on a server without the extension's
// files, part-way through the restore; checked first, it fails before anything is restored.

/** Extensions installed in the connected database, by name. */
export async function readExtensions(client: Queryable): Promise<ExtensionInfo[]> {
  const { rows } = await client.query<ExtensionInfo>(
    `SELECT e.extname::text AS name, e.extversion AS version, n.nspname::text AS schema
       FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      ORDER BY 1`,
  );
  return rows;
}

export interface AvailableExtension {
  name: string;
  /** What `CREATE EXTENSION` without a version installs. */
  defaultVersion: string | null;
  /** Already installed in the connected database (plpgsql, or anything a template carries). */
  installedVersion: string | null;
}

/** Extensions the connected server can install (`pg_available_extensions`: control files in its share directory). */
export async function availableExtensions(client: Queryable): Promise<AvailableExtension[]> {
  const { rows } = await client.query<{ name: string; default_version: string | null; installed_version: string | null }>(
    `SELECT name::text AS name, default_version, installed_version FROM pg_catalog.pg_available_extensions ORDER BY 1`,
  );
  return rows.map((r) => ({ name: r.name, defaultVersion: r.default_version, installedVersion: r.installed_version }));
}

export interface ExtensionComparison {
  /** What the backup needs (the manifest's extensions). */
  required: ExtensionInfo[];
  /** Not available on the target at all: the restore would fail on them. */
  missing: ExtensionInfo[];
  /** Available, but the target would install another version than the source had (a warning). */
  versionDifferences: Array<{ name: string; source: string; target: string }>;
}

/** Which required extensions the target lacks, and which it would install at another version. */
export function compareExtensions(required: readonly ExtensionInfo[], available: readonly AvailableExtension[]): ExtensionComparison {
  const byName = new Map(available.map((a) => [a.name, a]));
  const missing: ExtensionInfo[] = [];
  const versionDifferences: ExtensionComparison['versionDifferences'] = [];
  for (const extension of required) {
    const offered = byName.get(extension.name);
    if (!offered) {
      missing.push(extension);
      continue;
    }
    // An extension already installed keeps its version (IF NOT EXISTS); otherwise the default is installed.
    const target = offered.installedVersion ?? offered.defaultVersion;
    if (target !== null && target !== extension.version) versionDifferences.push({ name: extension.name, source: extension.version, target });
  }
  return { required: [...required], missing, versionDifferences };
}

/** `pgcrypto 1.3 (schema public), hstore 1.8 (schema util)` */
export function describeExtensions(extensions: readonly ExtensionInfo[]): string {
  return extensions.map((e) => `${e.name} ${e.version} (schema ${e.schema})`).join(', ');
}
