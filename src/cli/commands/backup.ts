import type { Command } from 'commander';
import { backupSeries, type BackupManifest } from '../../catalog/index.ts';
import type { PgdrillConfigInput } from '../../config/index.ts';
import { formatBytes, formatDuration } from '../../format/index.ts';
import { interruptSignal } from '../../lifecycle/index.ts';
import { backup, list, prune } from '../../operations/index.ts';
import type { BackupResult } from '../../dump/index.ts';
import type { RetentionOutcome } from '../../retention/index.ts';
import { printBackupList, progressLine } from '../output.ts';

const commaList = (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];

interface BackupFlags {
  storage?: string;
  tables?: string[];
  excludeTable?: string[];
  schemaOnly?: boolean;
  format?: 'custom' | 'plain';
  compression?: 'zstd' | 'gzip' | 'none';
  json?: boolean;
  prune?: boolean;
}

/** `scope` and `series` as `pgdrill list --json` shows them. */
function scopeAndSeries(manifest: BackupManifest): { scope: 'full' | 'partial'; series: string } {
  const { full, series } = backupSeries(manifest);
  return { scope: full ? 'full' : 'partial', series };
}

function printRetention(outcome: RetentionOutcome, write: (line: string) => void): void {
  for (const p of outcome.plan.promote) write(`promote ${p.fromId} → ${p.tier}/${p.toId}: ${p.reason}`);
  for (const d of outcome.plan.keep) write(`keep    ${d.tier}/${d.id}: ${d.reasons.join('; ')}`);
  for (const d of outcome.plan.delete) write(`delete  ${d.tier}/${d.id}: ${d.reasons.join('; ')}`);
  for (const key of outcome.orphans) write(`orphan  ${key}: no manifest refers to it`);
  for (const key of outcome.foreign) write(`foreign ${key}: not named like a pgdrill object; left alone`);
  const c = outcome.contents;
  if (c.stored > 0) {
    write(
      `files   ${c.stored} stored file contents, ${c.referenced} referenced by retained backups; ${c.swept} unreferenced ${outcome.dryRun ? 'would be removed' : 'removed'} (${formatBytes(c.sweptBytes)})` +
        `${c.young ? `, ${c.young} unreferenced but younger than the grace period kept` : ''}${c.foreign ? `, ${c.foreign} foreign key(s) left alone` : ''}`,
    );
  }
  if (c.skipped) write(`files   ${c.skipped}`);
}

export function register(program: Command): void {
  program
    .command('backup')
    .description('dump the source database, compress, encrypt, checksum, store, write the manifest, apply retention')
    .option('--storage <url>', 'storage: ./dir, file:///abs/dir or s3://bucket/prefix (PGDRILL_STORAGE)')
    .option('--tables <list>', 'only these tables (comma-separated, pg_dump patterns)', commaList)
    .option('--exclude-table <list>', 'skip these tables (repeatable; replaces the configured default exclusions)', commaList)
    .option('--schema-only', 'structure only, no data')
    .option('--format <format>', 'custom (default) or plain')
    .option('--compression <algorithm>', 'zstd (default), gzip or none')
    .option('--no-prune', 'do not apply retention after the backup')
    .option('--json', 'print the manifest as JSON')
    .action(async (flags: BackupFlags) => {
      const verbose = Boolean(program.opts().verbose);
      const overrides: PgdrillConfigInput = {
        storage: flags.storage ? { url: flags.storage } : undefined,
        backup: {
          tables: flags.tables,
          excludeTables: flags.excludeTable,
          schemaOnly: flags.schemaOnly,
          format: flags.format,
          compression: flags.compression,
        },
      };
      const log = (line: string) => (verbose || !flags.json ? process.stderr.write(`${line}\n`) : undefined);
      const progress = progressLine('backup');
      // The backup line is printed as soon as the backup is published: an interrupted retention
      // afterwards must not hide that the backup exists.
      const printPublished = ({ manifest: m }: BackupResult) => {
        progress.done();
        if (flags.json) process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
        else {
          process.stdout.write(
            `backup ${m.objects.dump.key} ${formatBytes(m.objects.dump.size)} sha256=${m.objects.dump.sha256} in ${formatDuration(m.durationMs)}` +
              ` (${m.tables.length} tables, ${m.encryption.algorithm === 'none' ? 'UNENCRYPTED' : `key ${m.encryption.keyId}`})\n`,
          );
          for (const set of m.files ?? []) {
            process.stdout.write(
              `files ${set.name} ${set.files.toLocaleString('en')} files ${formatBytes(set.bytes)} from ${set.source}: ${set.newContents.toLocaleString('en')} new content(s) stored (${formatBytes(set.newBytes)}), ${set.unchanged.toLocaleString('en')} unchanged\n`,
            );
          }
          if (m.redis) {
            const keys = m.redis.keyspace.map((d) => `db${d.db} ${d.keys.toLocaleString('en')} keys`).join(', ') || 'no keys';
            process.stdout.write(`redis ${m.redis.object.key} ${formatBytes(m.redis.object.size)} sha256=${m.redis.object.sha256} from ${m.redis.source} (${keys})\n`);
          }
        }
      };
      const { retention } = await backup({
        configFile: program.opts().config,
        overrides,
        // --exclude-table replaces the configured exclusions, which define a full backup.
        narrowed: (flags.excludeTable?.length ?? 0) > 0,
        prune: flags.prune !== false,
        signal: interruptSignal(),
        onProgress: (p) => progress.update(p.bytes, p.elapsedMs),
        onPublished: printPublished,
        log: verbose ? log : undefined,
      }).finally(() => progress.done());
      if (retention && verbose) printRetention(retention, log);
    });

  program
    .command('prune')
    .description('apply retention: promote monthly copies, delete expired backups and orphaned objects')
    .option('--dry-run', 'print the plan with reasons, change nothing')
    .option('--json', 'print the plan as JSON')
    .action(async (flags: { dryRun?: boolean; json?: boolean }) => {
      const outcome = await prune({ configFile: program.opts().config, dryRun: flags.dryRun, signal: interruptSignal() });
      if (flags.json) process.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
      else printRetention(outcome, (line) => process.stdout.write(`${flags.dryRun ? '(dry run) ' : ''}${line}\n`));
    });

  program
    .command('list')
    .description('backups by tier with date, size, key id and last drill result')
    .option('--json', 'print as JSON')
    .action(async (flags: { json?: boolean }) => {
      const { location, catalog, lastDrill } = await list({ configFile: program.opts().config });
      if (flags.json) {
        const backups = catalog.backups.map(({ manifest: m, manifestKey }) => ({
          tier: m.tier,
          id: m.id,
          database: m.database,
          ...scopeAndSeries(m),
          takenAt: m.startedAt,
          size: m.objects.dump.size + (m.objects.globals?.size ?? 0),
          keyId: m.encryption.algorithm === 'none' ? null : m.encryption.keyId,
          manifestKey,
          lastDrill: lastDrill(m.id),
        }));
        process.stdout.write(`${JSON.stringify({ backups, invalid: catalog.invalid }, null, 2)}\n`);
      } else {
        printBackupList((line) => process.stdout.write(`${line}\n`), catalog, { location, now: new Date(), lastDrill });
      }
    });
}
