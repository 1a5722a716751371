import { pipeline, Transform, type Readable } from 'node:stream';
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { loadKeyring, missingKeyError } from '../../crypto/index.ts';
import {
  describeConnection,
  displayName,
  listBackups,
  parseDatabaseUrl,
  qualifiedName,
  selectBackup,
  type BackupSelector,
  type CatalogEntry,
} from '../../dump/index.ts';
import { ConfigError, CryptoError, IntegrityError, PgdrillError, RefusedError, RestoreError, StorageError } from '../../errors/index.ts';
import {
  applyRestore,
  checkPlainDump,
  compareRecordCounts,
  confirmByTypingName,
  createDatabaseTarget,
  describePlan,
  fetchBackup,
  formatAge,
  inspectTarget,
  listArchive,
  listingHasTable,
  manifestForSelection,
  needsSkeleton,
  parseBackupChoice,
  parseIsoDay,
  parseJobs,
  parseTables,
  pgRestoreArgs,
  restoreClientBinDir,
  restoreGuards,
  rolesReferenced,
  verifyBackups,
  type ArchiveListing,
  type CountComparison,
  type FetchedBackup,
  type RestorePlan,
  type RestoreSelection,
  type TargetState,
  type VerifyResult,
} from '../../restore/index.ts';
import { openStorage, type BackupStorage } from '../../storage/index.ts';
import { formatBytes, formatDuration, interruptSignal, isTTY, progressLine } from '../output.ts';

const list = (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
const out = (line = '') => process.stdout.write(`${line}\n`);
const note = (line = '') => process.stderr.write(`${line}\n`);

interface RestoreFlags {
  latest?: boolean;
  date?: string;
  monthly?: string;
  key?: string;
  targetDb?: string;
  list?: boolean;
  dryRun?: boolean;
  tables?: string[];
  schemaOnly?: boolean;
  dataOnly?: boolean;
  /** false with --no-owner */
  owner?: boolean;
  jobs?: string;
  withRoles?: boolean;
  confirm?: boolean;
}

const EXIT_CODES_HELP = `
Exit codes:
  0  restored (or verified) and every record count matches the manifest
  1  restore failure: pg_restore/psql failed, or the target could not be reached
  2  download failure: storage unreachable, no backup matches, object missing or unreadable
  3  configuration error: bad flag or date, no target (--target-db / DATABASE_URL), no key, missing roles
  4  verification failure: size/SHA-256 mismatch, decryption failed, unreadable archive, record counts differ
  5  refused by a safety guard: target not empty, is the backup source, or matches productionPatterns
     (pass --confirm, or type the database name when asked on a terminal)
  130 interrupted (SIGINT), 143 terminated (SIGTERM); a restore stopped during pg_restore leaves a partly restored target`;

/** Storage whose downloads report the bytes read so far, at most every 250 ms (progress on a TTY). */
function countingStorage(storage: BackupStorage, onBytes: (bytes: number) => void): BackupStorage {
  let bytes = 0;
  let reported = 0;
  return {
    get location() {
      return storage.location;
    },
    put: (key, body, options) => storage.put(key, body, options),
    head: (key) => storage.head(key),
    list: (prefix) => storage.list(prefix),
    copy: (from, to) => storage.copy(from, to),
    delete: (keys) => storage.delete(keys),
    close: () => storage.close(),
    async get(key) {
      const source = await storage.get(key);
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          if (Date.now() - reported >= 250) {
            reported = Date.now();
            onBytes(bytes);
          }
          callback(null, chunk);
        },
      });
      return pipeline(source, counter, () => {}) as Readable;
    },
  };
}

/** A line rewritten in place on a TTY with the elapsed time of a step; silent otherwise. */
function ticker(label: string): { stop(): void } {
  if (!isTTY()) return { stop: () => {} };
  const started = Date.now();
  const timer = setInterval(() => process.stderr.write(`\r${label}… ${formatDuration(Date.now() - started)}   `), 1000);
  return {
    stop() {
      clearInterval(timer);
      process.stderr.write('\r\x1b[K');
    },
  };
}

