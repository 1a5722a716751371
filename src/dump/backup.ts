import pg from 'pg';
import { TOOL_VERSION, type PgdrillConfig } from '../config/index.ts';
import { missingKeyError, type Keyring } from '../crypto/index.ts';
import { BackupError, ConfigError, RefusedError } from '../errors/index.ts';
import type { BackupStorage } from '../storage/index.ts';
import {
  connectTimeoutFailure,
  describeConnection,
  endSessionOnAbort,
  findPgBinDir,
  libpqEnv,
  parseDatabaseUrl,
  pgBinary,
  pgClientConfig,
  toolVersion,
  type ConnectionInfo,
} from '../pgtools/index.ts';
import {
  auditChainHead,
  countLargeObjects,
  countRows,
  displayName,
  listTables,
  qualifiedName,
  readExtensions,
  readRoles,
  schemaFingerprint,
  serverVersion,
  type TableRef,
} from '../inspect/index.ts';
import { BackupManifest, backupId, dataKey, dataKeyStem, manifestKey, MANIFEST_FORMAT_VERSION, objectExtension, scopeOfOptions, writeManifest, type StoredObjectRef } from '../catalog/index.ts';
import { DEFAULT_LEVEL } from '../streams/index.ts';
import { checkStoredSize, encodeCommandOutput, putInto, type BackupProgress } from './stream-command.ts';
import { captureExtras } from './extras.ts';

export type { BackupProgress };

export interface RunBackupOptions {
  config: PgdrillConfig;
  storage: BackupStorage;
  /** null only when config.encryption.allowUnencrypted is set. */
  keyring: Keyring | null;
  now?: () => Date;
  /**
   * True when the caller replaced the configured exclusions for this run (`--exclude-table`): the
   * backup is then recorded as partial. --tables and --schema-only make it partial anyway.
   */
  narrowed?: boolean;
  /**
   * Aborting kills pg_dump, aborts the upload and ends the source session at once (its running
   * query cancelled), releasing the advisory lock and the snapshot; no manifest is written.
   */
  signal?: AbortSignal;
  onProgress?: (progress: BackupProgress) => void;
  log?: (line: string) => void;
  /** Something the operator should know although the backup goes on (default: a line on stderr). */
  warn?: (line: string) => void;
}

export interface BackupResult {
  manifest: BackupManifest;
  manifestKey: string;
}

const LOCK_SQL = `SELECT pg_try_advisory_lock(hashtextextended('pgdrill:backup:' || current_database(), 0)) AS locked`;

/**
 * Takes one backup: exports a snapshot, streams pg_dump (in that snapshot) through SHA-256,
 * compression and encryption into storage while reading exact counts, the audit-chain head, roles
 * and a schema fingerprint in the same snapshot; then stores the cluster's role globals, and
 * finally the manifest — the commit point. Any failure before the manifest removes what it stored.
 */
