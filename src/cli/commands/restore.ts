import type { Command } from 'commander';
import { listBackups, type BackupManifest } from '../../catalog/index.ts';
import { assertVerified, verify } from '../../operations/index.ts';
import { loadConfig, type PgdrillConfig } from '../../config/index.ts';
import { loadKeyring } from '../../crypto/index.ts';
import { describeConnection } from '../../pgtools/index.ts';
import { ConfigError, RefusedError } from '../../errors/index.ts';
import { formatBytes, formatDuration } from '../../format/index.ts';
import { countDiffers, displayName, type RecordCountComparison } from '../../inspect/index.ts';
import { interruptSignal } from '../../lifecycle/index.ts';
import {
  confirmByTypingName,
  decryptFile,
  describePlan,
  executeFileRestore,
  executeRestore,
  planFileRestore,
  type GuardFinding,
  parseBackupChoice,
  parseIsoDay,
  parseJobs,
  parseTables,
  planRestore,
  type RestoreEvent,
  type VerifyResult,
} from '../../restore/index.ts';
import { openStorage } from '../../storage/index.ts';
import { isTTY, printBackupList, progressLine } from '../output.ts';

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
  files?: string;
  to?: string;
}

const EXIT_CODES_HELP = `
Exit codes:
  0  restored (or verified) and every record count matches the manifest
  1  restore failure: pg_restore/psql failed, or the target could not be reached
  2  download failure: storage unreachable, no backup matches, object missing or unreadable (--files: or a stored file content is missing, or the target cannot be written)
  3  configuration error: bad flag or date, no target (--target-db / DATABASE_URL), no key, missing roles or extensions;
     or the local scratch folder (TMPDIR) has too little space for the backup, is over quota or read-only
  4  verification failure: size/SHA-256 mismatch, decryption failed, unreadable archive, record counts differ;
     --files: a stored file content does not decrypt or hash to its file manifest (that file is never written)
  5  refused by a safety guard: target not empty, is the backup source, or matches productionPatterns
     (--files: the --to location holds files already, or is the file set's own source)
     (pass --confirm, or type the database name when asked on a terminal)
  130 interrupted (SIGINT), 143 terminated (SIGTERM); a restore stopped during pg_restore leaves a partly restored target`;

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

function printCounts(comparison: RecordCountComparison): void {
  const rows = comparison.tables.map((t) => ({ ...t, table: displayName(t) }));
  const width = Math.max(12, ...rows.map((r) => r.table.length));
  out(`${'table'.padEnd(width)}  ${'expected'.padStart(12)}  ${'restored'.padStart(12)}`);
  for (const row of rows) {
    const verdict = row.actual === row.expected ? 'OK' : countDiffers(row, comparison.tolerance) ? 'DIFF' : 'DIFF (within tolerance)';
    const actual = row.actual === null ? 'missing' : row.actual.toLocaleString('en');
    out(`${row.table.padEnd(width)}  ${row.expected.toLocaleString('en').padStart(12)}  ${actual.padStart(12)}  ${verdict}`);
  }
  out(`record counts: ${comparison.summary}${comparison.tolerance > 0 ? ` (tolerance ${comparison.tolerance})` : ''}`);
}

/** Prints one step of executeRestore. */
function printEvent(event: RestoreEvent, manifest: BackupManifest): void {
  switch (event.kind) {
    case 'downloading':
      out(`downloading ${event.keys.join(' and ')} from ${event.location}`);
      return;
    case 'verified': {
      const { timings } = event.fetched;
      out(
        `verified: ${formatBytes(manifest.objects.dump.size)} stored, SHA-256 matches (${formatDuration(timings.downloadMs)}); ` +
          `${manifest.encryption.algorithm === 'none' ? 'not encrypted' : `decrypted with key ${manifest.encryption.keyId}`}, plaintext SHA-256 matches (${formatDuration(timings.decryptMs)})`,
      );
      return;
    }
    case 'empty-table':
      out(
        `  note       ${event.table} holds no rows of its own in this backup${event.partitions.length ? ` (a partitioned table: name its partitions too, e.g. ${event.partitions.slice(0, 3).join(', ')})` : ''}`,
      );
      return;
    case 'archive':
      out(`archive: pg_restore --list reads ${event.listed} entries; this restore applies ${event.applied.entries.length} (${event.applied.tableDefinitions} table definitions, ${event.applied.tableData} table data)`);
      return;
    case 'plain-archive':
      out(`archive: plain SQL, ${formatBytes(event.bytes)}, ends with pg_dump's completion comment`);
      return;
    case 'roles':
      out(event.willCreate ? `  roles      will be created from the backup: ${event.missing.join(', ')}` : `  roles      missing on the target: ${event.missing.join(', ')} (${event.hint})`);
      return;
    case 'restoring':
      return;
    case 'restored':
      out(`restored in ${formatDuration(event.restoreMs)}`);
      return;
  }
}