function describeSelector(selector: BackupSelector): string {
  if (selector.key) return `key ${selector.key}`;
  if (selector.monthly) return `the monthly backup of ${selector.monthly}`;
  if (selector.date) return `a backup taken on ${selector.date} (UTC)`;
  return 'the newest backup';
}

function printCatalog(entries: CatalogEntry[], invalid: Array<{ manifestKey: string; reason: string }>, location: string, now: Date): void {
  if (entries.length === 0) out(`no backups in ${location}`);
  for (const tier of ['daily', 'weekly', 'monthly'] as const) {
    const ofTier = entries.filter((e) => e.manifest.tier === tier);
    if (ofTier.length === 0) continue;
    out(`${tier}:`);
    for (const { manifest: m } of ofTier) {
      const size = m.objects.dump.size + (m.objects.globals?.size ?? 0);
      const key = m.encryption.algorithm === 'none' ? 'none (unencrypted)' : m.encryption.keyId;
      out(
        `  ${m.id.padEnd(28)} ${m.startedAt}  ${formatAge(now.getTime() - Date.parse(m.startedAt)).padStart(10)} ago  ${formatBytes(size).padStart(10)}  ${String(m.tables.length).padStart(3)} tables  key ${key}`,
      );
    }
  }
  for (const bad of invalid) out(`INVALID ${bad.manifestKey}: ${bad.reason}`);
}

function printCounts(comparison: CountComparison): void {
  const width = Math.max(12, ...comparison.rows.map((r) => r.table.length));
  out(`${'table'.padEnd(width)}  ${'expected'.padStart(12)}  ${'restored'.padStart(12)}`);
  for (const row of comparison.rows) {
    const same = row.actual === row.expected;
    const verdict = same ? 'OK' : comparison.status === 'fail' ? 'DIFF' : 'DIFF (within tolerance)';
    const actual = row.actual === null ? 'missing' : row.actual.toLocaleString('en');
    out(`${row.table.padEnd(width)}  ${row.expected.toLocaleString('en').padStart(12)}  ${actual.padStart(12)}  ${verdict}`);
  }
  out(`record counts: ${comparison.summary}${comparison.tolerance > 0 ? ` (tolerance ${comparison.tolerance})` : ''}`);
}

/** The key the backup needs is present, before anything is downloaded. */
function checkKey(entry: CatalogEntry, keyring: ReturnType<typeof loadKeyring>): void {
  const enc = entry.manifest.encryption;
  if (enc.algorithm === 'none') return;
  if (!keyring) {
    throw missingKeyError([{ id: entry.manifest.id, keyId: enc.keyId }]);
  }
  if (!keyring.keys.has(enc.keyId)) {
    throw new CryptoError('UNKNOWN_KEY', `backup ${entry.manifest.id} is encrypted with key ${enc.keyId}, which is not in PGDRILL_ENCRYPTION_KEYS (${[...keyring.keys.keys()].join(', ')})`, {
      hint: `Add key ${enc.keyId} from the key escrow after the active key: PGDRILL_ENCRYPTION_KEYS=new:…,${enc.keyId}:…`,
    });
  }
}

