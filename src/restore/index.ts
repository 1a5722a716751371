export { fetchObject, type FetchedObject, type FetchTimings } from './fetch.ts';
export { fetchBackup, restoreFetched, pgRestoreArgs, type FetchedBackup, type RestoreSelection, type RestoreTimings } from './restore.ts';
export { createDatabaseTarget, type RestoreTarget } from './target.ts';
export { filterGlobals } from './globals.ts';
