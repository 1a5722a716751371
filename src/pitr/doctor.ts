// `pgdrill pitr doctor`: is the source set up for point-in-time recovery with pgBackRest? Each
// finding says what was seen and exactly what to change.
import type { PgdrillConfig } from '../config/index.ts';
import { formatAge } from '../format/index.ts';
import { postgresOsUser } from '../pgtools/index.ts';
import { pgbackrest, printable, readRepositoryInfo, type PgbackrestRunner } from './pgbackrest.ts';
import { pitrConfigOf } from './prepare.ts';
import { connectSource } from './source.ts';

export interface DoctorFinding {
  item: string;
  status: 'ok' | 'warn' | 'fail';
  /** What was seen. */
  seen: string;
  /** Exactly what to change (SQL, a command or a config line); absent when nothing. */
  fix?: string;
}

/** Archiving older than this warns: markers switch WAL every hour by default. */
const ARCHIVE_WARN_MINUTES = 65;

export async function pitrDoctor(config: PgdrillConfig, options: { now?: Date; runner?: PgbackrestRunner } = {}): Promise<DoctorFinding[]> {
  const pitr = pitrConfigOf(config);
  const runner = options.runner ?? pgbackrest(pitr);
  const now = options.now ?? new Date();
  const stanza = pitr.stanza;
  const findings: DoctorFinding[] = [];
  const restart = 'then restart PostgreSQL (this setting needs a restart)';
  const { client } = await connectSource(config);
  let dataDirectory: string | null = null;
  try {
    const settings = new Map(
      (await client.query<{ name: string; setting: string }>(`SELECT name, setting FROM pg_settings WHERE name IN ('archive_mode', 'archive_command', 'wal_level', 'archive_timeout', 'data_directory')`)).rows.map((r) => [r.name, r.setting]),
    );
    dataDirectory = settings.get('data_directory') ?? null;
    const mode = settings.get('archive_mode') ?? 'unknown';
    findings.push(
      mode === 'on' || mode === 'always'
        ? { item: 'archive_mode', status: 'ok', seen: mode }
        : { item: 'archive_mode', status: 'fail', seen: mode, fix: `ALTER SYSTEM SET archive_mode = 'on'; ${restart}` },
    );
    const level = settings.get('wal_level') ?? 'unknown';
    findings.push(
      level === 'replica' || level === 'logical'
        ? { item: 'wal_level', status: 'ok', seen: level }
        : { item: 'wal_level', status: 'fail', seen: level, fix: `ALTER SYSTEM SET wal_level = 'replica'; ${restart}` },
    );
    const command = settings.get('archive_command') ?? '';
    const wanted = `pgbackrest --stanza=${stanza} archive-push %p`;
    const pushes = /pgbackrest/.test(command) && /archive-push/.test(command) && /%p/.test(command);
    const stanzaOk = new RegExp(`--stanza[= ]${stanza.replace(/[.]/g, '\\.')}(\\s|$)`).test(command);
    findings.push(
      pushes && stanzaOk
        ? { item: 'archive_command', status: 'ok', seen: command }
        : {
            item: 'archive_command',
            status: 'fail',
            seen: command || '(empty)',
            fix: `ALTER SYSTEM SET archive_command = '${wanted}'; SELECT pg_reload_conf();${pushes && !stanzaOk ? ` (it pushes to another stanza than pitr.stanza "${stanza}")` : ''}`,
          },
    );
    const timeout = Number(settings.get('archive_timeout') ?? 0);
    findings.push(
      timeout > 0
        ? { item: 'archive_timeout', status: 'ok', seen: `${timeout} s: a quiet server still archives a segment at least that often` }
        : {
            item: 'archive_timeout',
            status: 'warn',
            seen: '0 (off): a quiet server archives only when a 16 MB segment fills, so the last minutes of changes may wait in pg_wal',
            fix: `ALTER SYSTEM SET archive_timeout = '300'; SELECT pg_reload_conf();  (or rely on the hourly \`pgdrill pitr mark\`, which switches WAL)`,
          },
    );
    const archiver = (
      await client.query<{ last_archived_wal: string | null; last_archived_time: Date | null; failed_count: string; last_failed_wal: string | null; last_failed_time: Date | null }>(
        'SELECT last_archived_wal, last_archived_time, failed_count, last_failed_wal, last_failed_time FROM pg_stat_archiver',
      )
    ).rows[0]!;
    const last = archiver.last_archived_time;
    const failingSince = archiver.last_failed_time && (!last || archiver.last_failed_time > last) ? archiver.last_failed_time : null;
    if (failingSince) {
      findings.push({
        item: 'last archived WAL',
        status: 'fail',
        seen: `archive_command is failing: ${archiver.last_failed_wal} failed ${formatAge(now.getTime() - failingSince.getTime())} ago (${archiver.failed_count} failures since statistics reset); last success ${last ? `${archiver.last_archived_wal} ${formatAge(now.getTime() - last.getTime())} ago` : 'never'}`,
        fix: `Run the archive command by hand as the postgres user to see its error: pgbackrest --stanza=${stanza} archive-push ${dataDirectory ?? '$PGDATA'}/pg_wal/${archiver.last_failed_wal ?? '<segment>'}; and check the PostgreSQL log`,
      });
    } else if (!last) {
      findings.push({ item: 'last archived WAL', status: 'fail', seen: 'nothing archived since statistics were reset', fix: `SELECT pg_switch_wal(); then look at pg_stat_archiver and the PostgreSQL log` });
    } else {
      const ageMs = now.getTime() - last.getTime();
      const rpoMs = config.report.rpoTargetHours * 3_600_000;
      const seen = `${archiver.last_archived_wal}, ${formatAge(ageMs)} ago`;
      findings.push(
        ageMs > rpoMs
          ? { item: 'last archived WAL', status: 'fail', seen: `${seen}: older than the RPO target (${config.report.rpoTargetHours} h)`, fix: 'Schedule `pgdrill pitr mark` (the service does, hourly) or set archive_timeout, and check that archiving works (pgbackrest check)' }
          : ageMs > ARCHIVE_WARN_MINUTES * 60_000
            ? { item: 'last archived WAL', status: 'warn', seen, fix: 'Schedule `pgdrill pitr mark` hourly (pgdrill serve does) or set archive_timeout' }
            : { item: 'last archived WAL', status: 'ok', seen },
      );
    }
  } finally {
    await client.end().catch(() => {});
  }

  try {
    const info = await readRepositoryInfo(runner);
    const full = info.sets.filter((s) => s.type === 'full' && !s.error).at(-1);
    const newest = info.sets.filter((s) => !s.error).at(-1);
    findings.push(
      newest
        ? { item: 'backups in the repository', status: 'ok', seen: `${info.sets.length} set(s); newest ${newest.label} (${newest.type}) finished ${formatAge(now.getTime() - Date.parse(newest.stoppedAt))} ago${full ? `; newest full ${full.label}` : ''}` }
        : { item: 'backups in the repository', status: 'fail', seen: 'no usable backup set', fix: `pgbackrest --stanza=${stanza} backup --type=full  (as the postgres user; schedule full and differential backups, docs/pitr.md)` },
    );
  } catch (error) {
    findings.push({ item: 'backups in the repository', status: 'fail', seen: printable((error as Error).message, runner.secrets), fix: 'Fix the repository options (pitr.options, pitr.config, pitr.cipherPassEnv); see docs/pitr.md' });
  }

  // pgbackrest check runs on the database host as the cluster's OS user (root may not read its data directory the way pgBackRest expects).
  const identity = await postgresIdentity();
  try {
    await runner.run(['check'], { ...identity, timeout: 300_000, cwd: '/' });
    findings.push({ item: 'pgbackrest check', status: 'ok', seen: 'a WAL segment was switched, archived and found in the repository' });
  } catch (error) {
    findings.push({
      item: 'pgbackrest check',
      status: 'fail',
      seen: printable((error as Error).message, runner.secrets).split('. Check the repository options')[0]!,
      fix: `Run it by hand on the database host as the postgres user: pgbackrest --stanza=${stanza} check; it needs pg1-path (${dataDirectory ?? 'the data directory'}) in pgbackrest.conf and the stanza created (pgbackrest --stanza=${stanza} stanza-create)`,
    });
  }
  return findings;
}

/** As root, pgBackRest's check runs as the postgres OS user (as the cluster does); otherwise as the current user. */
async function postgresIdentity(): Promise<{ uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return {};
  return (await postgresOsUser()) ?? {};
}