async function runRestore(program: Command, flags: RestoreFlags): Promise<void> {
  const config = await loadConfig({ configFile: program.opts().config });
  const now = new Date();

  if (flags.list) {
    const storage = openStorage(config);
    try {
      const catalog = await listBackups(storage, config.storage.prefix);
      printCatalog(catalog.backups, catalog.invalid, storage.location, now);
    } finally {
      await storage.close();
    }
    return;
  }

  // Everything that can be wrong with the command line is reported before storage is read.
  const selector = parseBackupChoice(flags);
  if (flags.schemaOnly && flags.dataOnly) throw new ConfigError('--schema-only and --data-only exclude each other', { hint: 'Pass one of them, or neither for schema and data' });
  const tables = parseTables(flags.tables);
  const jobs = parseJobs(flags.jobs, config.sandbox.restoreJobs);
  if (flags.targetDb && /^[^?]*:\/\/[^/@]*:[^/@]*@|[?&]password=/.test(flags.targetDb)) {
    // Command lines are visible to every local user (ps, /proc) and land in shell history.
    throw new ConfigError('--target-db carries a password on the command line', {
      hint: 'Drop it from the URL and pass it as PGPASSWORD (or ~/.pgpass), e.g. PGPASSWORD=… pgdrill restore --target-db postgres://user@host/db',
    });
  }
  const targetUrl = flags.targetDb ?? config.databaseUrl;
  if (!targetUrl && !flags.dryRun) {
    throw new ConfigError('No target database: --target-db is not given and DATABASE_URL is not set', {
      hint: 'Pass --target-db postgres://user@host:5432/db (password via PGPASSWORD), or set DATABASE_URL',
    });
  }
  const targetInfo = targetUrl ? parseDatabaseUrl(targetUrl, flags.targetDb ? '--target-db' : 'DATABASE_URL') : undefined;
  let selection: RestoreSelection = {
    tables: tables?.map(qualifiedName),
    schemaOnly: flags.schemaOnly,
    dataOnly: flags.dataOnly,
    noOwner: flags.owner === false,
    withGlobals: Boolean(flags.withRoles),
    jobs,
  };

  const signal = interruptSignal();
  const line = progressLine('download');
  let shown: 'no' | 'yes' | 'done' = 'no';
  const download = {
    update(bytes: number, elapsedMs: number) {
      if (shown === 'done') return;
      shown = 'yes';
      line.update(bytes, elapsedMs);
    },
    done() {
      if (shown === 'yes') line.done();
      shown = 'done';
    },
  };
  const started = Date.now();
  const baseStorage = openStorage(config);
  let downloadStarted = started;
  const storage = isTTY() ? countingStorage(baseStorage, (bytes) => download.update(bytes, Date.now() - downloadStarted)) : baseStorage;
  let fetched: FetchedBackup | undefined;
  try {
    const catalog = await listBackups(storage, config.storage.prefix);
    const entry = selectBackup(catalog, selector);
    if (!entry) {
      throw new StorageError(`No valid backup matches ${describeSelector(selector)} in ${storage.location}`, {
        hint: `List what exists with \`pgdrill restore --list\`${catalog.invalid.length ? ` (${catalog.invalid.length} manifest(s) are invalid)` : ''}`,
      });
    }
    const manifest = entry.manifest;
    // psql restores a plain dump in one stream: the default --jobs does not apply (an explicit one is an error).
    if (manifest.format !== 'custom' && flags.jobs === undefined) selection = { ...selection, jobs: 1 };
    pgRestoreArgs(manifest, selection); // plain-format restrictions: a ConfigError before anything is downloaded
    const keyring = loadKeyring(config, 'read');
    checkKey(entry, keyring);

    // Read-only look at the target; a dry run goes on without one.
    let targetState: TargetState | undefined;
    if (targetInfo) {
      try {
        targetState = await inspectTarget(targetInfo);
      } catch (error) {
        if (!flags.dryRun) throw error;
        note(`target: cannot inspect ${describeConnection(targetInfo)}: ${(error as Error).message}`);
      }
    }
    const plan: RestorePlan = {
      entry,
      target: targetInfo,
      targetState,
      tables,
      selection,
      skeleton: needsSkeleton(tables, selection, targetState),
    };
    for (const text of describePlan(plan, now, { bytes: formatBytes })) out(text);

    const findings =
      targetInfo && targetState
        ? restoreGuards({ target: targetInfo, targetState, sourceUrl: config.databaseUrl, manifest, productionPatterns: config.productionPatterns })
        : [];
    for (const finding of findings) out(`  guard      ${finding.reason}`);
    if (flags.dryRun) {
      if (findings.length) out('  (a real restore into this target needs --confirm)');
    } else if (findings.length > 0 && !flags.confirm) {
      const reasons = findings.map((f) => f.reason).join('; ');
      if (process.stdin.isTTY && process.stderr.isTTY && process.env.CI !== 'true') {
        const ok = await confirmByTypingName({ input: process.stdin, output: process.stderr, database: targetInfo!.database });
        if (!ok) throw new RefusedError(`Restore into ${describeConnection(targetInfo!)} cancelled: the database name was not typed`, { hint: 'Nothing was changed' });
      } else {
        throw new RefusedError(`Refusing to restore into ${describeConnection(targetInfo!)}: ${reasons}`, {
          hint: 'Nothing was changed. Restore into a new empty database, or re-run with --confirm if this target is really meant',
        });
      }
    } else if (findings.length > 0) {
      out('  confirmed  --confirm given: proceeding despite the guards above');
    }

    // Download, verify, decrypt, verify again: only a fully verified file is ever restored.
    out(`downloading ${manifest.objects.dump.key}${selection.withGlobals && manifest.objects.globals ? ` and ${manifest.objects.globals.key}` : ''} from ${storage.location}`);
    downloadStarted = Date.now();
    fetched = await fetchBackup({ storage, manifest, keyring, withGlobals: selection.withGlobals, signal });
    download.done();
    out(
      `verified: ${formatBytes(manifest.objects.dump.size)} stored, SHA-256 matches (${formatDuration(fetched.timings.downloadMs)}); ` +
        `${manifest.encryption.algorithm === 'none' ? 'not encrypted' : `decrypted with key ${manifest.encryption.keyId}`}, plaintext SHA-256 matches (${formatDuration(fetched.timings.decryptMs)})`,
    );

    const binDir = await restoreClientBinDir(manifest.serverMajor, config.backup.binDir);
    let listing: ArchiveListing | undefined;
    if (manifest.format === 'custom') {
      const full = await listArchive(fetched.dumpPath, { binDir, label: manifest.objects.dump.key });
      for (const table of tables ?? []) {
        if (!listingHasTable(full, table)) {
          throw new ConfigError(`Table ${displayName(table)} is not in backup ${manifest.id}`, {
            hint: `Tables in this backup: ${manifest.tables.map(displayName).join(', ')}`,
          });
        }
        if (!manifest.tables.some((t) => displayName(t) === displayName(table))) {
          const parts = manifest.tables.filter((t) => t.schema === table.schema && t.name.startsWith(`${table.name}_`)).map(displayName);
          out(
            `  note       ${displayName(table)} holds no rows of its own in this backup${parts.length ? ` (a partitioned table: name its partitions too, e.g. ${parts.slice(0, 3).join(', ')})` : ''}`,
          );
        }
      }
      const args = pgRestoreArgs(manifest, selection);
      listing = plan.skeleton
        ? merge(
            await listArchive(fetched.dumpPath, { binDir, args: ['--section=pre-data'] }),
            selection.schemaOnly ? undefined : await listArchive(fetched.dumpPath, { binDir, args: [...args, '--section=data'] }),
          )
        : await listArchive(fetched.dumpPath, { binDir, args });
      out(`archive: pg_restore --list reads ${full.entries.length} entries; this restore applies ${listing.entries.length} (${listing.tableDefinitions} table definitions, ${listing.tableData} table data)`);
    } else {
      const { bytes } = await checkPlainDump(fetched.dumpPath, { label: manifest.objects.dump.key });
      out(`archive: plain SQL, ${formatBytes(bytes)}, ends with pg_dump's completion comment`);
    }

    if (targetState && listing) {
      // A skeleton restores every table's grants, not only the named tables'.
      const needed = rolesReferenced({ manifest, listing, tables: plan.skeleton ? undefined : tables, noOwner: selection.noOwner, dataOnly: selection.dataOnly });
      const missing = [...needed].filter((role) => !targetState.roles.has(role)).sort();
      const created = selection.withGlobals && manifest.objects.globals !== undefined;
      if (missing.length > 0 && !created) {
        const message = `The target cluster lacks role(s) this restore assigns ownership or privileges to: ${missing.join(', ')}`;
        const hint = 'Pass --with-roles to create them from the roles captured with the backup, or create them first; --no-owner drops ownership (privileges still name roles)';
        if (!flags.dryRun) throw new ConfigError(`${message}. Nothing was changed`, { hint });
        out(`  roles      missing on the target: ${missing.join(', ')} (${hint})`);
      } else if (missing.length > 0) {
        out(`  roles      will be created from the backup: ${missing.join(', ')}`);
      }
    }

    if (flags.dryRun) {
      const restoring = manifestForSelection(manifest, { tables, schemaOnly: selection.schemaOnly }).tables;
      out(`would restore ${restoring.length} table${restoring.length === 1 ? '' : 's'}:`);
      for (const t of restoring) out(`  ${displayName(t).padEnd(40)} ${selection.schemaOnly ? 'definition only' : `${t.rows.toLocaleString('en')} rows`}`);
      out('dry run: backup downloaded, verified and decrypted; nothing was restored and the target was not changed');
      return;
    }

    const where = describeConnection(targetInfo!);
    const stopIfInterrupted = () => {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new RestoreError('Interrupted');
    };
    stopIfInterrupted();
    const restoring = ticker(`restoring into ${where}`);
    let restoreMs: number;
    try {
      const target = createDatabaseTarget(targetUrl!, binDir);
      ({ restoreMs } = await applyRestore({ target, manifest, fetched, selection, skeleton: plan.skeleton }));
    } catch (error) {
      stopIfInterrupted();
      if (error instanceof PgdrillError) throw error;
      throw new RestoreError(`Restore into ${where} failed: ${(error as Error).message}`, {
        hint: 'The target may be partly restored; drop it and restore into an empty database',
        cause: error,
      });
    } finally {
      restoring.stop();
    }
    stopIfInterrupted();
    out(`restored in ${formatDuration(restoreMs)}`);
    await fetched.cleanup();
    fetched = undefined;

    const comparison = await compareRecordCounts({
      target: targetInfo!,
      manifest: manifestForSelection(manifest, { tables, schemaOnly: selection.schemaOnly }),
      tolerance: config.drill.recordCountTolerance,
    });
    printCounts(comparison);
    if (comparison.status === 'fail') {
      throw new IntegrityError(`Verification failed after restoring ${manifest.id} into ${where}: ${comparison.summary}`, {
        hint: 'The restored data does not match the backup snapshot; do not put this database into service before finding out why',
      });
    }
    out(`restore OK: ${manifest.id} into ${where} in ${formatDuration(Date.now() - started)}`);
  } finally {
    download.done();
    await fetched?.cleanup();
    await storage.close();
  }
}