export async function runBackup(options: RunBackupOptions): Promise<BackupResult> {
  const { config, storage, keyring } = options;
  const log = options.log ?? (() => {});
  const now = options.now ?? (() => new Date());
  if (!keyring && !config.encryption.allowUnencrypted) throw missingKeyError();
  const source = parseDatabaseUrl(config.databaseUrl, 'DATABASE_URL', {
    defaultConnectTimeout: { seconds: config.backup.connectTimeoutSeconds, from: 'backup.connectTimeoutSeconds' },
  });
  const client = new pg.Client(pgClientConfig(source));
  const stopWatchingSignal = endSessionOnAbort(client, source, options.signal);
  /** After an abort every failure is its consequence: the command reports the interruption. */
  const interruptedOr = (error: unknown): unknown => (options.signal?.aborted && options.signal.reason instanceof Error ? options.signal.reason : error);
  try {
    await client.connect();
  } catch (error) {
    stopWatchingSignal();
    await client.end().catch(() => {});
    if (options.signal?.aborted) throw interruptedOr(error);
    if (error instanceof ConfigError) throw error; // no password given
    const timeout = connectTimeoutFailure(error, source);
    throw new BackupError(`Cannot connect to the source database ${describeConnection(source)}: ${timeout?.reason ?? (error as Error).message}`, {
      hint: timeout?.hint ?? 'Check DATABASE_URL, that the server runs and that the user may connect',
      cause: error,
    });
  }
  const stored: string[] = [];
  try {
    const lock = await client.query<{ locked: boolean }>(LOCK_SQL);
    if (!lock.rows[0]?.locked) {
      throw new RefusedError(`Another pgdrill backup of ${describeConnection(source)} is running (advisory lock held)`, {
        hint: 'Wait for it to finish; only one backup of a database runs at a time',
      });
    }
    const startedAt = now();
    const version = await serverVersion(client);
    // pg_dump refuses a server newer than itself: the server's major, or a newer one.
    const clientBinDir = await findPgBinDir(version.major, { binDir: config.backup.binDir, need: 'client' });
    const bin = (name: 'pg_dump' | 'pg_dumpall') => pgBinary(clientBinDir, name);
    // `pg_dump --version` runs alongside the snapshot and the dump (its answer is needed only for
    // the manifest; when pg_dump cannot run, its error is the one reported). Whether the source
    // user may read password hashes is asked on the session now too (queued ahead of the
    // transaction), for the role globals taken while the dump runs.
    const pgDumpVersion = settledLater(
      toolVersion(bin('pg_dump'), {
        as: BackupError,
        hint: 'Install postgresql-client matching the server major version, or set backup.binDir (PGDRILL_PG_BINDIR)',
      }),
    );
    const readsPasswords = settledLater(client.query<{ ok: boolean }>(`SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS ok`));

    // One repeatable-read transaction: its snapshot is exported to pg_dump, and every count and
    // fingerprint below reads the same snapshot, so a drill can demand exact equality.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // As pg_dump does for its own session: server-side timeouts must not end the exporting
    // transaction (or a count) in the middle of a long dump. A table lock another session holds
    // is waited for only so long (pg_dump gets the same limit): a backup never hangs behind it.
    const lockWait = config.backup.lockWaitTimeoutSeconds;
    await client.query(`SET LOCAL row_security = off; SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = '${lockWait}s';
                        SET LOCAL idle_in_transaction_session_timeout = 0`);
    const snapshot = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id;
    const tables = await listTables(client, config.backup);
    if (config.backup.tables.length > 0 && tables.length === 0) {
      throw new ConfigError(`--tables ${config.backup.tables.join(',')} matches no table in ${source.database}`, {
        hint: 'Use schema.table names or psql patterns such as public.*',
      });
    }

    const id = await freeBackupId(storage, config.storage.prefix, backupId('daily', startedAt, source.database));
    const encrypted = keyring !== null;
    const compression = config.backup.compression;
    const level = config.backup.compressionLevel ?? DEFAULT_LEVEL[compression];
    const dumpKind = config.backup.format === 'custom' ? 'dump' : 'sql';
    const dumpKey = dataKey(config.storage.prefix, 'daily', id, objectExtension(dumpKind, compression, encrypted));
    log(`backup ${id}: pg_dump ${config.backup.format} of ${describeConnection(source)} (${tables.length} tables)`);

    const inspection = (async () => ({
      counts: config.backup.schemaOnly ? tables.map((t) => ({ ...t, rows: 0 })) : await countRows(client, tables),
      head: config.backup.auditChain && !config.backup.schemaOnly ? await auditChainHead(client, config.backup.auditChain) : null,
      roles: await readRoles(client, tables),
      fingerprint: await schemaFingerprint(client, tables),
      // pg_dump leaves large objects out of --table and --schema-only dumps, so they are expected only in whole dumps.
      largeObjects: config.backup.tables.length === 0 && !config.backup.schemaOnly ? await countLargeObjects(client) : 0,
      // Likewise extensions: pg_dump --table writes no CREATE EXTENSION.
      extensions: config.backup.tables.length === 0 ? await readExtensions(client) : [],
    }))();
    // Awaited after the dump; if it fails first, its error explains a pg_dump failure better
    // ("permission denied for table x") than pg_dump's own symptom (snapshot gone).
    let inspectionError: unknown;
    inspection.catch((error: unknown) => (inspectionError = error));
    const snapshotReadError = async (error: unknown): Promise<unknown> => {
      if ((error as { code?: string }).code === LOCK_NOT_AVAILABLE) return lockWaitError(source, lockWait, tables);
      return new BackupError(`Cannot read the source in the backup snapshot: ${(error as Error).message}`, {
        hint: 'The backup user needs SELECT on every dumped table and USAGE on its schema (pg_dump needs them too), and BYPASSRLS for tables with row-level security; grant them or use --exclude-table',
        cause: error,
      });
    };

    const dumpArgs = [
      `--format=${config.backup.format === 'custom' ? 'custom' : 'plain'}`,
      ...(config.backup.format === 'custom' ? ['--compress=0'] : []),
      `--snapshot=${snapshot}`,
      `--lock-wait-timeout=${lockWait}s`,
      '--no-password',
      ...config.backup.tables.map((t) => `--table=${t}`),
      ...config.backup.excludeTables.map((t) => `--exclude-table=${t}`),
      ...(config.backup.schemaOnly ? ['--schema-only'] : []),
    ];
    // pg_dump streams into storage while `pg_dumpall --roles-only` (the cluster's role globals,
    // outside any snapshot) is encoded into memory beside it, stored once the dump is; uploaded files
    // and Redis go with full backups beside them, read right after the snapshot was exported. The
    // first to fail stops the others, and all have ended before anything else happens.
    const sibling = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, sibling.signal]) : sibling.signal;
    // The first failure is the one reported: the others then only fail of being stopped.
    let firstFailure: unknown;
    const stopSiblingOnFailure = (error: unknown): never => {
      if (!sibling.signal.aborted) {
        firstFailure = error;
        sibling.abort(error);
      }
      throw error;
    };
    const scope = scopeOfOptions(config.backup, options.narrowed);
    const capturingExtras: ReturnType<typeof captureExtras> = (
      scope === 'full' ? captureExtras({ config, storage, keyring, id, level, now, signal, onStored: (key) => stored.push(key), log, warn: options.warn }) : Promise.resolve({})
    ).catch(stopSiblingOnFailure);
    const dumping = encodeCommandOutput({
      command: bin('pg_dump'),
      args: dumpArgs,
      env: libpqEnv(source),
      what: 'pg_dump',
      key: dumpKey,
      store: putInto(storage, dumpKey, (key) => stored.push(key)),
      compression,
      level,
      keyring,
      chunkSize: config.encryption.chunkSize,
      signal,
      onProgress: options.onProgress,
      // pg_dump's --lock-wait-timeout ends its `LOCK TABLE x IN ACCESS SHARE MODE` by a statement timeout.
      explainFailure: (failure) => (/LOCK TABLE .* IN ACCESS SHARE MODE/.test(failure.tail) && /timeout/.test(failure.tail) ? lockWaitError(source, lockWait, tables, failure.tail) : undefined),
    })
      .catch(async (error: unknown) => {
        throw inspectionError ? await snapshotReadError(inspectionError) : error;
      })
      .catch(stopSiblingOnFailure);
    const capturing = readsPasswords
      .then(({ rows }) =>
        captureGlobals({
          bin: bin('pg_dumpall'),
          withPasswords: rows[0]!.ok,
          source,
          keyring,
          config,
          id,
          signal,
        }),
      )
      .catch(stopSiblingOnFailure);
    const [dumped, captured, extras, versioned] = await Promise.allSettled([dumping, capturing, capturingExtras, pgDumpVersion]);
    if (versioned.status === 'rejected') throw versioned.reason;
    if (dumped.status === 'rejected' || captured.status === 'rejected' || extras.status === 'rejected') throw firstFailure;
    const dumpObject = dumped.value;
    const globals = captured.value;
    const globalsObject = await storage.put(globals.object.key, globals.body);
    stored.push(globals.object.key);
    checkStoredSize(globals.object.key, globalsObject.size, globals.object.size);
    const { files, redis } = extras.value;
    const { counts, head, roles, fingerprint, largeObjects, extensions } = await inspection.catch(async (error: unknown) => {
      throw await snapshotReadError(error);
    });
    await client.query('COMMIT');
    const finishedAt = now();
    const manifest = BackupManifest.parse({
      formatVersion: MANIFEST_FORMAT_VERSION,
      id,
      tier: 'daily',
      database: source.database,
      source: { host: source.host, port: source.port, user: source.user },
      serverVersion: version.version,
      serverMajor: version.major,
      pgDumpVersion: versioned.value.text,
      toolVersion: TOOL_VERSION,
      format: config.backup.format,
      compression: { algorithm: compression, level },
      encryption: keyring
        ? { algorithm: 'aes-256-gcm-stream-v1', keyId: keyring.active.id, chunkSize: config.encryption.chunkSize }
        : { algorithm: 'none' },
      objects: { dump: dumpObject, globals: globals.object },
      options: { schemaOnly: config.backup.schemaOnly, tables: config.backup.tables, excludeTables: config.backup.excludeTables },
      scope,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      tables: counts,
      auditChain: head,
      roles,
      rolePasswords: globals.withPasswords,
      schemaFingerprint: fingerprint,
      largeObjects,
      extensions,
      ...(files ? { files } : {}),
      ...(redis ? { redis } : {}),
    });
    return { manifest, manifestKey: await writeManifest(storage, config.storage.prefix, manifest) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    // No manifest was written, so nothing refers to these; remove them now rather than leave
    // them for the orphan sweep.
    await storage.delete(stored).catch(() => {});
    throw interruptedOr(error);
  } finally {
    stopWatchingSignal();
    await client.end().catch(() => {});
  }
}

