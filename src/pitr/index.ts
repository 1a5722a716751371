// Point-in-time recovery drills of a pgBackRest repository. pgdrill reads the repository (info,
// repo-ls, verify, archive-get through the restored server) and restores it only into a private
// sandbox with --archive-mode=off: it never writes the production repository.
//   preparePointInTime(config, request) → plan (backup set, target, expected markers), exit 3 on a target the repository cannot serve
//   restorePointInTime(prep, config)    → sandbox on the recovered cluster + what it shows (PitrOutcome)
//   writeMarker / readMarkers           → pgdrill.pitr_markers in the source (`pgdrill pitr mark`)
//   pitrDoctor(config)                  → the source's archiving settings and `pgbackrest check`, with fixes
export { pitrDoctor, type DoctorFinding } from './doctor.ts';
export { optionVariable, pgbackrest, readRepositoryInfo, listWalSegments, verifyRepository, type PgbackrestRunner } from './pgbackrest.ts';
export { describeGap, nextSegment, parseInfo, pgTime, planPitr, walGaps, type BackupSet, type Marker, type PitrPlan, type RepositoryInfo, type TargetRequest, type WalGap, type WalSegment } from './plan.ts';
export { pitrConfigOf, preparePointInTime, type PitrPreparation } from './prepare.ts';
export { readRecoveryLog, restoreArgs, restorePointInTime, type PointInTimeRestore } from './restore.ts';
export { connectSource, MARKER_TABLE, readMarkers, writeMarker, type MarkResult } from './source.ts';
export { judgeTarget } from './reached.ts';
export type { PitrOutcome } from './types.ts';
