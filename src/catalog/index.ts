// The backup catalog, at the ground floor: the manifest schema (a backup's commit point), the key
// layout that builds and parses every storage key, reading, writing and choosing manifests, and the
// archive verification ledger.
export * from './manifest.ts';
export * from './layout.ts';
export { compareCatalogEntries, listBackups, readManifest, selectBackup, writeManifest, type BackupSelector, type Catalog, type CatalogEntry, type CatalogSnapshot, type InvalidManifest } from './catalog.ts';
export * from './verifications.ts';
