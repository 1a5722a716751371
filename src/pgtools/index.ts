// PostgreSQL client and server tools, the one way pgdrill finds and runs them. Ground floor:
// imports only src/errors, node and execa.
//   findPgBinDir(major, { need }) → bin directory (Debian layout, newest newer major, or PATH)
//   childEnv(extra)               → the allow-listed environment of every child process
//   runPgTool / spawnPgTool       → run one; a failure is pgToolError's one shape
//   loadExeca                     → execa, loaded at the first spawn (not at start-up)
//   postgresOsUser                → the `postgres` OS user's uid/gid (what root runs server binaries as)
//   runPgRestore / PgRestoreLog   → pg_restore to its end, each error with its archive entry and likely cause
//   parseDatabaseUrl / libpqEnv / pgClientConfig → one connection (and its connect timeout), for libpq tools and node-pg alike
//   endSessionOnAbort             → an abort cancels a node-pg session's query and closes it
export { DEBIAN_PG_ROOT, debianBinDir, findPgBinDir, holdsPgTools, installedPgMajors, pgBinary, type FindPgBinDirOptions, type PgToolName, type PgToolSet } from './binaries.ts';
export { childEnv } from './env.ts';
export {
  connectTimeoutFailure,
  describeConnection,
  endSessionOnAbort,
  libpqEnv,
  parseDatabaseUrl,
  pgClientConfig,
  type AbortablePgSession,
  type ConnectionInfo,
  type ConnectTimeout,
  type ParseDatabaseUrlOptions,
} from './connection.ts';
export { pgToolError, pgToolFailure, scrubSecrets, tail, type PgdrillErrorClass, type PgToolErrorOptions, type PgToolFailure, type ToolRunOutcome } from './output.ts';
export {
  classifyRestoreError,
  IncompleteRestoreError,
  PgRestoreLog,
  pgRestoreError,
  restoreCauseHints,
  runPgRestore,
  type PgRestoreError,
  type PgRestoreErrorOptions,
  type RestoreCause,
} from './pg-restore.ts';
export {
  hasDbnameArg,
  loadExeca,
  parseVersionOutput,
  postgresOsUser,
  runPgTool,
  spawnPgTool,
  toolVersion,
  type PgToolOptions,
  type PgToolProcess,
  type PgToolResult,
  type PgToolVersion,
  type RunPgToolOptions,
} from './run.ts';
