export { fetchObject, type FetchedObject, type FetchTimings } from './fetch.ts';
export { fetchBackup, restoreFetched, pgRestoreArgs, type FetchedBackup, type RestoreSelection, type RestoreTimings } from './restore.ts';
export { createDatabaseTarget, type RestoreTarget } from './target.ts';
export { filterGlobals } from './globals.ts';
export {
  restoreClientBinDir,
  parseArchiveListing,
  listArchive,
  listingHasTable,
  checkPlainDump,
  PLAIN_DUMP_TRAILER,
  GLOBALS_TRAILER,
  type ArchiveEntry,
  type ArchiveListing,
} from './archive.ts';
export {
  inspectTarget,
  sameDatabase,
  restoreGuards,
  confirmByTypingName,
  rolesReferenced,
  type TargetState,
  type GuardFinding,
  type GuardKind,
  type GuardInput,
} from './guards.ts';
export {
  parseBackupChoice,
  parseIsoDay,
  parseTables,
  parseJobs,
  manifestForSelection,
  needsSkeleton,
  describePlan,
  type BackupChoice,
  type RestorePlan,
} from './plan.ts';
export { applyRestore } from './apply.ts';
export { describeRestoreFailure, failedObjectName, failureReason, resolveRestoreErrors, type RestoreObjectFailure } from './damage.ts';
export { verifyBackups, backupsToVerify, describeFailure, verificationFailure, type VerifyResult, type VerifyReport } from './verify.ts';
export { planRestore, executeRestore, type RestoreRequest, type PlannedRestore, type RestoreEvent, type RestoreResult, type ExecuteRestoreOptions } from './run.ts';
export { planFileRestore, executeFileRestore, type FileRestoreRequest, type PlannedFileRestore, type FileRestoreEvent, type FileRestoreResult } from './files.ts';
export { compressionOfFile, decryptFile } from './decrypt-file.ts';
