import pg from 'pg';
import type { BackupManifest } from '../catalog/index.ts';
import { SandboxError } from '../errors/index.ts';
import { availableExtensions, compareExtensions, describeExtensions, type ExtensionComparison } from '../inspect/index.ts';
import type { Sandbox } from '../sandbox/index.ts';

/**
 * What the sandbox offers of the extensions the backup recorded, read before restoring: a missing
 * one would make pg_restore fail part-way on CREATE EXTENSION. Null for a manifest written before
 * extensions were recorded. `error` says what to do when one is missing.
 */
export async function sandboxExtensions(sandbox: Sandbox, manifest: BackupManifest): Promise<{ comparison: ExtensionComparison; error?: SandboxError } | null> {
  if (!manifest.extensions) return null;
  const client = new pg.Client({ connectionString: sandbox.connectionUri() });
  await client.connect();
  const comparison = compareExtensions(manifest.extensions, await availableExtensions(client).finally(() => client.end()));
  if (comparison.missing.length === 0) return { comparison };
  const names = comparison.missing.map((e) => e.name).join(', ');
  const it = comparison.missing.length === 1 ? 'it' : 'them';
  const how =
    sandbox.kind === 'docker'
      ? `Set sandbox.image (PGDRILL_SANDBOX_IMAGE) to an image with ${names} installed, e.g. one built FROM postgres:${manifest.serverMajor} that adds ${it}; or use the embedded sandbox with PostgreSQL binaries that have ${it} (sandbox.binDir / PGDRILL_PG_BINDIR)`
      : `Install ${names} into the PostgreSQL the embedded sandbox runs (${sandbox.description}: its share/extension directory, e.g. the Debian package that ships ${it}), or set sandbox.binDir (PGDRILL_PG_BINDIR) to an installation that has ${it}; or use the docker sandbox with an image that has ${it} (sandbox.image / PGDRILL_SANDBOX_IMAGE)`;
  return {
    comparison,
    error: new SandboxError(
      `The ${sandbox.kind} sandbox (PostgreSQL ${sandbox.serverVersion}) does not offer extension(s) backup ${manifest.id} needs: ${describeExtensions(comparison.missing)}; pg_restore would fail on CREATE EXTENSION, so nothing was restored`,
      { hint: how },
    ),
  };
}