/**
 * A promise awaited later, after other awaits: its rejection is marked as handled now (so it does
 * not crash the process meanwhile) and still rejects where it is awaited.
 */
function settledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** SQLSTATE of "canceling statement due to lock timeout". */
const LOCK_NOT_AVAILABLE = '55P03';

interface LockHolder {
  schema: string;
  name: string;
  mode: string;
  granted: boolean;
  pid: number;
  usename: string | null;
  application_name: string;
  state: string | null;
  xact_seconds: number | null;
}

/**
 * The sessions holding (or queued for) an ACCESS EXCLUSIVE lock on a table of this database, the
 * one mode that blocks the backup's reads. Read on a fresh connection: the backup's own transaction
 * is aborted by then. Empty when it cannot be read.
 */
async function lockHolders(source: ConnectionInfo): Promise<LockHolder[]> {
  const client = new pg.Client(pgClientConfig(source));
  client.on('error', () => {}); // a lost connection fails the query below
  try {
    await client.connect();
    const { rows } = await client.query<LockHolder>(
      `SELECT n.nspname AS schema, c.relname AS name, l.mode, l.granted, l.pid, a.usename, a.application_name, a.state,
              extract(epoch FROM now() - a.xact_start)::int AS xact_seconds
         FROM pg_locks l
         JOIN pg_class c ON c.oid = l.relation
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock' AND l.pid <> pg_backend_pid()
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY l.granted DESC, a.xact_start`,
    );
    return rows;
  } catch {
    return [];
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * The backup gave up waiting for a table lock (the snapshot's lock_timeout, or pg_dump's
 * --lock-wait-timeout): names the table and the session that holds it when it can, and what to do.
 */
async function lockWaitError(source: ConnectionInfo, seconds: number, tables: readonly TableRef[], pgDumpOutput?: string): Promise<BackupError> {
  const holders = await lockHolders(source);
  const inBackup = (h: LockHolder) => tables.some((t) => t.schema === h.schema && t.name === h.name);
  const named = /LOCK TABLE (.+?) IN ACCESS SHARE MODE/.exec(pgDumpOutput ?? '')?.[1];
  const holder = holders.find((h) => named !== undefined && qualifiedName(h) === named) ?? holders.find(inBackup) ?? holders[0];
  const what = `${describeConnection(source)}: gave up waiting ${seconds} s (backup.lockWaitTimeoutSeconds) for a lock on`;
  if (!holder) {
    return new BackupError(`Backup of ${what} ${named ?? 'a table'}; the lock has been released since`, {
      hint: 'Another session held a table the backup reads (a migration, VACUUM FULL, CLUSTER, LOCK TABLE). Nothing was published; run the backup again',
    });
  }
  const session = [
    holder.usename && `user ${holder.usename}`,
    holder.application_name && `application ${holder.application_name}`,
    holder.state && `${holder.state}${holder.xact_seconds !== null ? ` for ${holder.xact_seconds} s` : ''}`,
  ].filter(Boolean);
  const how = holder.granted ? `held in ${holder.mode} mode by pid ${holder.pid}` : `queued ahead of the backup for ${holder.mode} mode by pid ${holder.pid}`;
  return new BackupError(`Backup of ${what} ${displayName(holder)}: ${how}${session.length ? ` (${session.join(', ')})` : ''}`, {
    hint:
      `Nothing was published. Let that session finish (a migration, VACUUM FULL, CLUSTER or LOCK TABLE; an open transaction), or end it with SELECT pg_terminate_backend(${holder.pid}), ` +
      'then run the backup again; raise backup.lockWaitTimeoutSeconds if such locks are expected to last longer',
  });
}

/** Same-day backups never overwrite each other: `2026-11-23-db`, then `-2`, `-3`, ... */
async function freeBackupId(storage: BackupStorage, prefix: string, base: string): Promise<string> {
  for (let n = 1; ; n++) {
    const id = n === 1 ? base : `${base}-${n}`;
    const taken = (await storage.head(manifestKey(prefix, 'daily', id))) !== undefined;
    let dataTaken = false;
    for await (const _ of storage.list(dataKeyStem(prefix, 'daily', id))) {
      dataTaken = true;
      break;
    }
    if (!taken && !dataTaken) return id;
  }
}

interface CaptureGlobalsOptions {
  bin: string;
  /** Whether the source user can read pg_authid (superuser): only then are password hashes dumped. */
  withPasswords: boolean;
  source: ConnectionInfo;
  keyring: Keyring | null;
  config: PgdrillConfig;
  id: string;
  signal?: AbortSignal;
}

interface CapturedGlobals {
  object: StoredObjectRef;
  withPasswords: boolean;
  /** The encoded object, held in memory (roles only: small) until the dump is stored. */
  body: Buffer;
}

/**
 * Role definitions and memberships (`pg_dumpall --roles-only`), with password hashes when the
 * source user may read them (superuser), else without. Encoded (and encrypted) like the dump into
 * memory while the dump runs, and stored only after it: until the dump is stored, an interrupt
 * leaves nothing behind. Never printed.
 */
async function captureGlobals(o: CaptureGlobalsOptions): Promise<CapturedGlobals> {
  const env = libpqEnv(o.source);
  const key = dataKey(o.config.storage.prefix, 'daily', o.id, objectExtension('globals.sql', o.config.backup.compression, o.keyring !== null));
  const args = ['--roles-only', '--no-password', `--database=${o.source.database}`, ...(o.withPasswords ? [] : ['--no-role-passwords'])];
  const parts: Buffer[] = [];
  const object = await encodeCommandOutput({
    command: o.bin,
    args,
    env,
    what: 'pg_dumpall --roles-only',
    key,
    store: async (body) => {
      for await (const chunk of body) parts.push(chunk as Buffer);
      return { size: parts.reduce((sum, part) => sum + part.length, 0) };
    },
    compression: o.config.backup.compression,
    level: o.config.backup.compressionLevel ?? DEFAULT_LEVEL[o.config.backup.compression],
    keyring: o.keyring,
    chunkSize: o.config.encryption.chunkSize,
    signal: o.signal,
  });
  return { object, withPasswords: o.withPasswords, body: Buffer.concat(parts) };
}
