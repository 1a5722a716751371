export { runBackup, type RunBackupOptions, type BackupResult, type BackupProgress } from './backup.ts';
