// Read-only views of a live database, the same on the backup's source (inside its snapshot) and on a
// restored copy: table names and patterns, counts, roles, schema fingerprint, audit-chain head, and
// the record-count comparison against a manifest, extensions and what a restore target offers.
export { displayName, matchesPattern, parseTableName, qualifiedName, quoteIdent, tableKey, type TableRef } from './names.ts';
export {
  auditChainHead,
  countLargeObjects,
  countRows,
  existingTables,
  listTables,
  NO_TABLES_FINGERPRINT,
  readRoles,
  schemaFingerprint,
  serverVersion,
  type AuditChainColumns,
  type Queryable,
  type TableFilter,
} from './database.ts';
export { compareRecordCounts, countDiffers, type RecordCountComparison, type TableCountComparison } from './record-counts.ts';
export {
  availableExtensions,
  compareExtensions,
  describeExtensions,
  readExtensions,
  type AvailableExtension,
  type ExtensionComparison,
} from './extensions.ts';
export { referencedKeys } from './references.ts';
export { AUDIT_ROW, expectedHashSql, verifyAuditChain, type AuditChainDefinition, type AuditChainVerification } from './audit-chain.ts';
export { ownedSequences, sequenceAhead, type OwnedSequence } from './sequences.ts';
