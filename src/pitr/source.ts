// The source database as point-in-time drills use it: markers written by `pgdrill pitr mark`, read
// by the drill to know what the restored cluster must show, and the settings `pitr doctor` checks.
import pg from 'pg';
import type { PgdrillConfig } from '../config/index.ts';
import { ConfigError, PgdrillError } from '../errors/index.ts';
import { connectTimeoutFailure, describeConnection, parseDatabaseUrl, pgClientConfig, type ConnectionInfo } from '../pgtools/index.ts';
import type { Marker } from './plan.ts';

export const MARKER_TABLE = 'pgdrill.pitr_markers';

/** A session on the source (DATABASE_URL / the fleet entry's URL), closed by `end()`. */
export async function connectSource(config: PgdrillConfig): Promise<{ client: pg.Client; info: ConnectionInfo }> {
  const info = parseDatabaseUrl(config.databaseUrl, 'DATABASE_URL', {
    defaultConnectTimeout: { seconds: config.backup.connectTimeoutSeconds, from: 'backup.connectTimeoutSeconds' },
  });
  const client = new pg.Client(pgClientConfig(info));
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    if (error instanceof ConfigError) throw error;
    const timeout = connectTimeoutFailure(error, info);
    throw new PgdrillError(`Cannot connect to the source database ${describeConnection(info)}: ${timeout?.reason ?? (error as Error).message}`, {
      hint: timeout?.hint ?? 'Check DATABASE_URL, that the server runs and that the user may connect',
      cause: error,
    });
  }
  return { client, info };
}

/** The newly written marker and the WAL segment that holds it. */
export interface MarkResult extends Marker {
  walFile: string;
}

/**
 * Writes a marker row with the current time into pgdrill.pitr_markers (created if missing), then
 * closes the current WAL segment (pg_switch_wal) so the archive receives it now, not when the
 * segment fills, and records which segment that was.
 */
export async function writeMarker(client: pg.ClientBase): Promise<MarkResult> {
  // Created on first use only: CREATE … IF NOT EXISTS checks the privilege to create even when the
  // table is there, and a marking role may only be allowed to insert.
  const exists = await client.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [MARKER_TABLE]);
  if (!exists.rows[0]?.ok) {
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS pgdrill`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${MARKER_TABLE} (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        marked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        wal_file text)`);
    } catch (error) {
      throw new ConfigError(`Cannot create ${MARKER_TABLE} in the source: ${(error as Error).message}`, {
        hint: 'Run `pgdrill pitr mark` once as a role that may create a schema, or create schema pgdrill and the table as docs/pitr.md shows',
        cause: error,
      });
    }
  }
  const { rows } = await client.query<{ id: string; marked_at: Date }>(`INSERT INTO ${MARKER_TABLE} DEFAULT VALUES RETURNING id, marked_at`);
  const row = rows[0]!;
  let walFile: string;
  try {
    walFile = (await client.query<{ wal_file: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS wal_file')).rows[0]!.wal_file;
  } catch (error) {
    throw new ConfigError(`The marker was written but pg_switch_wal() failed: ${(error as Error).message}`, {
      hint: 'Mark as a superuser, or GRANT EXECUTE ON FUNCTION pg_switch_wal() TO the marking role (and run it on the primary)',
      cause: error,
    });
  }
  await client.query(`UPDATE ${MARKER_TABLE} SET wal_file = $1 WHERE id = $2`, [walFile, row.id]);
  return { id: Number(row.id), markedAt: row.marked_at.toISOString(), walFile };
}

/** Markers in a database, oldest first; null when it has no marker table. */
export async function readMarkers(client: pg.ClientBase | pg.Pool): Promise<Marker[] | null> {
  const exists = await client.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [MARKER_TABLE]);
  if (!exists.rows[0]?.ok) return null;
  const { rows } = await client.query<{ id: string; marked_at: Date; wal_file: string | null }>(`SELECT id, marked_at, wal_file FROM ${MARKER_TABLE} ORDER BY id`);
  return rows.map((r) => ({ id: Number(r.id), markedAt: r.marked_at.toISOString(), walFile: r.wal_file }));
}

/** The bootstrap superuser (oid 10): the role the sandbox connects as on the restored cluster. */
export async function bootstrapSuperuser(client: pg.ClientBase): Promise<string> {
  return (await client.query<{ name: string }>('SELECT rolname AS name FROM pg_roles WHERE oid = 10')).rows[0]!.name;
}

/** WAL segment size of the source, bytes. */
export async function walSegmentBytes(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ bytes: string }>(`SELECT setting::bigint * CASE unit WHEN 'B' THEN 1 WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576 ELSE 1 END AS bytes FROM pg_settings WHERE name = 'wal_segment_size'`);
  return Number(rows[0]?.bytes ?? 16 * 1048576);
}
