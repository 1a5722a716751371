export { runBackup, type RunBackupOptions, type BackupResult, type BackupProgress } from './backup.ts';
export { parseDatabaseUrl, libpqEnv, pgClientConfig, describeConnection, type ConnectionInfo } from './connection.ts';
