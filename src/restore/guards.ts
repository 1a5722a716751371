import { createInterface } from 'node:readline/promises';
import pg from 'pg';
import { connectTimeoutFailure, describeConnection, endSessionOnAbort, parseDatabaseUrl, pgClientConfig, type ConnectionInfo } from '../pgtools/index.ts';
import { type BackupManifest } from '../catalog/index.ts';
import { availableExtensions, displayName, listTables, type AvailableExtension, type TableRef } from '../inspect/index.ts';
import { ConfigError, RestoreError } from '../errors/index.ts';
import type { ArchiveListing } from './archive.ts';

// Safety guards of `pgdrill restore`: what the target holds, whether it is the backup's source or a
// production database, and the interactive confirmation. Nothing here writes to the target.

/** What a restore target holds before anything is restored (read-only inspection). */
export interface TargetState {
  /** User tables (ordinary tables and partitions outside the system schemas). */
  userTables: TableRef[];
  /** Every role of the target cluster. */
  roles: Set<string>;
  serverVersion: string;
  /** Extensions the target server can install (pg_available_extensions). */
  extensions: AvailableExtension[];
}

const CONFIG_CONNECT_ERRORS = new Set(['3D000', '28P01', '28000']);

/**
 * Connects to the target (within its connect timeout) and reads its tables, roles and available extensions; changes
 * nothing. Aborting `signal` ends the session at once and rejects with the abort reason.
 */
export async function inspectTarget(info: ConnectionInfo, signal?: AbortSignal): Promise<TargetState> {
  const client = new pg.Client(pgClientConfig(info));
  const stopWatchingSignal = endSessionOnAbort(client, info, signal);
  const interruptedOr = (error: unknown): unknown => (signal?.aborted && signal.reason instanceof Error ? signal.reason : error);
  try {
    try {
      await client.connect();
    } catch (error) {
      if (signal?.aborted) throw interruptedOr(error);
      if (error instanceof ConfigError) throw error; // no password given
      const code = (error as { code?: string }).code;
      const where = describeConnection(info);
      if (code === '3D000') {
        throw new ConfigError(`Target database ${where} does not exist`, {
          hint: `Create it first (createdb -h ${info.host} -p ${info.port} -U ${info.user} ${info.database}) or pass another --target-db`,
        });
      }
      const timeout = connectTimeoutFailure(error, info);
      const message = `Cannot connect to the target database ${where} as ${info.user}: ${timeout?.reason ?? (error as Error).message}`;
      if (code && CONFIG_CONNECT_ERRORS.has(code)) throw new ConfigError(message, { hint: 'Check the user and password of --target-db (password via PGPASSWORD or ~/.pgpass)' });
      throw new RestoreError(message, { hint: `${timeout?.hint ?? 'Check that the server runs and accepts connections from here'}; nothing was restored`, cause: error });
    }
    const userTables = await listTables(client);
    const roles = await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles');
    const version = await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`);
    return { userTables, roles: new Set(roles.rows.map((r) => r.rolname)), serverVersion: version.rows[0]?.v ?? '', extensions: await availableExtensions(client) };
  } catch (error) {
    throw interruptedOr(error);
  } finally {
    stopWatchingSignal();
    await client.end().catch(() => {});
  }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);
const normalHost = (host: string): string => (LOOPBACK.has(host.toLowerCase()) ? 'localhost' : host.toLowerCase());

/** Same server (host and port, loopback spellings treated alike) and same database. */
export function sameDatabase(a: Pick<ConnectionInfo, 'host' | 'port' | 'database'>, b: Pick<ConnectionInfo, 'host' | 'port' | 'database'>): boolean {
  return normalHost(a.host) === normalHost(b.host) && a.port === b.port && a.database === b.database;
}

export type GuardKind = 'not-empty' | 'source' | 'production';

export interface GuardFinding {
  guard: GuardKind;
  reason: string;
}

export interface GuardInput {
  target: ConnectionInfo;
  targetState: Pick<TargetState, 'userTables'>;
  /** DATABASE_URL, the configured backup source, when set. */
  sourceUrl?: string;
  manifest: BackupManifest;
  /** Substrings of host or database name that mark production (config `productionPatterns`). */
  productionPatterns: readonly string[];
}

/**
 * Why restoring into this target needs `--confirm` (or the database name typed on a TTY): it is
 * not empty, it is the configured backup source or the database this backup was taken from, or
 * it matches a production pattern. Empty when none applies.
 */
export function restoreGuards(input: GuardInput): GuardFinding[] {
  const findings: GuardFinding[] = [];
  const { target, targetState, manifest } = input;
  const tables = targetState.userTables;
  if (tables.length > 0) {
    const sample = tables.slice(0, 3).map(displayName).join(', ');
    findings.push({
      guard: 'not-empty',
      reason: `the target database is not empty: ${tables.length} user table${tables.length === 1 ? '' : 's'} (${sample}${tables.length > 3 ? ', …' : ''})`,
    });
  }
  let source: ConnectionInfo | undefined;
  try {
    source = input.sourceUrl ? parseDatabaseUrl(input.sourceUrl) : undefined;
  } catch {
    source = undefined;
  }
  if (source && sameDatabase(source, target)) {
    findings.push({ guard: 'source', reason: `the target is the configured backup source (DATABASE_URL ${describeConnection(source)})` });
  } else if (sameDatabase({ ...manifest.source, database: manifest.database }, target)) {
    findings.push({ guard: 'source', reason: `the target is the database this backup was taken from (${manifest.source.host}:${manifest.source.port}/${manifest.database})` });
  }
  const haystack = [target.host.toLowerCase(), target.database.toLowerCase()];
  for (const pattern of input.productionPatterns) {
    const p = pattern.trim().toLowerCase();
    if (p && haystack.some((h) => h.includes(p))) {
      findings.push({ guard: 'production', reason: `the target matches the production pattern "${pattern}" (productionPatterns)` });
    }
  }
  return findings;
}

/**
 * Asks on a terminal to type the database name (or another `noun`: `file set name`); true only for
 * the exact name. The caller only asks when stdin and stderr are TTYs; end of input counts as no.
 */
export async function confirmByTypingName(options: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream; database: string; noun?: string }): Promise<boolean> {
  const rl = createInterface({ input: options.input, output: options.output, terminal: false });
  const closed = new Promise<string | null>((resolve) => rl.once('close', () => resolve(null)));
  try {
    const answer = await Promise.race([rl.question(`Type the ${options.noun ?? 'database name'} "${options.database}" to continue (anything else aborts): `), closed]);
    return answer !== null && answer.trim() === options.database;
  } catch {
    return false;
  } finally {
    rl.close();
  }
}

/**
 * Roles the restore will reference: owners of the entries it restores (unless `--no-owner`) and
 * grantees of privileges on the restored tables (from the manifest). A data-only restore sets
 * neither owners nor privileges.
 */
export function rolesReferenced(options: {
  manifest: BackupManifest;
  listing: ArchiveListing;
  tables?: readonly TableRef[];
  noOwner?: boolean;
  dataOnly?: boolean;
}): Set<string> {
  const needed = new Set<string>();
  if (options.dataOnly) return needed;
  if (!options.noOwner) for (const owner of options.listing.owners) needed.add(owner);
  const selected = options.tables?.map((t) => `${displayName(t)}:`);
  for (const role of options.manifest.roles) {
    const granted = role.privileges.some((p) => !selected || selected.some((prefix) => p.startsWith(prefix)));
    if (granted) needed.add(role.name);
  }
  return needed;
}
