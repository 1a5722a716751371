export { runBackup, type RunBackupOptions, type BackupResult, type BackupProgress } from './backup.ts';
export { listBackups, readManifest, selectBackup, type Catalog, type CatalogEntry, type BackupSelector, type InvalidManifest } from './catalog.ts';
export { parseDatabaseUrl, libpqEnv, pgClientConfig, describeConnection, type ConnectionInfo } from './connection.ts';
export {
  listTables,
  countRows,
  countLargeObjects,
  existingTables,
  schemaFingerprint,
  readRoles,
  auditChainHead,
  serverVersion,
  parseTableName,
  matchesPattern,
  quoteIdent,
  qualifiedName,
  displayName,
  tableKey,
  type TableRef,
  type Queryable,
} from './inspect.ts';
export * from './layout.ts';
export * from './manifest.ts';
export { createCompressStream, createDecompressStream, HashTap, pipeAll, type CompressionAlgorithm } from './streams.ts';
