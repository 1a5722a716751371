import type { BackupManifest } from '../catalog/index.ts';
import { restoreFetched, type FetchedBackup, type RestoreSelection } from './restore.ts';
import type { RestoreTarget } from './target.ts';

/** The same target with extra pg_restore arguments on every call (e.g. `--section=pre-data`). */
function withPgRestoreArgs(target: RestoreTarget, extra: readonly string[]): RestoreTarget {
  return { ...target, pgRestore: (archivePath, args) => target.pgRestore(archivePath, [...args, ...extra]) };
}

/**
 * Restores a fetched (downloaded and verified) backup with the drill's own `restoreFetched`.
 * With `skeleton` (a `--tables` restore into an empty database) it runs twice: the archive's
 * pre-data section for everything (schemas, types, extensions, empty tables, sequences, views,
 * grants), then the data section of the named tables only.
 */
export async function applyRestore(options: {
  target: RestoreTarget;
  manifest: BackupManifest;
  fetched: FetchedBackup;
  selection: RestoreSelection;
  skeleton: boolean;
}): Promise<{ restoreMs: number }> {
  const { target, manifest, fetched, selection } = options;
  if (!options.skeleton) return restoreFetched({ target, manifest, fetched, selection });
  const started = Date.now();
  await restoreFetched({
    target: withPgRestoreArgs(target, ['--section=pre-data']),
    manifest,
    fetched,
    selection: { ...selection, tables: undefined, schemaOnly: false, dataOnly: false },
  });
  if (!selection.schemaOnly) {
    await restoreFetched({
      target: withPgRestoreArgs(target, ['--section=data']),
      manifest,
      fetched,
      selection: { ...selection, withGlobals: false },
    });
  }
  return { restoreMs: Date.now() - started };
}
