// The `pgdrill` package's programmatic API. Light to import: the drill's vitest, the report's
// Chromium driver and the AWS SDK load only when a drill runs or an s3:// storage is used.
//
//   import { backup, drill, defineConfig } from 'pgdrill';
//   const { backup: result } = await backup({ configFile: 'pgdrill.config.ts' });
//   const verdict = await drill({ selector: { monthly: '2026-11' } });
export { defineConfig, loadConfig, type PgdrillConfig, type PgdrillConfigInput } from './config/index.ts';
export { backup, prune, list, verify, assertVerified, drill, type OperationOptions, type LastDrill } from './operations/index.ts';
export { planRestore, executeRestore, type RestoreRequest, type PlannedRestore, type RestoreEvent, type RestoreResult } from './restore/index.ts';
export type { BackupManifest, BackupSelector, Catalog, CatalogEntry } from './catalog/index.ts';
export type { DrillOptions, DrillResult } from './drill/index.ts';
export type { BackupResult } from './dump/index.ts';
export type { RetentionOutcome } from './retention/index.ts';
export type { VerifyReport, VerifyResult } from './restore/index.ts';
export { ExitCode, PgdrillError } from './errors/index.ts';