/** Asks for the typed name on a terminal, else refuses (exit 5): what every restore guard does without --confirm. */
async function confirmOrRefuse(findings: readonly GuardFinding[], what: string, name: string, noun: string): Promise<void> {
  if (process.stdin.isTTY && process.stderr.isTTY && process.env.CI !== 'true') {
    const ok = await confirmByTypingName({ input: process.stdin, output: process.stderr, database: name, noun });
    if (!ok) throw new RefusedError(`Restore into ${what} cancelled: the ${noun} was not typed`, { hint: 'Nothing was changed' });
    return;
  }
  throw new RefusedError(`Refusing to restore into ${what}: ${findings.map((f) => f.reason).join('; ')}`, {
    hint: `Nothing was changed. Restore into a new empty ${noun === 'database name' ? 'database' : 'location'}, or re-run with --confirm if this target is really meant`,
  });
}

/** Flags of a database restore that mean nothing for `--files`. */
const DATABASE_ONLY_FLAGS: Array<[keyof RestoreFlags, string]> = [
  ['targetDb', '--target-db'],
  ['tables', '--tables'],
  ['schemaOnly', '--schema-only'],
  ['dataOnly', '--data-only'],
  ['jobs', '--jobs'],
  ['withRoles', '--with-roles'],
];

/** `pgdrill restore --files NAME --to LOCATION`: puts a file set of a backup back. */
async function runFileRestore(config: PgdrillConfig, flags: RestoreFlags & { files: string }): Promise<void> {
  const selector = parseBackupChoice(flags);
  const given = DATABASE_ONLY_FLAGS.filter(([flag]) => flags[flag] !== undefined && flags[flag] !== false).map(([, name]) => name);
  if (flags.owner === false) given.push('--no-owner');
  if (given.length > 0) throw new ConfigError(`${given.join(', ')} ${given.length === 1 ? 'applies' : 'apply'} to a database restore, not to --files`, { hint: 'Restore the database and the files with two commands' });
  if (!flags.to) throw new ConfigError('--files needs --to: where the files go', { hint: 'Pass --to s3://bucket/prefix or --to /path/to/folder (an empty one)' });
  const signal = interruptSignal();
  const started = Date.now();
  const storage = openStorage(config, { signal });
  try {
    const keyring = loadKeyring(config, 'read');
    const plan = await planFileRestore({ config, storage, selector, name: flags.files, to: flags.to, dryRun: Boolean(flags.dryRun), keyring, signal });
    const m = plan.entry.manifest;
    const r = plan.record;
    out('File restore plan');
    out(`  backup     ${m.tier} ${m.id}${m.promotedFrom ? ` (copy of ${m.promotedFrom})` : ''}  [${plan.entry.manifestKey}]`);
    out(`  file set   ${r.name}: ${r.files.toLocaleString('en')} files, ${formatBytes(r.bytes)}, listed ${r.listedAt} from ${r.source}`);
    out(`  target     ${plan.target.location}${plan.existingKey === undefined ? ' (empty)' : ''}`);
    for (const finding of plan.findings) out(`  guard      ${finding.reason}`);
    if (flags.dryRun) {
      if (plan.findings.length) out('  (a real restore into this target needs --confirm)');
    } else if (plan.findings.length > 0 && !flags.confirm) {
      await confirmOrRefuse(plan.findings, plan.target.location, r.name, 'file set name').catch(async (error: unknown) => {
        await plan.target.close();
        throw error;
      });
    } else if (plan.findings.length > 0) {
      out('  confirmed  --confirm given: proceeding despite the guards above');
    }
    const line = progressLine('restore files');
    const result = await executeFileRestore(plan, {
      storage,
      config,
      keyring,
      signal,
      onEvent: (event) => {
        if (event.kind === 'manifest') out(`file manifest verified: ${event.files.toLocaleString('en')} files, ${formatBytes(event.bytes)}`);
        if (event.kind === 'progress' && isTTY()) line.update(event.bytes, Date.now() - started);
        if (event.kind === 'stopped') note(`stopped after ${event.files.toLocaleString('en')} of ${r.files.toLocaleString('en')} files were written to ${plan.target.location}`);
      },
    }).finally(() => line.done());
    if (result.dryRun) {
      out(`dry run: ${result.files.toLocaleString('en')} of ${r.files.toLocaleString('en')} stored contents present; nothing was written`);
      return;
    }
    out(`restore OK: ${result.files.toLocaleString('en')} files (${formatBytes(result.bytes)}) of "${r.name}" from ${m.id} into ${plan.target.location} in ${formatDuration(Date.now() - started)}`);
  } finally {
    await storage.close();
  }
}

