import { describeConnection, type ConnectionInfo } from '../pgtools/index.ts';
import { backupSeries, type BackupManifest, type BackupSelector, type CatalogEntry } from '../catalog/index.ts';
import { describeExtensions, displayName, tableKey, parseTableName, type ExtensionComparison, type TableRef } from '../inspect/index.ts';
import { ConfigError } from '../errors/index.ts';
import { formatAge } from '../format/index.ts';
import type { TargetState } from './guards.ts';
import type { RestoreSelection } from './restore.ts';

// The restore plan: which backup, into which database, what part of it, and the lines printed
// before anything is touched. Parsing of the command's choices lives here so the messages of a
// configuration error (exit 3) are the same wherever they are raised.

export interface BackupChoice {
  latest?: boolean;
  date?: string;
  monthly?: string;
  key?: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** Validates a `YYYY-MM-DD` calendar day (UTC); ConfigError naming the flag otherwise. */
export function parseIsoDay(value: string, flag: string): string {
  const day = DAY.test(value) ? new Date(`${value}T00:00:00Z`) : undefined;
  const valid = day !== undefined && !Number.isNaN(day.getTime()) && day.toISOString().startsWith(value);
  if (!valid) throw new ConfigError(`${flag} ${JSON.stringify(value)} is not a date`, { hint: `Use ${flag} YYYY-MM-DD, e.g. ${flag} 2026-11-23 (UTC day)` });
  return value;
}

/** Exactly one of --latest, --date, --monthly, --key, validated. */
export function parseBackupChoice(choice: BackupChoice): BackupSelector {
  const given = [
    choice.latest ? '--latest' : undefined,
    choice.date !== undefined ? '--date' : undefined,
    choice.monthly !== undefined ? '--monthly' : undefined,
    choice.key !== undefined ? '--key' : undefined,
  ].filter((flag): flag is string => flag !== undefined);
  if (given.length === 0) {
    throw new ConfigError('No backup chosen', { hint: 'Pass one of --latest, --date YYYY-MM-DD, --monthly YYYY-MM or --key KEY (see `pgdrill restore --list`)' });
  }
  if (given.length > 1) throw new ConfigError(`Choose one backup: ${given.join(' and ')} were given together`, { hint: 'Pass only one of them' });
  if (choice.date !== undefined) return { date: parseIsoDay(choice.date, '--date') };
  if (choice.monthly !== undefined) {
    if (!MONTH.test(choice.monthly)) throw new ConfigError(`--monthly ${JSON.stringify(choice.monthly)} is not a month`, { hint: 'Use --monthly YYYY-MM, e.g. --monthly 2026-02' });
    return { monthly: choice.monthly };
  }
  if (choice.key !== undefined) {
    if (!choice.key.trim()) throw new ConfigError('--key is empty', { hint: 'Pass a backup id, manifest key or object key from `pgdrill restore --list`' });
    return { key: choice.key.trim() };
  }
  return {};
}

/** `--tables a,b` → table references (default schema public), duplicates removed. */
export function parseTables(names: readonly string[] | undefined): TableRef[] | undefined {
  if (!names || names.length === 0) return undefined;
  const tables = new Map<string, TableRef>();
  for (const name of names) {
    const table = parseTableName(name);
    if (!table.name || !table.schema) throw new ConfigError(`--tables: ${JSON.stringify(name)} is not a table name`, { hint: 'Use schema.table, e.g. --tables public.users,registry.attachments' });
    tables.set(displayName(table), table);
  }
  return [...tables.values()];
}

/** `--jobs N`: 1..64. */
export function parseJobs(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const jobs = Number(value);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new ConfigError(`--jobs ${JSON.stringify(value)} is not a number from 1 to 64`, { hint: 'e.g. --jobs 4 (parallel pg_restore workers)' });
  return jobs;
}

/** The part of the manifest a selection restores: only the named tables; no rows for schema-only. */
export function manifestForSelection(manifest: BackupManifest, selection: { tables?: readonly TableRef[]; schemaOnly?: boolean }): BackupManifest {
  const wanted = selection.tables ? new Set(selection.tables.map(tableKey)) : undefined;
  const tables = manifest.tables
    .filter((t) => !wanted || wanted.has(tableKey(t)))
    .map((t) => (selection.schemaOnly ? { ...t, rows: 0 } : t));
  // Large objects come back only with a whole-database data restore.
  const { largeObjects, ...rest } = manifest;
  return wanted || selection.schemaOnly ? { ...rest, tables } : { ...rest, tables, ...(largeObjects === undefined ? {} : { largeObjects }) };
}

export interface RestorePlan {
  entry: CatalogEntry;
  /** undefined only for a dry run without --target-db or DATABASE_URL. */
  target?: ConnectionInfo;
  /** undefined when the target could not be inspected (dry run without a reachable target). */
  targetState?: TargetState;
  /** Named tables, or undefined for the whole database. */
  tables?: TableRef[];
  selection: RestoreSelection;
  /**
   * A `--tables` restore into an empty database: the archive's pre-data section first (schemas,
   * types, extensions, every table without data, sequences, views, grants), then only the named
   * tables' data; no indexes or constraints. pg_restore's own `--table` would fail there on the
   * first custom type the table uses.
   */
  skeleton: boolean;
  /**
   * The backup's extensions against what the target offers, when this restore creates extensions
   * (whole database or skeleton, not --data-only) and both are known.
   */
  extensions?: ExtensionComparison;
}

/** Whether a selection restores into an empty database table by table (see RestorePlan.skeleton). */
export function needsSkeleton(tables: readonly TableRef[] | undefined, selection: Pick<RestoreSelection, 'dataOnly'>, state: TargetState | undefined): boolean {
  return tables !== undefined && !selection.dataOnly && state !== undefined && state.userTables.length === 0;
}

function describeSelection(plan: RestorePlan): string {
  const { selection, tables } = plan;
  const part = selection.schemaOnly ? 'schema only' : selection.dataOnly ? 'data only' : 'schema and data';
  if (!tables) return `whole database, ${part}`;
  const names = tables.map(displayName).join(', ');
  if (plan.skeleton) {
    return `tables ${names}: the backup's schema skeleton first (every table empty, no indexes or constraints), then ${selection.schemaOnly ? 'no data' : "these tables' rows"}`;
  }
  return `tables ${names}, ${part} (pg_restore --table: no indexes, constraints or triggers)`;
}

function describeExtensionCheck(e: ExtensionComparison): string {
  if (e.missing.length > 0) return `MISSING on the target: ${describeExtensions(e.missing)}`;
  const names = e.required.map((x) => x.name).join(', ');
  const versions = e.versionDifferences.map((d) => `; ${d.name} ${d.source} in the backup, ${d.target} on the target`).join('');
  return `${e.required.length} needed, all available on the target${names ? ` (${names})` : ''}${versions}`;
}

/** The plan as printed before anything is touched. Never contains a password. */
export function describePlan(plan: RestorePlan, now: Date, format: { bytes(n: number): string }): string[] {
  const m = plan.entry.manifest;
  const series = backupSeries(m);
  const rows = m.tables.reduce((sum, t) => sum + t.rows, 0);
  const restoring = plan.tables ? manifestForSelection(m, { tables: plan.tables }).tables.length : m.tables.length;
  const key = m.encryption.algorithm === 'none' ? 'NOT encrypted' : `encrypted with key ${m.encryption.keyId}`;
  const state = plan.targetState;
  const lines = [
    'Restore plan',
    `  backup     ${m.tier} ${m.id}${m.promotedFrom ? ` (copy of ${m.promotedFrom})` : ''}${series.full ? '' : ` (${series.series})`}  [${plan.entry.manifestKey}]`,
    `  source     ${m.database} on ${m.source.host}:${m.source.port}, PostgreSQL ${m.serverVersion}, ${m.format} format, pg_dump ${m.pgDumpVersion}`,
    `  taken at   ${m.startedAt} (${formatAge(now.getTime() - Date.parse(m.startedAt))} ago)`,
    `  size       ${format.bytes(m.objects.dump.size)} stored, ${format.bytes(m.objects.dump.plaintextSize)} plaintext, ${m.compression.algorithm}, ${key}`,
    `  contents   ${m.tables.length} tables, ${rows.toLocaleString('en')} rows${plan.tables ? `; restoring ${restoring} of them` : ''}`,
    `  target     ${
      plan.target
        ? `${describeConnection(plan.target)} as ${plan.target.user}${
            state ? ` (PostgreSQL ${state.serverVersion}, ${state.userTables.length} user table${state.userTables.length === 1 ? '' : 's'})` : ''
          }`
        : 'none given (pass --target-db to check the guards too)'
    }`,
    `  restore    ${describeSelection(plan)}`,
    `  ownership  ${plan.selection.noOwner ? 'not restored (--no-owner): objects belong to the connecting user' : 'as in the backup'}`,
    `  roles      ${
      plan.selection.withGlobals
        ? m.objects.globals
          ? `captured roles created where missing (--with-roles); existing roles are left alone; ${
              m.rolePasswords ? 'login passwords included' : 'NO passwords captured: set them with ALTER ROLE … PASSWORD afterwards'
            }`
          : 'none captured in this backup'
        : 'not applied (pass --with-roles on a new cluster)'
    }`,
    `  jobs       ${plan.selection.jobs}`,
  ];
  if (plan.extensions) lines.push(`  extensions ${describeExtensionCheck(plan.extensions)}`);
  return lines;
}