function merge(a: ArchiveListing, b: ArchiveListing | undefined): ArchiveListing {
  if (!b) return a;
  return {
    entries: [...a.entries, ...b.entries],
    tableDefinitions: a.tableDefinitions + b.tableDefinitions,
    tableData: a.tableData + b.tableData,
    owners: new Set([...a.owners, ...b.owners]),
  };
}

function verifyLine(r: VerifyResult): string {
  const head = `${r.ok ? 'OK    ' : 'FAILED'}  ${r.tier.padEnd(7)}  ${r.id.padEnd(28)}`;
  if (!r.ok) return `${head}  ${r.error}`;
  const detail = r.entries !== undefined ? `pg_restore --list: ${r.entries} entries` : 'plain SQL complete';
  return `${head}  ${r.takenAt}  ${formatBytes(r.bytes ?? 0).padStart(10)}  ${detail}  ${formatDuration(r.durationMs)}`;
}

export function register(program: Command): void {
  program
    .command('restore')
    .description(
      'download, verify and decrypt a backup (choose it with one of --latest, --date, --monthly, --key), print the plan, restore it into a database and compare record counts with the manifest',
    )
    .option('--latest', 'the newest backup')
    .option('--date <YYYY-MM-DD>', 'the newest backup taken that day (UTC)')
    .option('--monthly <YYYY-MM>', 'the monthly backup of that month')
    .option('--key <key>', 'a backup by id, manifest key or object key')
    .option('--target-db <url>', 'database to restore into (default: DATABASE_URL); password via PGPASSWORD or ~/.pgpass, never in this URL')
    .option('--list', 'list the backups and exit')
    .option('--dry-run', 'download, verify, decrypt and pg_restore --list; print what would be restored; change nothing')
    .option('--tables <list>', 'only these tables (schema.table, comma-separated); into an empty database the schema skeleton is created first', list)
    .option('--schema-only', 'structure only')
    .option('--data-only', 'rows only, into existing tables')
    .option('--no-owner', 'do not restore object ownership')
    .option('--jobs <n>', 'parallel pg_restore workers (default: sandbox.restoreJobs)')
    .option('--with-roles', 'first create the roles captured with the backup that the target cluster lacks (never alters existing roles)')
    .option('--confirm', 'restore even when a safety guard objects (target not empty, is the source, or matches productionPatterns)')
    .addHelpText('after', EXIT_CODES_HELP)
    .action((flags: RestoreFlags) => runRestore(program, flags));

  program
    .command('verify')
    .description("integrity pass over the retention set, like restic's check --read-data: download every backup, check every SHA-256, decrypt to the end and run pg_restore --list, without restoring")
    .option('--all', 'every backup (the default)')
    .option('--since <YYYY-MM-DD>', 'only backups taken on or after this day (UTC)')
    .option('--json', 'print { ok, results: [{ id, tier, manifestKey, ok, error? }] }')
    .addHelpText('after', EXIT_CODES_HELP)
    .action(async (flags: { all?: boolean; since?: string; json?: boolean }) => {
      if (flags.all && flags.since !== undefined) throw new ConfigError('--all and --since exclude each other', { hint: 'Pass one of them' });
      const since = flags.since !== undefined ? parseIsoDay(flags.since, '--since') : undefined;
      const config = await loadConfig({ configFile: program.opts().config });
      const storage = openStorage(config);
      try {
        const catalog = await listBackups(storage, config.storage.prefix);
        const report = await verifyBackups({
          storage,
          catalog,
          keyring: loadKeyring(config, 'read'),
          since,
          binDir: config.backup.binDir,
          signal: interruptSignal(),
          onResult: flags.json ? undefined : (r) => out(verifyLine(r)),
        });
        const failed = report.results.filter((r) => !r.ok);
        if (flags.json) out(JSON.stringify(report, null, 2));
        else out(`verified ${report.results.length} backup${report.results.length === 1 ? '' : 's'} in ${storage.location}: ${report.results.length - failed.length} OK, ${failed.length} FAILED`);
        if (report.results.length === 0) {
          throw new IntegrityError(`No backup to verify in ${storage.location}${since ? ` taken since ${since}` : ''}`, { hint: 'Check PGDRILL_STORAGE and the prefix; an empty retention set restores nothing' });
        }
        if (failed.length > 0) {
          throw new IntegrityError(`${failed.length} of ${report.results.length} backups failed verification: ${failed.map((r) => `${r.tier}/${r.id} (${r.errorKind})`).join(', ')}`, {
            hint: 'Restore from a backup that passed; investigate the storage and take a fresh backup now',
          });
        }
      } finally {
        await storage.close();
      }
    });
}