async function runRestore(program: Command, flags: RestoreFlags): Promise<void> {
  const config = await loadConfig({ configFile: program.opts().config });
  const now = new Date();
  if (flags.files !== undefined) return runFileRestore(config, { ...flags, files: flags.files });
  if (flags.to !== undefined) throw new ConfigError('--to is where --files go', { hint: 'Pass --files NAME with it, or --target-db for a database restore' });

  if (flags.list) {
    const storage = openStorage(config);
    try {
      const catalog = await listBackups(storage, config.storage.prefix);
      printBackupList(out, catalog, { location: storage.location, now });
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
  const storage = openStorage(config, { signal });
  try {
    const keyring = loadKeyring(config, 'read');
    const plan = await planRestore({
      config,
      storage,
      selector,
      targetUrl,
      targetSource: flags.targetDb ? '--target-db' : 'DATABASE_URL',
      tables,
      selection: { schemaOnly: flags.schemaOnly, dataOnly: flags.dataOnly, noOwner: flags.owner === false, withGlobals: Boolean(flags.withRoles), jobs },
      jobsGiven: flags.jobs !== undefined,
      dryRun: Boolean(flags.dryRun),
      keyring,
      signal,
    });
    if (plan.targetProblem) note(`target: ${plan.targetProblem}`);
    for (const text of describePlan(plan, now, { bytes: formatBytes })) out(text);
    for (const finding of plan.findings) out(`  guard      ${finding.reason}`);
    if (flags.dryRun) {
      if (plan.findings.length) out('  (a real restore into this target needs --confirm)');
    } else if (plan.findings.length > 0 && !flags.confirm) {
      await confirmOrRefuse(plan.findings, describeConnection(plan.target!), plan.target!.database, 'database name');
    } else if (plan.findings.length > 0) {
      out('  confirmed  --confirm given: proceeding despite the guards above');
    }

    const manifest = plan.entry.manifest;
    let restoring: { stop(): void } | undefined;
    const result = await executeRestore(plan, {
      storage,
      keyring,
      config,
      signal,
      onDownloadProgress: isTTY() ? (bytes, elapsedMs) => download.update(bytes, elapsedMs) : undefined,
      onEvent: (event) => {
        if (event.kind === 'verified') download.done();
        if (event.kind === 'restoring') restoring = ticker(`restoring into ${event.where}`);
        if (event.kind === 'restored') restoring?.stop();
        printEvent(event, manifest);
      },
      onCounts: printCounts,
    }).finally(() => restoring?.stop());
    if (result.dryRun) {
      out(`would restore ${result.tables.length} table${result.tables.length === 1 ? '' : 's'}:`);
      for (const t of result.tables) out(`  ${displayName(t).padEnd(40)} ${flags.schemaOnly ? 'definition only' : `${t.rows.toLocaleString('en')} rows`}`);
      out('dry run: backup downloaded, verified and decrypted; nothing was restored and the target was not changed');
      return;
    }
    out(`restore OK: ${manifest.id} into ${describeConnection(plan.target!)} in ${formatDuration(Date.now() - started)}`);
  } finally {
    download.done();
    await storage.close();
  }
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
    .option('--latest', 'the newest full backup')
    .option('--date <YYYY-MM-DD>', 'the newest full backup taken that day (UTC)')
    .option('--monthly <YYYY-MM>', 'the monthly backup of that month')
    .option('--key <key>', 'a backup by id, manifest key or object key (full or partial)')
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
    .option('--files <name>', 'restore a file set of the backup (backup.files) instead of the database; needs --to')
    .option('--to <location>', 'with --files: where the files go, s3://bucket/prefix (the set\'s S3 endpoint and credentials) or a folder')
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
      const outcome = await verify({ configFile: program.opts().config, since, signal: interruptSignal(), onResult: flags.json ? undefined : (r) => out(verifyLine(r)) });
      const { report, location } = outcome;
      const failed = report.results.filter((r) => !r.ok);
      if (flags.json) out(JSON.stringify(report, null, 2));
      else out(`verified ${report.results.length} backup${report.results.length === 1 ? '' : 's'} in ${location}: ${report.results.length - failed.length} OK, ${failed.length} FAILED`);
      assertVerified(outcome);
    });

  program
    .command('decrypt')
    .description('turn a downloaded stored object (….dump.zst.enc) back into what pg_dump wrote: every chunk authenticated, then decompressed; needs PGDRILL_ENCRYPTION_KEYS')
    .argument('<file>', 'the downloaded file')
    .requiredOption('--out <file>', 'where to write the pg_restore archive (or SQL); written only when all of it checked out')
    .action(async (file: string, flags: { out: string }) => {
      const config = await loadConfig({ configFile: program.opts().config });
      const result = await decryptFile({ input: file, output: flags.out, keyring: loadKeyring(config, 'read'), signal: interruptSignal() });
      out(`wrote ${flags.out}: ${formatBytes(result.bytes)}, sha256 ${result.sha256}${result.encrypted ? ' (decrypted and authenticated)' : ' (was not encrypted)'}; compare with the manifest's plaintextSha256`);
    });
}
